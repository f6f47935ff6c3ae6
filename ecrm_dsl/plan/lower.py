"""AST pieces in the plan's form: conditions, literals, timings, triggers, goals, stop rules, re-entry.

The compiler lowers whole scenarios with these; the text printer lowers a timing or a rule header with them and
prints it through :mod:`ecrm_dsl.plan.text`, so a scenario's source and its plan are spelled by one renderer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecrm_dsl.conditions.normal import normalise
from ecrm_dsl.language import ast
from ecrm_dsl.language.values import Duration, Money

Json = dict[str, Any]


def cond(expr: ast.Expr | None) -> Any:
    """A condition in normal form (None stays None)."""
    return normalise(expr) if expr is not None else None


def literal(lit: ast.Literal) -> Any:
    """A send parameter or update value: money and durations wrapped, times and decimals as text."""
    value = lit.value
    if isinstance(value, Money):
        return {"money": value.yen}
    if isinstance(value, Duration):
        return {"seconds": value.seconds}
    if lit.type in ("time", "decimal"):
        return str(value)
    return value


def timing(t: ast.Timing | None) -> Json | None:
    if t is None:
        return None
    return {
        "anchor": t.anchor,
        "offset_seconds": t.offset.seconds,
        "business_days": t.business_days,
        "at": str(t.at) if t.at else None,
        "until_time": str(t.until_time) if t.until_time else None,
        "until_weekday": t.until_weekday,
        "business_day": t.business_day,
    }


def trigger(t: ast.Trigger) -> Json:
    base: Json = {"where": cond(t.where)}
    base.update(_TRIGGER_FIELDS[type(t)](t))
    return base


_TRIGGER_FIELDS: dict[type, Callable[[Any], Json]] = {
    ast.EventTrigger: lambda t: {"type": "event", "event": t.event},
    ast.SegmentTrigger: lambda t: {"type": "segment", "segment": t.segment},
    ast.DateTrigger: lambda t: {
        "type": "date",
        "attribute": t.attribute.removeprefix("customer."),
        "offset_seconds": t.offset.seconds,
        "at": str(t.at) if t.at else None,
        "yearly": t.yearly,
    },
    ast.ScheduleTrigger: lambda t: {"type": "schedule", "cron": t.cron, "audience": t.audience},
}


def goal(g: ast.Goal) -> Json:
    match, _, prop = g.match.partition(":")
    return {
        "event": g.event,
        "match": match,
        "property": prop or None,
        "within_seconds": g.within.seconds if g.within else None,
        "where": cond(g.where),
    }


def stop(e: ast.ExitRule) -> Json:
    if e.event is not None:
        return {"event": e.event, "same": e.same, "where": cond(e.condition)}
    return {"when": cond(e.condition)}


def reentry(r: ast.Reentry) -> Json:
    return {"mode": r.mode, "cooldown_seconds": r.cooldown.seconds if r.cooldown else None}


def hypothesis(h: ast.Hypothesis) -> Json:
    """The hypothesis; its target only when it has one, so plans without targets keep their hashes."""
    body: Json = {"kpi": h.kpi, "statement": h.statement}
    if h.target is not None:
        body["target"] = {
            "amount": h.target.amount.amount,
            "unit": h.target.amount.unit,
            "within_seconds": h.target.within.seconds,
        }
    return body
