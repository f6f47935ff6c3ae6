"""Per-scenario results: conversion of the messaged against the holdout with uplift, the funnel, each step's
deliveries, opens, clicks and (last-touch) conversions, each A/B variant, the same by phase at entry and by
segment; revenue per enrollee with the incremental revenue, deliveries and unsubscribes, the experiment checks
and the hypothesis verdict."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Select

from ecrm_dsl.conditions.sql import select_customers
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.nodes import SendNode
from ecrm_dsl.plan.scenario import ScenarioPlan
from ecrm_dsl.report.experiments import MIN_CONVERSIONS, scenario_checks, too_small
from ecrm_dsl.report.hypotheses import hypothesis_entry
from ecrm_dsl.report.revenue import EnrolleeOrders, revenue_comparison
from ecrm_dsl.report.stats import Proportion, uplift
from ecrm_dsl.runtime.model import DeployedPlan
from ecrm_dsl.store import report_queries as q

DEFAULT_REVENUE_DAYS = 30  # the revenue window of a scenario whose goals have none
UNSUBSCRIBE_DAYS = 7  # an unsubscribe this soon after a scenario's message is counted against it


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
    """hits / n, None without a denominator."""
    return Proportion(n, hits).as_dict()["rate"]


def phase_label(orders_before: int) -> str:
    return f"F{orders_before}" if orders_before < 3 else "F3+"


def segment_audiences(plan: Plan, names: Iterable[str], window: q.Window) -> list[tuple[str, Select[Any]]]:
    """Each named segment of the plan and the query of its members as of the window's end."""
    runtime_plan = DeployedPlan(plan, 0)
    return [
        (
            name,
            select_customers(
                runtime_plan.segments[name],
                now=window.end,
                timezone=runtime_plan.timezone,
                segments=runtime_plan.segments,
                types=runtime_plan.types(None),
            ),
        )
        for name in names
    ]


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
    for name, audience in segment_audiences(plan, segments, window):
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
    assigned: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for (sid, node, variant), outcomes in by_variant.items():
        assigned[sid][(node, variant)] += outcomes.proportion(False).n + outcomes.proportion(True).n
    sends = q.sends_by_step(conn, window)
    tracked = {kind: q.tracked_channels(conn, kind) for kind in ("message.opened", "message.clicked")}
    opened = q.message_events_by_step(conn, window, "message.opened")
    clicked = q.message_events_by_step(conn, window, "message.clicked")
    credited = q.last_touch_conversions(conn, window)
    reach = q.reach_by_scenario(conn, window)
    outbox = q.outbox_by_status(conn, window)
    skips = q.skips_by_cause(conn, window)
    unsubscribes = q.unsubscribes_after_messages(conn, window, UNSUBSCRIBE_DAYS * 86400)
    results = []
    for scenario in sorted(plan.scenarios, key=lambda s: s.id):
        sid = scenario.id
        sending = [node for node in scenario.nodes if isinstance(node, SendNode)]
        steps = [_step(sid, node, sends, opened, clicked, credited, outbox, tracked) for node in sending]
        outcomes = overall[sid]
        entered = outcomes.proportion(False).n + outcomes.proportion(True).n
        conversion = outcomes.comparison() if scenario.goals else _no_goal(outcomes)
        seconds = _revenue_seconds(scenario)
        revenue = revenue_comparison(EnrolleeOrders(seconds, q.enrollee_orders(conn, window, sid, seconds)))
        checks = scenario_checks(scenario, outcomes.proportion(False).n, outcomes.proportion(True).n, assigned[sid])
        target = scenario.hypothesis.target if scenario.hypothesis else None
        over_target = (
            EnrolleeOrders(target.within_seconds, q.enrollee_orders(conn, window, sid, target.within_seconds))
            if target is not None and scenario.holdout_percent > 0
            else None
        )
        results.append(
            {
                "id": sid,
                "title": scenario.title,
                "kind": scenario.kind,
                "entered": entered,
                "messaged": outcomes.proportion(False).n,
                "holdout": outcomes.proportion(True).n,
                "conversion": conversion,
                "funnel": _funnel(outcomes, reach.get(sid, {}), tracked),
                "steps": steps,
                "variants": variants.get(sid, []),
                "by_phase": [{"group": g, **o.comparison()} for g, o in sorted(phases[sid].items())],
                "by_segment": [{"group": g, **o.comparison()} for g, o in sorted(by_segment[sid].items())],
                "revenue": revenue,
                "delivery": _delivery(sid, steps, skips, unsubscribes.get(sid, (0, 0))),
                "experiments": checks,
                "warnings": _warnings(scenario, conversion, variants.get(sid, []), revenue, checks),
                "hypothesis": hypothesis_entry(scenario, over_target),
            }
        )
    return results


def _revenue_seconds(scenario: ScenarioPlan) -> int:
    """The goal's window (the longest, with several goals), or 30 days without one."""
    windows = [g.within_seconds for g in scenario.goals if g.within_seconds]
    return max(windows) if windows else DEFAULT_REVENUE_DAYS * 86400


