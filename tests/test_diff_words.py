"""The renderer of plan pieces (ecrm_dsl.plan.text) and diff's words on top of it: conditions parse back to the
same normal form, triggers, rules, timings and steps read as the text syntax writes them, and timing shifts are
said in words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecrm_dsl.conditions.normal import normalise
from ecrm_dsl.plan import text
from ecrm_dsl.review import diff_words as words
from ecrm_dsl.review.diff_flow import common_order, layout
from ecrm_dsl.review.diff_model import Change, Code, PlanDiff
from ecrm_dsl.review.diff_render import md
from ecrm_dsl.syntax.text import parse_condition
from tests.test_conditions_normal import GOLDEN as NORMAL_FORMS

CONSTRUCTS = Path(__file__).parent / "golden" / "constructs"


def _scenarios() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(CONSTRUCTS.glob("*.plan.json")):
        for scenario in json.loads(path.read_text(encoding="utf-8")):
            found.append((path.name.removesuffix(".plan.json"), scenario))
    return found


def _conditions(node: Any) -> list[Any]:
    """Every condition in a plan fragment (values under keys that hold conditions)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("where", "guard", "condition", "when") and value is not None:
                found.append(value)
            else:
                found.extend(_conditions(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_conditions(item))
    return found


CORPUS = [c for _, s in _scenarios() for c in _conditions(s)] + [normal for _, normal in NORMAL_FORMS]


@pytest.mark.parametrize("normal", CORPUS, ids=[text.condition(c)[:50] for c in CORPUS])
def test_condition_text_parses_back_to_the_same_normal_form(normal: Any) -> None:
    expr, findings = parse_condition(text.condition(normal), "<diff>")
    assert not findings
    assert normalise(expr) == normal


# Where the plan cannot know the spelling: money written ¥30,000, 72h after entry (the same as day 3), and a
# decimal parameter, which the plan stores as text.
_RESPELLED = {"¥30,000": "30000円", "72h after entry": "day 3", "ratio = 0.5": 'ratio = "0.5"'}


@pytest.mark.parametrize(("name", "scenario"), _scenarios(), ids=[n for n, _ in _scenarios()])
def test_steps_and_rules_read_as_the_source_writes_them(name: str, scenario: dict[str, Any]) -> None:
    source = (CONSTRUCTS / f"{name}.ecrm").read_text(encoding="utf-8")
    for spelled, plan_text in _RESPELLED.items():
        source = source.replace(spelled, plan_text)
    texts = [f"when {text.trigger(scenario['trigger'])}"]
    texts += [f"goal {text.goal(g)}" for g in scenario["goals"]]
    texts += [f"stop {text.stop(s)}" for s in scenario["stop"]]
    if scenario["reentry"]["mode"] != "never":
        texts.append(f"reentry {text.reentry(scenario['reentry'])}")
    for node in scenario["nodes"]:
        if node["timing"] is not None and not words.is_plain_wait(node):
            texts.append(words.timing(node["timing"]))
        if node["kind"] in ("update", "exit") or words.is_plain_wait(node):
            texts.append(words.action(node))
        if node["kind"] == "send":  # parameters come out sorted by name; each must still read as written
            texts.append(words.action({**node, "params": {}}))
            texts += [f"{key} = {text.param(raw)}" for key, raw in node["params"].items()]
        if node["guard"] is not None:
            texts.append(f"if {text.condition(node['guard'])}")
    assert [t for t in texts if t not in source] == []


def _timing(**fields: Any) -> dict[str, Any]:
    base = {
        "anchor": "entry",
        "offset_seconds": 0,
        "business_days": None,
        "at": None,
        "until_time": None,
        "until_weekday": None,
        "business_day": False,
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("old", "new", "shift"),
    [
        (
            _timing(offset_seconds=7 * 86400, at="10:00"),
            _timing(offset_seconds=5 * 86400, at="10:00"),
            "2 days earlier",
        ),
        (
            _timing(offset_seconds=86400, at="10:00"),
            _timing(offset_seconds=86400, at="12:30"),
            "2 hours 30 minutes later",
        ),
        (
            _timing(anchor="previous", offset_seconds=3600),
            _timing(anchor="previous", offset_seconds=90000),
            "1 day later",
        ),
        (
            _timing(anchor="payment", business_days=3),
            _timing(anchor="payment", business_days=4),
            "1 business day later",
        ),
        (_timing(offset_seconds=86400), _timing(anchor="shipment", offset_seconds=86400), None),  # other anchor
        (_timing(offset_seconds=86400), _timing(offset_seconds=86400, at="10:00"), None),  # at added: no measure
        (None, _timing(offset_seconds=86400), None),
    ],
)
def test_timing_shift(old: Any, new: Any, shift: str | None) -> None:
    assert words.timing_shift(old, new) == shift


def test_timing_words() -> None:
    assert words.timing(None) == "right after the previous step"
    assert words.timing(_timing(anchor="previous", offset_seconds=3600, until_time="10:00")) == "after 1h until 10:00"
    assert words.timing(_timing(anchor="delivery_date", offset_seconds=-86400, at="18:00")) == (
        "1d before delivery_date at 18:00"
    )
    assert words.duration_words(90061) == "1 day 1 hour 1 minute"


def test_common_order_prefers_the_step_that_moved_up() -> None:
    assert common_order(["a", "b", "c"], ["b", "a", "c"]) == {"a", "c"}  # b moved up
    assert common_order(["a", "b", "c", "d"], ["b", "c", "d", "a"]) == {"b", "c", "d"}  # a moved down


def test_layout_of_nested_blocks() -> None:
    scenario = next(s for name, s in _scenarios() if name == "wait_event")
    places = layout(scenario).places
    assert {p.block for p in places.values()} >= {()}
    nested = [node_id for node_id, p in places.items() if p.block != ()]
    assert nested and all(places[n].label.startswith(tuple(places)) for n in nested)


def test_markdown_escapes_prose_and_codes_source() -> None:
    assert md(("step ", Code("a_b"), " <b>*x*</b> | `q`")) == r"step `a_b` \<b\>\*x\*\</b\> \| \`q\`"
    assert md((Code("x `y`"),)) == "`` x `y` ``"


def test_summary_wording() -> None:
    def diff(status: dict[tuple[str, str], str]) -> PlanDiff:
        return PlanDiff("a", "b", [Change("scenario", "s", "k", ("m",))], status)

    assert diff({}).summary() == "no changes"
    assert diff({("scenario", "a"): "added"}).summary() == "1 scenario added"
    assert diff(
        {
            ("scenario", "a"): "changed",
            ("scenario", "b"): "changed",
            ("scenario", "c"): "removed",
            ("policies", "policies"): "changed",
        }
    ).summary() == ("2 scenarios changed, 1 removed; policies changed")
    assert diff({("template", "t"): "removed", ("schema", "schema"): "changed"}).summary() == (
        "1 template removed; customer schema changed"
    )
