"""Where each condition of a scenario lives, and which names are in scope there."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ecrm_dsl.language import ast
from ecrm_dsl.project.resources import CustomerSchema


@dataclass(frozen=True)
class Scope:
    """Names a condition may use: customer attributes always; ``event.*`` and enrollment metrics by context."""

    schema: CustomerSchema
    segments: frozenset[str]
    event: str | None  # the event whose properties ``event.*`` names
    event_role: str  # "entry event", "goal event", … for messages
    metrics: bool  # enrollment metrics (orders_since_entry) are defined
    role: str  # what the condition is: "trigger condition", "step guard", …
    in_order_trigger: bool = False  # the entry order is already counted in customer.order_count


def entry_event(scenario: ast.Scenario) -> str | None:
    return scenario.trigger.event if isinstance(scenario.trigger, ast.EventTrigger) else None


def scenario_conditions(
    scenario: ast.Scenario, schema: CustomerSchema, segments: frozenset[str]
) -> Iterator[tuple[ast.Expr, Scope]]:
    """Every condition of a scenario with the scope it is evaluated in."""
    entry = entry_event(scenario)
    trigger = scenario.trigger
    if trigger.where is not None:
        yield (
            trigger.where,
            Scope(
                schema,
                segments,
                entry,
                "entry event",
                False,
                "entry condition",
                in_order_trigger=entry == "order.placed",
            ),
        )
    for goal in scenario.goals:
        if goal.where is not None:
            yield goal.where, Scope(schema, segments, goal.event, "goal event", True, "goal condition")
    for rule in scenario.exits:
        if rule.condition is None:
            continue
        if rule.event is not None:
            yield rule.condition, Scope(schema, segments, rule.event, "stop event", True, "stop condition")
        else:
            yield rule.condition, Scope(schema, segments, entry, "entry event", True, "stop condition")
    step_scope = Scope(schema, segments, entry, "entry event", True, "step condition")
    for step in ast.walk_steps(scenario.steps):
        if step.guard is not None:
            yield step.guard, step_scope
        action = step.action
        if isinstance(action, ast.Branch):
            for arm in action.arms:
                if arm.condition is not None:
                    yield arm.condition, step_scope
        if isinstance(action, ast.Wait) and action.where is not None and action.event is not None:
            yield action.where, Scope(schema, segments, action.event, "awaited event", True, "wait condition")


def segment_scope(schema: CustomerSchema, segments: frozenset[str]) -> Scope:
    return Scope(schema, segments, None, "event", False, "segment condition")
