"""``ecrm graph``'s diagrams: wording that parses back, layout of every node kind, escaping, goldens, real Graphviz.

Goldens: ``tests/golden/graph/<scenario>.mmd`` and ``.dot`` for every example scenario and for
``kitchen_sink.ecrm`` (every node kind, hostile characters). Rewrite with ``ECRM_UPDATE_GOLDENS=1`` and review.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecrm_dsl.build.compiler import compile_scenario, compile_workspace
from ecrm_dsl.conditions.normal import normalise
from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import lint
from ecrm_dsl.review import graph_text as words
from ecrm_dsl.review.graph import GraphvizMissing, dot, dot_string, mermaid, mermaid_markdown, mermaid_text, svg
from ecrm_dsl.review.graph_model import PlanShapeError, build, wrap
from ecrm_dsl.syntax.text import parse_condition, parse_text
from tests.goldens import assert_golden

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "graph"
CONSTRUCTS = Path(__file__).resolve().parent / "golden" / "constructs"
KITCHEN_SINK = GOLDEN / "kitchen_sink.ecrm"

Json = dict[str, Any]


# --------------------------------------------------------------------------- inputs (shared with test_graph_*.py)


@functools.cache
def example_plan() -> Json:
    """The plan of this repository's example project (``pyproject.toml`` next to ``tests/``)."""
    result = lint(load_config(ROOT / "pyproject.toml"))
    assert result.errors == 0, "the example project must lint without errors"
    plan, _ = compile_workspace(result.workspace)
    return plan


def _compile_text(path: Path) -> list[Json]:
    scenarios, findings = parse_text(path.read_text(encoding="utf-8"), path.name)
    assert findings == []
    return [compile_scenario(s)[0] for s in scenarios]


@functools.cache
def drawn_scenarios() -> dict[str, Json]:
    """Every scenario with a golden diagram: the examples and the kitchen sink, by id."""
    found = {s["id"]: s for s in example_plan()["scenarios"]}
    found.update({s["id"]: s for s in _compile_text(KITCHEN_SINK)})
    return dict(sorted(found.items()))


@functools.cache
def construct_scenarios() -> list[Json]:
    """The scenarios of the construct corpus (every language construct), as compiled plan entries."""
    return [s for path in sorted(CONSTRUCTS.glob("*.plan.json")) for s in json.loads(path.read_text("utf-8"))]


def all_scenarios() -> list[Json]:
    return [*drawn_scenarios().values(), *construct_scenarios()]


# --------------------------------------------------------------------------- goldens


@pytest.mark.parametrize("name", sorted(drawn_scenarios()))
def test_golden_mermaid(name: str) -> None:
    assert_golden(GOLDEN / f"{name}.mmd", mermaid(drawn_scenarios()[name]))


@pytest.mark.parametrize("name", sorted(drawn_scenarios()))
def test_golden_dot(name: str) -> None:
    assert_golden(GOLDEN / f"{name}.dot", dot(drawn_scenarios()[name]))


def test_no_stale_goldens() -> None:
    names = {p.stem for p in GOLDEN.glob("*.mmd")} | {p.stem for p in GOLDEN.glob("*.dot")}
    assert names == set(drawn_scenarios())


def test_output_is_deterministic_and_independent_of_key_order() -> None:
    for scenario in all_scenarios():
        shuffled = json.loads(json.dumps(scenario, sort_keys=True), object_pairs_hook=lambda pairs: dict(pairs[::-1]))
        assert mermaid(scenario) == mermaid(shuffled) == mermaid(json.loads(json.dumps(scenario)))
        assert dot(scenario) == dot(shuffled)


# --------------------------------------------------------------------------- wording


def _conditions(scenario: Json) -> list[Any]:
    trigger = scenario.get("trigger") or {}
    found = [trigger.get("where")]
    found += [g.get("where") for g in scenario.get("goals") or []]
    found += [s.get("where") or s.get("when") for s in scenario.get("stop") or []]
    for node in scenario.get("nodes") or []:
        found += [node.get("guard"), node.get("where")]
        found += [arm.get("condition") for arm in node.get("arms") or []]
    return [c for c in found if c is not None]


