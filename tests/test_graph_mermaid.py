"""Mermaid output read back by Mermaid's own parser (the npm package, in Node, with jsdom standing in for a browser).

``mermaid.parse()`` checks the whole text, front matter included; the flowchart database it fills must then hold
exactly our boxes (id, shape, class, lines) and edges (ends, label lines, dashed) — so escaping is checked too:
what Mermaid will display is what the diagram says.

Where the packages come from: ``ECRM_MERMAID_DIR`` (a folder with ``node_modules/mermaid`` and
``node_modules/jsdom``), else pytest's cache folder (``.pytest_cache/d/ecrm-mermaid``; with the cache plugin off,
pytest's per-user temporary root), where ``npm install`` puts them on first use (about 20 s, 180 MB).
Skipped, with the reason, when Node or npm is missing or the install fails (offline CI), or when
``ECRM_SKIP_MERMAID=1``.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ecrm_dsl.review.graph import mermaid
from ecrm_dsl.review.graph_model import build
from tests.test_graph import all_scenarios

PACKAGES = ("mermaid@11", "jsdom@29")
_SHAPES = {
    "entry": "stadium",
    "send": "square",
    "update": "round",
    "wait": "subroutine",
    "branch": "diamond",
    "split": "diamond",
    "guard": "diamond",
    "exit": "stadium",
    "done": "circle",
    "note": "square",
}
_CLASSED = ("entry", "exit", "done", "note", "guard", "wait")

# Node script: argv = the folder holding node_modules, then the .mmd files; prints one JSON array.
CHECK_SCRIPT = r"""
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const [modules, ...files] = process.argv.slice(2);
const require = createRequire(join(modules, 'package.json'));
const { JSDOM } = require('jsdom');
const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import(pathToFileURL(require.resolve('mermaid')).href);
mermaid.initialize({ startOnLoad: false });
const results = [];
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  try {
    await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const vertices = [...diagram.db.getVertices().values()].map((v) => [v.id, v.type, v.text, v.classes]);
    const edges = diagram.db.getEdges().map((e) => [e.start, e.end, e.text, e.stroke]);
    results.push({ file, type: diagram.type, vertices, edges });
  } catch (error) {
    results.push({ file, error: String(error && error.message ? error.message : error) });
  }
}
console.log(JSON.stringify(results));
"""


def run_check(mermaid_dir: Path, folder: Path, files: list[Path]) -> list[dict]:
    """Mermaid's verdict on each file: ``{"error": …}`` or the parsed vertices and edges."""
    script = folder / "ecrm_mermaid_check.mjs"
    script.write_text(CHECK_SCRIPT, encoding="utf-8")
    command = ["node", str(script), str(mermaid_dir), *map(str, files)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _has_packages(folder: Path) -> bool:
    return all((folder / "node_modules" / name.split("@")[0] / "package.json").exists() for name in PACKAGES)


@pytest.fixture(scope="module")
def mermaid_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("ECRM_SKIP_MERMAID") == "1":
        pytest.skip("ECRM_SKIP_MERMAID=1")
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed; Mermaid's parser runs in Node")
    configured = os.environ.get("ECRM_MERMAID_DIR")
    if configured:
        if not _has_packages(Path(configured)):
            pytest.skip(f"ECRM_MERMAID_DIR={configured} has no node_modules/mermaid and node_modules/jsdom")
        return Path(configured)
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    if cache is not None:
        folder = Path(cache.mkdir("ecrm-mermaid"))
    else:  # pytest's per-user temporary root outlives a run, so this still installs once
        folder = tmp_path_factory.getbasetemp().parent / "ecrm-mermaid"
        folder.mkdir(exist_ok=True)
    if not _has_packages(folder):
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed, so Mermaid's parser cannot be fetched (or set ECRM_MERMAID_DIR)")
        (folder / "package.json").write_text('{"name": "ecrm-mermaid-check", "private": true}\n', encoding="utf-8")
        command = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES]
        try:
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600, check=False)
        except subprocess.TimeoutExpired:
            pytest.skip("npm install of mermaid and jsdom timed out (offline?)")
        if done.returncode != 0 or not _has_packages(folder):
            lines = done.stderr.strip().splitlines() or ["no output"]
            reason = next((line for line in lines if " code " in line), lines[0])
            pytest.skip(f"npm install of mermaid and jsdom failed (offline?): {reason}")
    return folder


def _decode(text: str) -> str:
    """What Mermaid displays: its placeholders for our entity codes, then the HTML entities themselves."""
    return html.unescape(text.replace("ﬂ°°", "&#").replace("ﬂ°", "&").replace("¶ß", ";"))


def _lines(text: str) -> tuple[str, ...]:
    return tuple(_decode(part) for part in text.split("<br>")) if text else ()


@pytest.fixture(scope="module")
def parsed(mermaid_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("mermaid")
    files = []
    for index, scenario in enumerate(all_scenarios()):
        path = folder / f"{index:03d}_{scenario['id']}.mmd"
        path.write_text(mermaid(scenario), encoding="utf-8")
        files.append(path)
    return {Path(r["file"]).name: r for r in run_check(mermaid_dir, folder, files)}


def test_mermaid_parses_every_diagram_into_exactly_our_boxes_and_edges(parsed: dict[str, dict]) -> None:
    scenarios = all_scenarios()
    assert len(parsed) == len(scenarios)
    for index, scenario in enumerate(scenarios):
        result = parsed[f"{index:03d}_{scenario['id']}.mmd"]
        assert "error" not in result, f"{scenario['id']}: {result.get('error')}"
        assert result["type"] == "flowchart-v2"
        diagram = build(scenario)
        expected_boxes = [
            [box.id, _SHAPES[box.shape], box.lines, [box.shape] if box.shape in _CLASSED else []]
            for box in diagram.boxes
        ]
        actual_boxes = [[v[0], v[1], _lines(v[2]), v[3]] for v in result["vertices"]]
        assert actual_boxes == expected_boxes, scenario["id"]
        expected_edges = [[e.source, e.target, e.label, "dotted" if e.dashed else "normal"] for e in diagram.edges]
        actual_edges = [[e[0], e[1], _lines(e[2]), e[3]] for e in result["edges"]]
        assert actual_edges == expected_edges, scenario["id"]


def test_the_parser_rejects_a_broken_label(mermaid_dir: Path, tmp_path: Path) -> None:
    """The check can fail: an unescaped quote inside a label is a parse error."""
    broken = tmp_path / "broken.mmd"
    broken.write_text('flowchart TD\n  a["a"b"] --> b\n', encoding="utf-8")
    assert "Parse error" in run_check(mermaid_dir, tmp_path, [broken])[0]["error"]
