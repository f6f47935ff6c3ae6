"""``ecrm diff``: golden before/after project pairs in text, JSON and Markdown, plan-file inputs, exit codes.

Each folder in tests/golden/diff is one case: ``before/`` and ``after/`` are whole projects (each with its own
ecrm.toml), and ``expected.txt`` / ``expected.json`` / ``expected.md`` are what ``ecrm diff before after`` prints
from inside the case folder. Rewrite them with ECRM_UPDATE_GOLDENS=1 and read the diff before committing.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ecrm_dsl.build.compiler import compile_workspace
from ecrm_dsl.cli.diff_cmd import diff_command
from ecrm_dsl.plan.document import canonical_json
from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import lint
from ecrm_dsl.review.diff_plans import diff_plans
from ecrm_dsl.review.diff_render import render_text
from tests.goldens import assert_golden

GOLDEN = Path(__file__).parent / "golden" / "diff"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "before").is_dir())
FORMATS = {"text": "expected.txt", "json": "expected.json", "markdown": "expected.md"}
UNCHANGED = {"same_meaning"}


def run(cwd: Path, *args: str, obj: dict[str, Any] | None = None) -> Result:
    import os

    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(diff_command, list(args), obj=obj, catch_exceptions=False)
    finally:
        os.chdir(old)


def compiled(project: Path) -> dict[str, Any]:
    return compile_workspace(lint(load_config(project / "ecrm.toml")).workspace)[0]


# --------------------------------------------------------------------------- goldens


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("case", CASES)
def test_diff_golden(case: str, fmt: str) -> None:
    result = run(GOLDEN / case, "before", "after", "--format", fmt, "--no-mermaid")
    assert result.exit_code == (0 if case in UNCHANGED else 1), result.output
    assert result.stderr == ""
    assert_golden(GOLDEN / case / FORMATS[fmt], result.stdout)


def test_every_case_has_all_formats() -> None:
    assert set(CASES) >= {"f2_release", "onboarding_flow", "same_meaning"}
    for case in CASES:
        for name in FORMATS.values():
            assert (GOLDEN / case / name).is_file(), f"{case}/{name} missing"


def test_json_records_have_the_documented_shape() -> None:
    data = json.loads((GOLDEN / "f2_release" / "expected.json").read_text(encoding="utf-8"))
    assert data["format"] == "ecrm-diff" and data["version"] == 1 and data["changed"] is True
    assert data["summary"].startswith("3 scenarios changed, 1 added, 1 removed")
    keys = {"scope", "scenario", "name", "step", "kind", "before", "after", "message", "detail"}
    assert all(set(record) == keys for record in data["changes"])
    timing = [r for r in data["changes"] if r["kind"] == "timing" and r["step"] == "f2_second_order_coupon"]
    assert timing == [
        {
            "scope": "scenario",
            "scenario": "f2_step_mail",
            "name": None,
            "step": "f2_second_order_coupon",
            "kind": "timing",
            "before": "day 7 at 10:00",
            "after": "day 5 at 10:00",
            "message": "f2_second_order_coupon moved from day 7 at 10:00 to day 5 at 10:00 (2 days earlier)",
            "detail": [],
        }
    ]
    kinds = {(r["scope"], r["kind"]) for r in data["changes"]}
    assert {
        ("template", "category"),
        ("segment", "condition"),
        ("policies", "quiet_hours"),
        ("policies", "priority"),
        ("scenario", "scenario_removed"),
        ("scenario", "scenario_added"),
        ("scenario", "step_added"),
        ("scenario", "channel"),
        ("scenario", "variant_weights"),
    } <= kinds
    assert data["impact"] is None


def test_reversed_diff_swaps_added_and_removed() -> None:
    before, after = compiled(GOLDEN / "f2_release" / "before"), compiled(GOLDEN / "f2_release" / "after")
    forward, backward = diff_plans(before, after), diff_plans(after, before)
    assert backward.summary() == "3 scenarios changed, 1 added, 1 removed; 1 segment changed, 1 added; " + (
        "2 templates changed, 1 added, 3 removed; policies changed; customer schema changed"
    )
    flipped = {"added": "removed", "removed": "added", "changed": "changed"}
    assert backward.status == {key: flipped[state] for key, state in forward.status.items()}
    assert "f2_second_order_coupon moved from day 5 at 10:00 to day 7 at 10:00 (2 days later)" in render_text(backward)


def test_a_plan_against_itself_has_no_changes() -> None:
    plan = compiled(GOLDEN / "onboarding_flow" / "after")
    diff = diff_plans(plan, json.loads(json.dumps(plan)))
    assert not diff.changed and diff.summary() == "no changes" and diff.changes == []


def test_a_changed_line_button_reads_as_the_lines_that_changed() -> None:
    before = compiled(GOLDEN / "onboarding_flow" / "after")
    after = json.loads(json.dumps(before))
    name = sorted(before["templates"])[0]
    buttons = {"text": "クーポンです", "actions": [{"label": "使う", "url": "https://minori.example/a"}]}
    before["templates"][name]["content"]["line"] = {"text": "t", "alt_text": "a", "buttons": buttons}
    changed = json.loads(json.dumps(buttons))
    changed["actions"][0]["label"] = "クーポンを使う"
    after["templates"][name]["content"]["line"] = {"text": "t", "alt_text": "a", "buttons": changed}

    text = render_text(diff_plans(before, after))

    changed_lines = (
        '  - line buttons changed\n      -       "label": "使う",\n      +       "label": "クーポンを使う",\n'
    )
    assert changed_lines in text
    assert "{'" not in text  # no Python dict repr


# --------------------------------------------------------------------------- inputs


def test_plan_files_give_the_same_changes_as_folders(tmp_path: Path) -> None:
    case = GOLDEN / "onboarding_flow"
    for side in ("before", "after"):
        (tmp_path / f"{side}.json").write_text(canonical_json(compiled(case / side)), encoding="utf-8")
    from_plans = run(tmp_path, "before.json", "after.json", "--format", "json")
    from_folders = run(case, "before", "after", "--format", "json")
    assert from_plans.exit_code == from_folders.exit_code == 1
    plans, folders = json.loads(from_plans.stdout), json.loads(from_folders.stdout)
    assert (plans["base"], plans["head"]) == ("before.json", "after.json")
    scenario_changes = [c for c in plans["changes"] if c["scope"] == "scenario"]
    assert scenario_changes == [c for c in folders["changes"] if c["scope"] == "scenario"]
    # a plan holds only what its scenarios use, so a template it gains is "now used"; a project says "added"
    assert [c["message"] for c in plans["changes"] if c["scope"] == "template"] == [
        "template tips_student now used (marketing, email, line)"
    ]
    assert [c["message"] for c in folders["changes"] if c["scope"] == "template"] == [
        "template tips_student added (marketing, email, line)"
    ]
    assert plans["files"] == [] and [f["path"] for f in folders["files"]] == ["templates/tips_student.yaml"]
    # a plan file against the project folder it came from
    mixed = run(case, "before", str(tmp_path / "before.json"))
    assert mixed.exit_code == 0 and mixed.stdout.startswith("no changes\n")


def test_head_defaults_to_the_current_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(GOLDEN / "onboarding_flow" / "after", project)
    (tmp_path / "old.json").write_text(canonical_json(compiled(GOLDEN / "onboarding_flow" / "before")), "utf-8")
    result = run(project / "scenarios", "../../old.json")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == [
        "1 scenario changed; 1 template added",
        "",
        "../../old.json → working tree",
    ]
    # --config given to `ecrm` picks the project, whatever the folder
    result = run(tmp_path, "old.json", obj={"config_path": str(project / "ecrm.toml")})
    assert result.exit_code == 1 and "working tree" in result.stdout


def test_config_file_as_an_argument() -> None:
    result = run(GOLDEN / "same_meaning", "before/ecrm.toml", "after/ecrm.toml")
    assert result.exit_code == 0 and result.stdout.startswith("no changes")


# --------------------------------------------------------------------------- errors: exit 2, never a traceback


def test_project_with_errors_is_refused_with_positioned_findings(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN / "onboarding_flow" / "after", tmp_path / "broken")
    scenario = tmp_path / "broken" / "scenarios" / "onboarding.ecrm"
    scenario.write_text(scenario.read_text("utf-8").replace("customer.persona is not null", "customer.persnoa == 1"))
    result = run(tmp_path, str(GOLDEN / "onboarding_flow" / "before"), "broken")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "scenarios/onboarding.ecrm:6:" in result.stderr and "[E204 unknown-attribute]" in result.stderr
    assert "ecrm diff: broken has 1 error(s); not compared" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a readable plan"),
        ('{"format": "something-else"}', "not an ecrm-dsl plan"),
        ('{"format": "ecrm-plan", "version": 99}', "plan version 99 is not supported"),
        (b"\xff\xfe", "cannot read the plan"),
    ],
)
def test_unreadable_plan(tmp_path: Path, content: str | bytes, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run(tmp_path, "plan.json", str(GOLDEN / "onboarding_flow" / "before"))
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_plan_file_with_a_malformed_scenario(tmp_path: Path) -> None:
    plan = compiled(GOLDEN / "onboarding_flow" / "before")
    del plan["scenarios"][0]["trigger"]
    (tmp_path / "plan.json").write_text(canonical_json(plan), encoding="utf-8")
    result = run(tmp_path, "plan.json", str(GOLDEN / "onboarding_flow" / "after"))
    assert result.exit_code == 2
    assert "plan.json: $.scenarios[0]: missing 'trigger'" in result.stderr


def test_unknown_argument_is_neither_path_nor_revision(tmp_path: Path) -> None:
    result = run(tmp_path, "no-such-thing", str(GOLDEN / "onboarding_flow" / "before"))
    assert result.exit_code == 2
    assert "'no-such-thing' is neither a plan file, a project folder nor a git revision" in result.stderr
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    result = run(tmp_path, "notes.txt", str(GOLDEN / "onboarding_flow" / "before"))
    assert result.exit_code == 2 and "neither a plan (.json)" in result.stderr


def test_bad_options_exit_2(tmp_path: Path) -> None:
    case = GOLDEN / "onboarding_flow"
    assert run(case, "before", "after", "--format", "yaml").exit_code == 2
    result = run(case, "before", "after", "--now", "yesterday", "--store", str(tmp_path / "x.db"))
    assert result.exit_code == 2 and "is not a time" in result.stderr
    result = run(case, "before", "after", "--store", str(tmp_path / "missing.db"))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert not (tmp_path / "missing.db").exists()  # never created by looking
    (tmp_path / "empty.db").write_bytes(b"")
    result = run(case, "before", "after", "--store", str(tmp_path / "empty.db"))
    assert result.exit_code == 2 and "not a readable ecrm store" in result.stderr
    assert (tmp_path / "empty.db").read_bytes() == b""
    with sqlite3.connect(tmp_path / "other.db") as conn:  # a SQLite file of something else
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE notes (id INTEGER)")
    result = run(case, "before", "after", "--store", str(tmp_path / "other.db"))
    assert result.exit_code == 2 and "not an ecrm store (no customers, enrollments table)" in result.stderr


# --------------------------------------------------------------------------- Markdown diagrams


def test_markdown_draws_before_and_after_with_the_graph_module(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("ecrm_dsl.review.graph")

    def draw(scenario: dict[str, Any], marks: Any = None) -> str:
        return f"flowchart TD\n  start([{scenario['id']}: {len(scenario['nodes'])} steps])\n"

    fake.mermaid = draw  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ecrm_dsl.review.graph", fake)
    result = run(GOLDEN / "onboarding_flow", "before", "after", "--format", "markdown")
    assert result.exit_code == 1
    text = result.stdout
    before = text.index("Before:\n\n```mermaid\nflowchart TD\n  start([onboarding: 9 steps])\n```")
    after = text.index("After:\n\n```mermaid\nflowchart TD\n  start([onboarding: 11 steps])\n```")
    assert before < after < text.index("</details>")
    assert (
        "```mermaid"
        not in run(GOLDEN / "onboarding_flow", "before", "after", "--format", "markdown", "--no-mermaid").stdout
    )


def test_markdown_without_the_graph_module_or_with_a_failing_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ecrm_dsl.review.graph", None)  # import raises ImportError
    result = run(GOLDEN / "onboarding_flow", "before", "after", "--format", "markdown")
    assert result.exit_code == 1 and "```mermaid" not in result.stdout
    broken = types.ModuleType("ecrm_dsl.review.graph")

    def explode(scenario: dict[str, Any], marks: Any = None) -> str:
        raise RuntimeError("cannot draw")

    broken.mermaid = explode  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ecrm_dsl.review.graph", broken)
    result = run(GOLDEN / "onboarding_flow", "before", "after", "--format", "markdown")
    assert result.exit_code == 1 and "```mermaid" not in result.stdout and "</details>" in result.stdout


def test_markdown_with_the_real_graph_module() -> None:
    pytest.importorskip("ecrm_dsl.review.graph")
    result = run(GOLDEN / "onboarding_flow", "before", "after", "--format", "markdown")
    assert result.stdout.count("```mermaid") == 2


# --------------------------------------------------------------------------- every project file


def test_a_segment_only_the_policies_name_says_so(tmp_path: Path) -> None:
    for side in ("before", "after"):
        shutil.copytree(GOLDEN / "onboarding_flow" / "before", tmp_path / side)
    segment = tmp_path / "after" / "segments" / "recently_dissatisfied.yaml"
    segment.write_text(segment.read_text("utf-8").replace("<= 2", "<= 1"), encoding="utf-8")
    result = run(tmp_path, "before", "after")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "1 segment changed"
    assert "  unused: no scenario refers to it; the policies name it in nurture_only\n" in result.stdout


def test_an_unused_template_edit_is_reported_from_folders_not_from_plans(tmp_path: Path) -> None:
    for side in ("before", "after"):
        shutil.copytree(GOLDEN / "onboarding_flow" / "before", tmp_path / side)
        (tmp_path / side / "templates" / "spring.yaml").write_text(
            "template: spring\ntitle: 春のお知らせ\ncategory: marketing\nchannels:\n  email:\n"
            '    subject: "春です"\n'
            '    body: "{{ customer.name }} 様、春のセールです。配信停止: {{ unsubscribe_url }}"\n',
            encoding="utf-8",
        )
    spring = tmp_path / "after" / "templates" / "spring.yaml"
    spring.write_text(spring.read_text("utf-8").replace("春のセール", "春の感謝祭"), encoding="utf-8")
    folders = run(tmp_path, "before", "after")
    assert folders.exit_code == 1
    assert "template spring: changed\n  - email body changed\n" in folders.stdout
    assert "  unused: no scenario refers to it\n" in folders.stdout
    for side in ("before", "after"):
        (tmp_path / f"{side}.json").write_text(canonical_json(compiled(tmp_path / side)), encoding="utf-8")
    plans = run(tmp_path, "before.json", "after.json")  # a plan holds only what its scenarios use
    assert plans.exit_code == 0 and plans.stdout.startswith("no changes\n")
