"""One walk of the AST: the visitor reaches every node, and the scenario questions (conditions, sends,
segments) agree with a brute-force search of the tree, for every construct of the golden corpus."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from ecrm_dsl.language import ast, visit
from ecrm_dsl.syntax.text import parse_text

CONSTRUCTS = Path(__file__).parent / "golden" / "constructs"
SCENARIOS = sorted(CONSTRUCTS.glob("*.ecrm"))


def _scenarios(path: Path) -> list[ast.Scenario]:
    items, findings = parse_text(path.read_text(encoding="utf-8"), path.name)
    assert not findings
    return [item for item in items if isinstance(item, ast.Scenario)]


def _every_node(value: Any) -> list[Any]:
    """Brute force: every node reachable through any dataclass field, tuple or not, span and origin aside."""
    found: list[Any] = []
    if isinstance(value, tuple):
        for item in value:
            found += _every_node(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, (type, ast.Span)):
        found.append(value)
        for f in dataclasses.fields(value):
            if f.name not in ("span", "origin"):
                found += _every_node(getattr(value, f.name))
    return found


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_walk_reaches_every_node(path: Path) -> None:
    for scenario in _scenarios(path):
        walked = list(visit.walk(scenario))
        assert [id(n) for n in walked] == [id(n) for n in _every_node(scenario) if not _is_value(n)]


def _is_value(node: Any) -> bool:
    return type(node).__module__ != ast.__name__  # Duration, Money, TimeOfDay: values, not nodes


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_conditions_are_every_condition_root(path: Path) -> None:
    for scenario in _scenarios(path):
        nodes = [n for n in _every_node(scenario) if not _is_value(n)]
        inside = {id(child) for n in nodes if isinstance(n, visit.EXPR_TYPES) for child in ast.iter_child_nodes(n)}
        literals_of_structure = {
            id(n.value) for n in nodes if isinstance(n, (ast.Param, ast.Assignment))
        }  # send parameters and update values are literals, not conditions
        roots = [
            n
            for n in nodes
            if isinstance(n, visit.EXPR_TYPES) and id(n) not in inside and id(n) not in literals_of_structure
        ]
        assert sorted(map(id, roots)) == sorted(id(site.expr) for site in visit.scenario_conditions(scenario))


def test_segments_and_templates_of_a_scenario_come_from_every_place_they_can_be_named() -> None:
    text = """scenario s "x" {
  kind nurture
  when segment golds where in_segment(vips)
  goal order.placed where in_segment(goal_seg)
  stop when in_segment(stop_seg)

  @ask if in_segment(guard_seg): send email ask
  @answer wait for survey.answered where in_segment(wait_seg) timeout 3d {
    on event {
      @route if in_segment(arm_seg) {
        send line thanks
      }
    }
    on timeout {
      send sms remind
    }
  }
}
"""
    (scenario,), findings = parse_text(text, "s.ecrm")
    assert not findings
    assert isinstance(scenario, ast.Scenario)
    assert visit.segments_read(scenario) == {
        "golds",
        "vips",
        "goal_seg",
        "stop_seg",
        "guard_seg",
        "wait_seg",
        "arm_seg",
    }
    assert visit.templates_sent(scenario) == {"ask", "thanks", "remind"}
    roles = [site.role for site in visit.scenario_conditions(scenario)]
    assert roles == ["entry", "goal", "stop_when", "guard", "wait", "arm"]


def test_a_visitor_dispatches_by_class_and_reaches_nested_steps() -> None:
    (scenario,), _ = parse_text(
        'scenario s "x" {\n  kind sell\n  when order.placed\n\n'
        "  @b if customer.order_count == 1 {\n    send email a\n  } else {\n    send email c\n  }\n}\n",
        "s.ecrm",
    )

    class Sends(visit.StructureVisitor):
        def __init__(self) -> None:
            self.seen: list[str] = []

        def visit_Send(self, send: ast.Send) -> None:
            self.seen.append(send.template)

        def visit_Compare(self, compare: ast.Compare) -> None:
            raise AssertionError("a structure visitor does not descend into conditions")

    sends = Sends()
    sends.visit(scenario)
    assert sends.seen == ["a", "c"]
