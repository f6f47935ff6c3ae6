"""A scenario as a diagram: Mermaid (renders in GitHub Markdown) and Graphviz DOT (SVG through ``dot``).

Both take ONE plan scenario — an entry of ``plan["scenarios"]`` — and give deterministic text: same input, same
bytes. The layout is in :mod:`ecrm_dsl.review.graph_model`, the wording in :mod:`ecrm_dsl.review.graph_text`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.review.graph_model import Box, Diagram, Edge, PlanShapeError, build

__all__ = ["GraphvizError", "GraphvizMissing", "PlanShapeError", "dot", "mermaid", "mermaid_markdown", "svg"]

Json = dict[str, Any]

# Graphviz passes this to fontconfig/Pango (a family list) and writes it into SVG as a CSS font-family list;
# a missing font falls back to the next, so a machine without Noto still renders.
FONTS = "Noto Sans CJK JP,Noto Sans JP,IPAexGothic,IPAGothic,Hiragino Sans,Yu Gothic,Meiryo,sans-serif"

# Fill, stroke and a dark text colour, so the boxes stay readable in GitHub's dark theme too.
_COLOURS = {
    "entry": ("#ddf4ff", "#0969da"),
    "exit": ("#ffebe9", "#cf222e"),
    "done": ("#dafbe1", "#1a7f37"),
    "note": ("#fff8c5", "#9a6700"),
    "guard": ("#f6f8fa", "#57606a"),
    "wait": ("#fbefff", "#8250df"),
}
_TEXT_COLOUR = "#1f2328"


# --------------------------------------------------------------------------- Mermaid

_MERMAID_SHAPES = {
    "entry": ('(["', '"])'),
    "send": ('["', '"]'),
    "update": ('("', '")'),
    "wait": ('[["', '"]]'),
    "branch": ('{"', '"}'),
    "split": ('{"', '"}'),
    "guard": ('{"', '"}'),
    "exit": ('(["', '"])'),
    "done": ('(("', '"))'),
    "note": ('["', '"]'),
}
# Mermaid entity codes (#quot; → &quot;); '#' first, since every replacement introduces one.
_MERMAID_ESCAPES = (("#", "#35;"), ("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("`", "#96;"))


def mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label: quotes, '#', '&', '<', '>' and backticks as entity codes."""
    for raw, code in _MERMAID_ESCAPES:
        text = text.replace(raw, code)
    return text


def _mermaid_title(title: str) -> str:
    """A YAML double-quoted scalar (JSON is valid YAML); backticks escaped so a Markdown fence cannot close."""
    return json.dumps(title, ensure_ascii=False).replace("`", "\\u0060")


def _mermaid_box(box: Box) -> str:
    opening, closing = _MERMAID_SHAPES[box.shape]
    return f"  {box.id}{opening}{'<br>'.join(mermaid_text(line) for line in box.lines)}{closing}"


def _mermaid_edge(edge: Edge) -> str:
    arrow = "-.->" if edge.dashed else "-->"
    if not edge.label:
        return f"  {edge.source} {arrow} {edge.target}"
    label = "<br>".join(mermaid_text(line) for line in edge.label)
    return f'  {edge.source} {arrow}|"{label}"| {edge.target}'


def _mermaid_classes(diagram: Diagram) -> list[str]:
    lines = []
    for shape, (fill, stroke) in _COLOURS.items():
        members = [box.id for box in diagram.boxes if box.shape == shape]
        if not members:
            continue
        dashes = ",stroke-dasharray:4 3" if shape == "note" else ""
        lines.append(f"  classDef {shape} fill:{fill},stroke:{stroke},color:{_TEXT_COLOUR}{dashes}")
        lines.append(f"  class {','.join(members)} {shape}")
    return lines


# Review highlights (``ecrm diff``): light fills, a thick stroke and dark text, readable in GitHub's light and
# dark themes alike; defined after the shape classes, so they win where a box has both.
HIGHLIGHTS = {
    "added": "fill:#aceebb,stroke:#1a7f37,stroke-width:3px",
    "changed": "fill:#ffdf9e,stroke:#9a6700,stroke-width:3px",
    "removed": "fill:#ffcecb,stroke:#cf222e,stroke-width:3px,stroke-dasharray:6 3",
}


def _mermaid_highlights(scenario: Json, diagram: Diagram, marks: Mapping[str, str]) -> list[str]:
    """``class`` lines for marked boxes: a step id (its box and its guard diamond), ``entry`` or ``rules``."""
    # graph_model numbers a step's box and guard by the step's place in the plan's node list, from 1.
    boxes = {node["id"]: (f"n{i}", f"g{i}") for i, node in enumerate(scenario.get("nodes") or [], 1)}
    present = {box.id for box in diagram.boxes}
    members: dict[str, list[str]] = {}
    for key, mark in sorted(marks.items()):
        for box in boxes.get(key, (key,)):
            if box in present and mark in HIGHLIGHTS:
                members.setdefault(mark, []).append(box)
    lines = []
    for mark, style in HIGHLIGHTS.items():
        if mark in members:
            lines.append(f"  classDef {mark} {style},color:{_TEXT_COLOUR}")
            lines.append(f"  class {','.join(sorted(members[mark]))} {mark}")
    return lines


