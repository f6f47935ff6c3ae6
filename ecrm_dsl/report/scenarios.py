"""Per-scenario results: conversion of the messaged against the holdout with uplift, the funnel, each step's
opens, clicks and (last-touch) conversions, each A/B variant, and the same by phase at entry and by segment."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from ecrm_dsl.conditions.sql import select_customers
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.nodes import SendNode
from ecrm_dsl.report.stats import Proportion, uplift
from ecrm_dsl.runtime.model import DeployedPlan
from ecrm_dsl.store import report_queries as q


class _Outcomes:
    """Enrollments counted by holdout and converted, summed over whatever else the query grouped by."""

    def __init__(self) -> None:
        self.counts: dict[bool, list[int]] = {False: [0, 0], True: [0, 0]}

    def add(self, holdout: bool, converted: bool, n: int) -> None:
        self.counts[holdout][0] += n
        self.counts[holdout][1] += n if converted else 0

    def proportion(self, holdout: bool) -> Proportion:
        return Proportion(*self.counts[holdout])

    def comparison(self) -> dict[str, Any]:
        treated, control = self.proportion(False), self.proportion(True)
        return {"treated": treated.as_dict(), "holdout": control.as_dict(), "uplift": uplift(treated, control)}


def rate(n: int, hits: int) -> float | None:
    return Proportion(n, hits).as_dict()["rate"]


def phase_label(orders_before: int) -> str:
    return f"F{orders_before}" if orders_before < 3 else "F3+"


def scenario_results(
    conn: Connection,
    plan: Plan,
    window: q.Window,
    segments: Iterable[str],
) -> list[dict[str, Any]]:
    overall: dict[str, _Outcomes] = defaultdict(_Outcomes)
    for sid, holdout, converted, n in q.enrollment_groups(conn, window):
        overall[sid].add(holdout, converted, n)
    phases: dict[str, dict[str, _Outcomes]] = defaultdict(lambda: defaultdict(_Outcomes))
    for sid, holdout, converted, prior, n in q.enrollment_groups(conn, window, q.orders_before_entry()):
        phases[sid][phase_label(int(prior))].add(holdout, converted, n)
    by_segment: dict[str, dict[str, _Outcomes]] = defaultdict(lambda: defaultdict(_Outcomes))
    runtime_plan = DeployedPlan(plan, 0)
    for name in segments:
        audience = select_customers(
            runtime_plan.segments[name],
            now=window.end,
            timezone=runtime_plan.timezone,
            segments=runtime_plan.segments,
            types=runtime_plan.types(None),
        )
        for sid, holdout, converted, member, n in q.enrollment_groups(conn, window, q.in_audience(audience)):
            if member:
                by_segment[sid][name].add(holdout, converted, n)
    variants: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_variant: dict[tuple[str, str, str], _Outcomes] = defaultdict(_Outcomes)
    for sid, node, variant, holdout, converted, n in q.variant_groups(conn, window):
        by_variant[(sid, node, variant)].add(holdout, converted, n)
    for (sid, node, variant), outcomes in sorted(by_variant.items()):
        treated = outcomes.proportion(False)
        control = overall[sid].proportion(True)  # one holdout per scenario: every variant is measured against it
        variants[sid].append(
            {"split": node, "variant": variant, **treated.as_dict(), "uplift": uplift(treated, control)}
        )
    sends = q.sends_by_step(conn, window)
    opened = q.message_events_by_step(conn, window, "message.opened")
    clicked = q.message_events_by_step(conn, window, "message.clicked")
    credited = q.last_touch_conversions(conn, window)
    reach = q.reach_by_scenario(conn, window)
    results = []
    for scenario in sorted(plan.scenarios, key=lambda s: s.id):
        sid = scenario.id
        sending = [node for node in scenario.nodes if isinstance(node, SendNode)]
        steps = [_step(sid, node, sends, opened, clicked, credited) for node in sending]
        outcomes = overall[sid]
        entered = outcomes.proportion(False).n + outcomes.proportion(True).n
        results.append(
            {
                "id": sid,
                "title": scenario.title,
                "kind": scenario.kind,
                "entered": entered,
                "messaged": outcomes.proportion(False).n,
                "holdout": outcomes.proportion(True).n,
                "conversion": outcomes.comparison() if scenario.goals else _no_goal(outcomes),
                "funnel": _funnel(outcomes, reach.get(sid, {})),
                "steps": steps,
                "variants": variants.get(sid, []),
                "by_phase": [{"group": g, **o.comparison()} for g, o in sorted(phases[sid].items())],
                "by_segment": [{"group": g, **o.comparison()} for g, o in sorted(by_segment[sid].items())],
            }
        )
    return results


def _step(
    sid: str,
    node: SendNode,
    sends: dict[tuple[str, str], int],
    opened: dict[tuple[str, str], int],
    clicked: dict[tuple[str, str], int],
    credited: dict[tuple[str, str], int],
) -> dict[str, Any]:
    key = (sid, node.id)
    sent = sends.get(key, 0)
    return {
        "id": node.id,
        "kind": node.kind,
        "channel": node.channel,
        "sent": sent,
        "opened": opened.get(key, 0),
        "clicked": clicked.get(key, 0),
        # No message events at all means the store does not track them: an unknown rate, not a zero one.
        "open_rate": rate(sent, opened.get(key, 0)) if opened else None,
        "click_rate": rate(sent, clicked.get(key, 0)) if clicked else None,
        "conversions": credited.get(key, 0),
        "conversion_rate": rate(sent, credited.get(key, 0)),
    }


def _funnel(outcomes: _Outcomes, reach: dict[str, int]) -> list[dict[str, Any]]:
    """Entered → messaged (not in the holdout) → sent at least one message → opened one → clicked one → converted."""
    treated = outcomes.proportion(False)
    stages = [
        ("entered", treated.n + outcomes.proportion(True).n),
        ("messaged", treated.n),
        ("sent", reach.get("sent", 0)),
        ("opened", reach.get("message.opened", 0)),
        ("clicked", reach.get("message.clicked", 0)),
        ("converted", treated.hits),
    ]
    return [{"stage": stage, "count": count} for stage, count in stages]


def _no_goal(outcomes: _Outcomes) -> dict[str, Any]:
    """A scenario without a goal converts nobody by definition: its rates are undefined, not zero."""
    groups = {}
    for name, holdout in (("treated", False), ("holdout", True)):
        groups[name] = {"n": outcomes.proportion(holdout).n, "converted": 0, "rate": None, "ci95": None}
    return {**groups, "uplift": {"points": None, "ci95": None, "relative": None}}