def _delivery(
    sid: str, steps: list[dict[str, Any]], skips: dict[tuple[str, str], int], unsubscribes: tuple[int, int]
) -> dict[str, Any]:
    """Messages decided by outcome: delivered, still pending, failed; skips by cause; the failure rate (of the
    deliveries that finished) and the unsubscribe rate (of the customers sent a message)."""
    delivered = sum(s["delivered"] for s in steps)
    failed = sum(s["failed"] for s in steps)
    pending = sum(s["pending"] for s in steps)
    skipped = {cause: n for (scenario, cause), n in sorted(skips.items()) if scenario == sid}
    reached, unsubscribed = unsubscribes
    return {
        "decided": delivered + failed + pending,
        "delivered": delivered,
        "pending": pending,
        "failed": failed,
        "skipped": sum(n for cause, n in skipped.items() if cause != "holdout"),
        "skipped_by_cause": skipped,
        "failure_rate": rate(delivered + failed, failed),
        "reached": reached,
        "unsubscribed": unsubscribed,
        "unsubscribe_rate": rate(reached, unsubscribed),
        "unsubscribe_days": UNSUBSCRIBE_DAYS,
    }


def _warnings(
    scenario: ScenarioPlan,
    conversion: dict[str, Any],
    variants: list[dict[str, Any]],
    revenue: dict[str, Any],
    checks: list[dict[str, Any]],
) -> list[str]:
    """What keeps this scenario's numbers from supporting a conclusion, each in a sentence."""
    found = [
        f"{'holdout' if c['kind'] == 'holdout' else 'split ' + c['name']}: {c['message']}"
        for c in checks
        if c["mismatch"]
    ]
    if scenario.holdout_percent > 0 and scenario.goals:
        treated, control = conversion["treated"]["converted"], conversion["holdout"]["converted"]
        if too_small(treated, control):
            found.append(
                f"conversion: too small to conclude (messaged {treated:,}, holdout {control:,} conversions; "
                f"fewer than {MIN_CONVERSIONS} in a group)"
            )
        holdout_hits = conversion["holdout"]["converted"]
        for v in variants:
            if too_small(v["converted"], holdout_hits) and not too_small(treated, control):
                found.append(
                    f"variant {v['split']}/{v['variant']}: too small to conclude against the holdout "
                    f"({v['converted']:,} and {holdout_hits:,} conversions; fewer than {MIN_CONVERSIONS})"
                )
    if (
        scenario.holdout_percent > 0
        and revenue["treated"]["n"]
        and too_small(revenue["treated"]["buyers"], revenue["holdout"]["buyers"])
    ):
        found.append(
            f"revenue: too small to conclude (messaged {revenue['treated']['buyers']:,}, holdout "
            f"{revenue['holdout']['buyers']:,} buyers within {revenue['window_days']:g} days; fewer than "
            f"{MIN_CONVERSIONS} in a group)"
        )
    return found


def _step(
    sid: str,
    node: SendNode,
    sends: dict[tuple[str, str], int],
    opened: dict[tuple[str, str], int],
    clicked: dict[tuple[str, str], int],
    credited: dict[tuple[str, str], int],
    outbox: dict[tuple[str, str], dict[str, int]],
    tracked: dict[str, set[str | None]],
) -> dict[str, Any]:
    key = (sid, node.id)
    sent = sends.get(key, 0)
    statuses = outbox.get(key, {})

    def tracks(kind: str) -> bool:
        # No message.opened (clicked) event on this step's channel: the store does not track it; unknown, not 0.
        return node.channel in tracked[kind] or None in tracked[kind]

    opens = opened.get(key, 0) if tracks("message.opened") else None
    clicks = clicked.get(key, 0) if tracks("message.clicked") else None
    return {
        "id": node.id,
        "kind": node.kind,
        "channel": node.channel,
        "sent": sent,
        "delivered": statuses.get("sent", 0),
        "pending": statuses.get("pending", 0) + statuses.get("sending", 0),
        "failed": statuses.get("failed", 0),
        "opened": opens,
        "clicked": clicks,
        "open_rate": rate(sent, opens) if opens is not None else None,
        "click_rate": rate(sent, clicks) if clicks is not None else None,
        "conversions": credited.get(key, 0),
        "conversion_rate": rate(sent, credited.get(key, 0)),
    }


def _funnel(outcomes: _Outcomes, reach: dict[str, int], tracked: dict[str, set[str | None]]) -> list[dict[str, Any]]:
    """Entered → messaged (not in the holdout) → sent at least one message → opened one → clicked one → converted;
    opened and clicked are null when the store does not track them."""
    treated = outcomes.proportion(False)
    stages = [
        ("entered", treated.n + outcomes.proportion(True).n),
        ("messaged", treated.n),
        ("sent", reach.get("sent", 0)),
        ("opened", reach.get("message.opened", 0) if tracked["message.opened"] else None),
        ("clicked", reach.get("message.clicked", 0) if tracked["message.clicked"] else None),
        ("converted", treated.hits),
    ]
    return [{"stage": stage, "count": count} for stage, count in stages]


def _no_goal(outcomes: _Outcomes) -> dict[str, Any]:
    """A scenario without a goal converts nobody by definition: its rates are undefined, not zero."""
    groups = {}
    for name, holdout in (("treated", False), ("holdout", True)):
        groups[name] = {"n": outcomes.proportion(holdout).n, "converted": 0, "rate": None, "ci95": None}
    return {**groups, "uplift": {"points": None, "ci95": None, "relative": None}}