def mermaid(scenario: Json, marks: Mapping[str, str] | None = None) -> str:
    """The scenario as a Mermaid flowchart (with a front-matter title), ending in a newline. ``marks`` highlights
    boxes for a review — step id (or ``entry``, ``rules``) → ``added``, ``changed`` or ``removed``."""
    diagram = build(scenario)
    lines = ["---", f"title: {_mermaid_title(diagram.title)}", "---", "flowchart TD"]
    lines += [_mermaid_box(box) for box in diagram.boxes]
    lines += [_mermaid_edge(edge) for edge in diagram.edges]
    lines += _mermaid_classes(diagram)
    if marks:
        lines += _mermaid_highlights(scenario, diagram, marks)
    return "\n".join(lines) + "\n"


def mermaid_markdown(scenario: Json) -> str:
    """The Mermaid diagram in a ```mermaid fence, ready to paste into GitHub Markdown."""
    body = mermaid(scenario)
    fence = "```"
    while fence in body:
        fence += "`"
    return f"{fence}mermaid\n{body}{fence}\n"


# --------------------------------------------------------------------------- Graphviz DOT

_DOT_SHAPES = {
    "entry": 'shape=box, style="rounded,filled"',
    "send": "shape=box",
    "update": 'shape=box, style="rounded"',
    "wait": 'shape=box, style="filled"',
    "branch": "shape=diamond",
    "split": "shape=diamond",
    "guard": 'shape=diamond, style=filled, fontsize=9, margin="0.02,0.02"',
    "exit": 'shape=box, style="rounded,filled,bold"',
    "done": "shape=doublecircle, style=filled",
    "note": "shape=note, style=filled",
}


def dot_string(text: str) -> str:
    """A double-quoted DOT string: backslashes and quotes escaped, '&' as &amp; (Graphviz decodes entities)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;") + '"'


def _dot_label(lines: tuple[str, ...], *, left: bool = False) -> str:
    """Lines joined by Graphviz line breaks: \\n centres a line, \\l left-aligns it."""
    escaped = [dot_string(line)[1:-1] for line in lines]
    if left:
        return '"' + "".join(line + "\\l" for line in escaped) + '"'
    return '"' + "\\n".join(escaped) + '"'


def _dot_box(box: Box) -> str:
    attrs = [f"label={_dot_label(box.lines, left=box.shape == 'note')}", _DOT_SHAPES[box.shape]]
    if box.shape in _COLOURS:
        fill, stroke = _COLOURS[box.shape]
        attrs.append(f'fillcolor="{fill}", color="{stroke}"')
    return f"  {box.id} [{', '.join(attrs)}];"


def _dot_edge(edge: Edge) -> str:
    attrs = []
    if edge.label:
        attrs.append(f"label={_dot_label(edge.label)}")
    if edge.dashed:
        attrs.append("style=dashed")
    suffix = f" [{', '.join(attrs)}]" if attrs else ""
    return f"  {edge.source} -> {edge.target}{suffix};"


def dot(scenario: Json) -> str:
    """The scenario as a Graphviz digraph (UTF-8, a Japanese-capable font list), ending in a newline."""
    diagram = build(scenario)
    font = dot_string(FONTS)
    lines = [
        f"digraph {dot_string(diagram.name)} {{",
        f'  graph [charset="UTF-8", label={dot_string(diagram.title)}, labelloc=t, fontname={font}, fontsize=16,'
        " rankdir=TB, nodesep=0.4, ranksep=0.45];",
        f'  node [fontname={font}, fontsize=11, fontcolor="{_TEXT_COLOUR}"];',
        f"  edge [fontname={font}, fontsize=10];",
    ]
    lines += [_dot_box(box) for box in diagram.boxes]
    lines += [_dot_edge(edge) for edge in diagram.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


class GraphvizError(RuntimeError):
    """``dot`` failed; the message carries its error output."""


class GraphvizMissing(GraphvizError):
    """``dot`` is not installed (or not on PATH)."""


def svg(dot_source: str, *, executable: str | None = None, timeout: float = 60.0) -> bytes:
    """Render DOT to SVG with Graphviz's ``dot -Tsvg``."""
    program = executable or shutil.which("dot")
    if program is None:
        raise GraphvizMissing(tr("Graphviz's dot was not found; install Graphviz (dot) or use --format dot"))
    try:
        done = subprocess.run(
            [program, "-Tsvg"], input=dot_source.encode("utf-8"), capture_output=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GraphvizError(tr("dot could not run: {error}", error=exc)) from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip()
        raise GraphvizError(tr("dot failed (exit {code}): {detail}", code=done.returncode, detail=detail))
    return done.stdout
