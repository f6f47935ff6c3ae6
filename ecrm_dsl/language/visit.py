"""One walk of the AST: child nodes, a dispatching visitor, and the questions every stage asks of a scenario.

"Every condition of a scenario", "every template it sends" and "every segment it reads" are answered here and
nowhere else, so the checks, the compiler, diff and graph can no longer disagree about them (they once did: a
wait's ``where`` was checked but its ``in_segment()`` never reached the plan).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ecrm_dsl.language import ast
from ecrm_dsl.language.ast import iter_child_nodes, walk
from ecrm_dsl.language.i18n import n_

__all__ = [
    "ConditionSite",
    "NodeVisitor",
    "StructureVisitor",
    "iter_child_nodes",
    "scenario_conditions",
    "segments_read",
    "walk",
]


class NodeVisitor:
    """Calls ``visit_<ClassName>`` for a node, or :meth:`generic_visit`, which visits the children.

    Subclasses define methods only for the nodes they care about; the walk reaches every other node through
    :meth:`generic_visit`, so a new node kind is seen by every visitor without touching it.
    """

    def visit(self, node: Any) -> Any:
        method: Callable[[Any], Any] = getattr(self, "visit_" + type(node).__name__, self.generic_visit)
        return method(node)

    def generic_visit(self, node: Any) -> None:
        for child in ast.iter_child_nodes(node):
            self.visit(child)


EXPR_TYPES: tuple[type, ...] = (
    ast.Literal,
    ast.Ref,
    ast.Call,
    ast.Keyword,  # only inside a call: part of its condition
    ast.Compare,
    ast.InList,
    ast.Between,
    ast.IsNull,
    ast.And,
    ast.Or,
    ast.Not,
    ast.Arith,
)


class StructureVisitor(NodeVisitor):
    """A visitor over a scenario's structure — trigger, rules, steps, timings, actions — that does not descend
    into conditions (those are visited through :func:`scenario_conditions`, each with its context)."""

    def generic_visit(self, node: Any) -> None:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, EXPR_TYPES):
                self.visit(child)


# --------------------------------------------------------------------------- conditions of a scenario


@dataclass(frozen=True, slots=True)
class ConditionSite:
    """A condition and where it sits: what ``event.*`` means there and whether enrollment metrics exist."""

    expr: ast.Expr
    role: str  # "entry", "goal", "stop", "stop_when", "guard", "arm", "wait"
    event: str | None  # the event whose properties ``event.*`` names there
    metrics: bool  # enrollment metrics (orders_since_entry, …) are defined: the customer is enrolled

    ROLE_WORDS: ClassVar[dict[str, str]] = {
        "entry": n_("entry condition"),
        "goal": n_("goal condition"),
        "stop": n_("stop condition"),
        "stop_when": n_("stop condition"),
        "guard": n_("step condition"),
        "arm": n_("step condition"),
        "wait": n_("wait condition"),
    }

    @property
    def role_words(self) -> str:
        return self.ROLE_WORDS[self.role]


def entry_event(scenario: ast.Scenario) -> str | None:
    return scenario.trigger.event if isinstance(scenario.trigger, ast.EventTrigger) else None


def scenario_conditions(scenario: ast.Scenario) -> list[ConditionSite]:
    """Every condition of a scenario, in source order, with its context."""
    entry = entry_event(scenario)
    sites: list[ConditionSite] = []
    if scenario.trigger.where is not None:
        sites.append(ConditionSite(scenario.trigger.where, "entry", entry, False))
    for goal in scenario.goals:
        if goal.where is not None:
            sites.append(ConditionSite(goal.where, "goal", goal.event, True))
    for rule in scenario.exits:
        if rule.condition is not None:
            if rule.event is not None:
                sites.append(ConditionSite(rule.condition, "stop", rule.event, True))
            else:  # ``stop when``: judged with the entry event as ``event``
                sites.append(ConditionSite(rule.condition, "stop_when", entry, True))
    for step in ast.walk_steps(scenario.steps):
        if step.guard is not None:
            sites.append(ConditionSite(step.guard, "guard", entry, True))
        action = step.action
        if isinstance(action, ast.Branch):
            sites.extend(ConditionSite(arm.condition, "arm", entry, True) for arm in action.arms if arm.condition)
        elif isinstance(action, ast.Wait) and action.where is not None and action.event is not None:
            sites.append(ConditionSite(action.where, "wait", action.event, True))
    return sites


# --------------------------------------------------------------------------- steps, sends, segments


def sends(scenario: ast.Scenario) -> list[ast.Send]:
    """Every send of a scenario, in source order."""
    return [step.action for step in ast.walk_steps(scenario.steps) if isinstance(step.action, ast.Send)]


def templates_sent(scenario: ast.Scenario) -> set[str]:
    return {send.template for send in sends(scenario)}


def segments_named(expr: ast.Expr | None) -> set[str]:
    """Segments a condition reads through ``in_segment(name)``."""
    if expr is None:
        return set()
    return {
        node.args[0].dotted
        for node in ast.walk(expr)
        if isinstance(node, ast.Call) and node.name == "in_segment" and node.args and isinstance(node.args[0], ast.Ref)
    }


def segments_read(scenario: ast.Scenario) -> set[str]:
    """Every segment a scenario reads: its trigger's segment or audience, and ``in_segment()`` in any condition."""
    names: set[str] = set()
    trigger = scenario.trigger
    if isinstance(trigger, ast.SegmentTrigger):
        names.add(trigger.segment)
    elif isinstance(trigger, ast.ScheduleTrigger):
        names.add(trigger.audience)
    for site in scenario_conditions(scenario):
        names |= segments_named(site.expr)
    return names