def test_conditions_print_in_the_text_syntax_and_parse_back_to_the_same_normal_form() -> None:
    conditions = [c for s in all_scenarios() for c in _conditions(s)]
    conditions += [seg["condition"] for seg in example_plan()["segments"].values()]
    assert len(conditions) > 40
    for condition in conditions:
        text = words.condition_text(condition)
        expr, findings = parse_condition(text, "graph")
        assert findings == [], text
        assert normalise(expr) == condition, text


@pytest.mark.parametrize(
    ("normal", "text"),
    [
        (["cmp", "==", ["attr", "order_count"], ["lit", "int", 1]], "customer.order_count == 1"),
        (["cmp", ">=", ["attr", "total_spent"], ["lit", "money", 30000]], "customer.total_spent >= 30000円"),
        (["call", "opened", ["name", "email"], ["lit", "duration", 604800]], "opened(email, 7d)"),
        (
            ["not", ["or", ["call", "has_tag", ["lit", "string", "vip"]], ["is_null", ["event", "x"]]]],
            'not (has_tag("vip") or event.x is null)',
        ),
        (
            [
                "and",
                [
                    "or",
                    ["cmp", "<", ["metric", "days_since_entry"], ["lit", "int", 3]],
                    ["not_between", ["attr", "points"], ["lit", "decimal", "1.5"], ["lit", "int", 9]],
                ],
                ["not_in", ["attr", "persona"], [["lit", "string", "学生"], ["lit", "null", None]]],
            ],
            "(days_since_entry < 3 or customer.points not between 1.5 and 9)"
            ' and customer.persona not in ["学生", null]',
        ),
    ],
)
def test_condition_text(normal: list[Any], text: str) -> None:
    assert words.condition_text(normal) == text


def _timings() -> list[tuple[Json, bool]]:
    """(timing, is a timed wait) of every node that has one."""
    return [
        (node["timing"], node["kind"] == "wait" and not node.get("event"))
        for scenario in all_scenarios()
        for node in scenario.get("nodes") or []
        if node.get("timing")
    ]


def test_timings_print_in_the_text_syntax_and_parse_back_to_the_same_timing() -> None:
    timings = _timings()
    assert len(timings) > 20
    for timing, timed_wait in timings:
        step = f"@w {words.wait_text(timing)}" if timed_wait else f"{words.timing_text(timing)}: send email x"
        source = f"scenario t {{\n  kind nurture\n  when order.placed\n  {step}\n}}\n"
        scenarios, findings = parse_text(source, "t.ecrm")
        assert findings == [], step
        assert compile_scenario(scenarios[0])[0]["nodes"][0]["timing"] == timing, step


@pytest.mark.parametrize(
    ("timing", "text"),
    [
        ({"anchor": "entry", "offset_seconds": 604800, "at": "10:00"}, "day 7 at 10:00"),
        ({"anchor": "previous", "offset_seconds": 129600}, "after 36h"),
        ({"anchor": "delivery_date", "offset_seconds": -172800}, "2d before delivery_date"),
        ({"anchor": "payment", "offset_seconds": 0, "business_days": 3}, "3 business days after payment"),
        (
            {"anchor": "previous", "offset_seconds": 0, "until_time": "09:30", "until_weekday": "monday"},
            "until monday 09:30",
        ),
    ],
)
def test_timing_text(timing: Json, text: str) -> None:
    assert words.timing_text(timing) == text


@pytest.mark.parametrize(
    ("weights", "shares"),
    [
        ([50, 50], ["50%", "50%"]),
        ([1, 1, 1], ["33.3%", "33.3%", "33.3%"]),
        ([1, 2], ["33.3%", "66.7%"]),
        ([9, 1], ["90%", "10%"]),
        ([7], ["100%"]),
    ],
)
def test_split_percentages(weights: list[int], shares: list[str]) -> None:
    assert words.percentages(weights) == shares


