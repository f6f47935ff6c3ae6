"""Which names are in scope in each condition of a scenario."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ecrm_dsl.language import ast, visit
from ecrm_dsl.language.i18n import n_
from ecrm_dsl.language.visit import entry_event
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


# In English, as messages are written; a message shows them in the reader's language with lookup().
_EVENT_ROLE = {
    "entry": n_("entry event"),
    "goal": n_("goal event"),
    "stop": n_("stop event"),
    "stop_when": n_("entry event"),
    "guard": n_("entry event"),
    "arm": n_("entry event"),
    "wait": n_("awaited event"),
}


def scenario_conditions(
    scenario: ast.Scenario, schema: CustomerSchema, segments: frozenset[str]
) -> Iterator[tuple[ast.Expr, Scope]]:
    """Every condition of a scenario (as :func:`visit.scenario_conditions` finds them) with the names in scope."""
    entry = entry_event(scenario)
    for site in visit.scenario_conditions(scenario):
        yield (
            site.expr,
            Scope(
                schema,
                segments,
                site.event,
                _EVENT_ROLE[site.role],
                site.metrics,
                site.role_words,
                in_order_trigger=site.role == "entry" and entry == "order.placed",
            ),
        )


def segment_scope(schema: CustomerSchema, segments: frozenset[str]) -> Scope:
    return Scope(schema, segments, None, n_("event"), False, n_("segment condition"))