def test_trigger_words() -> None:
    triggers = {s["id"]: words.trigger_text(s["trigger"]) for s in example_plan()["scenarios"]}
    assert triggers["f2_step_mail"] == "order.placed where customer.order_count == 1"
    assert (
        triggers["birthday_coupon"]
        == "date 7d before customer.birthday at 09:00 yearly where customer.order_count >= 1"
    )
    assert triggers["monthly_newsletter"] == 'schedule "0 10 1 * *" audience newsletter_readers'
    assert triggers["dormant_150_winback"] == "segment dormant_150"


def test_wrap_breaks_at_phrases_and_cuts_only_what_is_too_wide() -> None:
    assert wrap("if customer.line_opt_in == true and customer.line_user_id is not null", 40) == [
        "if customer.line_opt_in == true",
        "and customer.line_user_id is not null",
    ]
    assert wrap('x in ["a and b", "c"] and not opened(email, 7d)', 30) == [
        'x in ["a and b", "c"]',
        "and not opened(email, 7d)",
    ]
    assert wrap("あ" * 30, 20) == ["あ" * 10, "あ" * 10, "あ" * 10]
    assert wrap("short") == ["short"]


# --------------------------------------------------------------------------- layout


def _edges(scenario: Json) -> dict[tuple[str, str], tuple[tuple[str, ...], bool]]:
    diagram = build(scenario)
    return {(e.source, e.target): (e.label, e.dashed) for e in diagram.edges}


def test_kitchen_sink_layout() -> None:
    scenario = drawn_scenarios()["kitchen_sink"]
    diagram = build(scenario)
    boxes = {box.id: box for box in diagram.boxes}
    edges = [(e.source, e.target, e.label, e.dashed) for e in diagram.edges]
    assert boxes["n4"].shape == "exit" and boxes["n4"].lines == ("sorry", 'exit: 不満 <回答> & "返金" #1')
    assert ("n3", "n4", ("event",), False) in edges
    assert ("n3", "g5", ("timeout", "day 7 at 10:00"), False) in edges  # into the guard, with the step's timing
    assert ("g5", "n5", ("if orders_since_entry == 0",), False) in edges
    assert ("g5", "n6", ("else: skip",), True) in edges  # the skip edge goes past the step
    assert ("n6", "n9", ("else",), False) in edges  # an else arm without steps joins the step after the branch
    assert [e[2] for e in edges if e[0] == "n9"] == [("a 33.3%",), ("b 33.3%",), ("c 33.3%",)]
    assert ("n9", "n12", ("c 33.3%",), False) in edges  # an empty variant joins the next step
    assert ("g13", "n14", ("else: skip", "3 business days after payment at 10:00"), True) in edges
    assert ("n14", "done", (), False) in edges
    assert boxes["n1"].lines == ("pause", "wait 2d") and ("entry", "n1", (), False) in edges  # no timing twice
    assert boxes["n12"].lines == ("monday", "wait until monday 09:30")
    assert boxes["n2"].lines == ("mark", 'update: set customer.persona = "family", tag "vip",', 'untag "at_risk"')
    assert diagram.title.endswith("end next line (kitchen_sink)")


def test_a_branch_without_else_gets_an_implicit_else_edge() -> None:
    edges = _edges(drawn_scenarios()["entry_point_followup"])
    assert edges[("n1", "done")] == (("else",), False)
    assert edges[("n1", "n2")][0] == ('if event.entry_channel == "ad_lp"',)


def test_start_edge_carries_the_first_step_timing_and_the_trigger_is_the_entry_box() -> None:
    scenario = drawn_scenarios()["entry_point_followup"]
    diagram = build(scenario)
    assert diagram.boxes[0].lines == (
        "when order.placed where customer.order_count == 1",
        'and event.entry_channel in ["ad_lp", "organic_search"]',
    )
    assert _edges(scenario)[("entry", "n1")] == (("2 business days after delivery_date at 11:00",), False)


def test_rules_note_lists_goals_stop_rules_holdout_and_reentry() -> None:
    rules = next(b for b in build(drawn_scenarios()["f2_step_mail"]).boxes if b.id == "rules")
    assert rules.shape == "note"
    assert "goal order.placed repeat within 30d" in rules.lines
    assert "stop when customer.unsubscribed == true" in rules.lines
    assert "stop on order.cancelled" in rules.lines
    assert "holdout 10% (enrolled, never messaged)" in rules.lines
    assert "reentry never" in rules.lines and "backfill 7d" in rules.lines


def test_send_labels() -> None:
    birthday = next(b for b in build(drawn_scenarios()["birthday_coupon"]).boxes if b.id == "n1")
    assert birthday.lines == (
        "birthday_coupon",
        "send line birthday_coupon (fallback email)",
        'with coupon_code = "BDAY-1000", discount = 1000円',
    )


def test_every_construct_draws() -> None:
    for scenario in construct_scenarios():
        assert mermaid(scenario).startswith("---\ntitle: ")
        assert dot(scenario).startswith("digraph ")


def test_a_dangling_reference_is_a_clear_error() -> None:
    scenario = json.loads(json.dumps(drawn_scenarios()["f2_step_mail"]))
    scenario["nodes"][0]["next"] = "nowhere"
    with pytest.raises(PlanShapeError, match="unknown step 'nowhere'"):
        mermaid(scenario)


def test_a_scenario_without_steps_draws_entry_to_completion() -> None:
    diagram = build({"id": "empty", "title": "空", "trigger": {"type": "event", "event": "order.placed"}, "nodes": []})
    assert [(e.source, e.target) for e in diagram.edges] == [("entry", "done")]


# --------------------------------------------------------------------------- escaping


def test_mermaid_escapes_what_breaks_a_quoted_label() -> None:
    assert mermaid_text('a "b" <c> & #quot; `d`') == "a #quot;b#quot; #lt;c#gt; #amp; #35;quot; #96;d#96;"
    text = mermaid(drawn_scenarios()["kitchen_sink"])
    for line in text.splitlines()[4:]:
        labels = re.findall(r'"([^"]*)"', line)
        assert all("`" not in label and "<c" not in label for label in labels)


def test_mermaid_title_is_yaml_front_matter() -> None:
    for name, scenario in drawn_scenarios().items():
        text = mermaid(scenario)
        front = text.split("---\n")[1]
        assert yaml.safe_load(front)["title"] == build(scenario).title, name


def test_markdown_is_a_mermaid_fence_that_backticks_cannot_close() -> None:
    text = mermaid_markdown(drawn_scenarios()["kitchen_sink"])
    assert text.startswith("```mermaid\n---\n") and text.endswith("\n```\n")
    assert text.count("```") == 2


def test_dot_strings_escape_quotes_backslashes_and_entities() -> None:
    assert dot_string('a "b" \\n & c') == '"a \\"b\\" \\\\n &amp; c"'
    source = dot(drawn_scenarios()["kitchen_sink"])
    assert 'charset="UTF-8"' in source and "Noto Sans CJK JP" in source


# --------------------------------------------------------------------------- Graphviz, for real

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed (apt-get install graphviz); DOT not rendered"
)


@needs_dot
@pytest.mark.parametrize("name", sorted(drawn_scenarios()))
def test_dot_renders_to_svg_with_the_japanese_title(name: str) -> None:
    scenario = drawn_scenarios()[name]
    source = dot(scenario)
    done = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, timeout=60, check=False)
    errors = [line for line in done.stderr.decode().splitlines() if line.startswith("Error") or "syntax error" in line]
    assert done.returncode == 0 and errors == [], done.stderr.decode()  # font-config chatter is not an error
    root = ElementTree.fromstring(done.stdout)
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert build(scenario).title in texts
    assert any(line in texts for line in build(scenario).boxes[0].lines)
    assert svg(source) == done.stdout


def test_svg_without_graphviz_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(GraphvizMissing, match=r"install Graphviz \(dot\) or use --format dot"):
        svg("digraph { a }")
