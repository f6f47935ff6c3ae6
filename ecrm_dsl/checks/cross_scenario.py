"""Checks across scenarios: too many messages on one day, sell scenarios aimed at nurture-only customers, and
coupons that collide.

Two scenarios can only be compared when the same trigger enters a customer into both (the same event, segment,
schedule or date); their audiences must also be able to overlap: entry conditions (with the schedule's
audience, and segments spelled out) that contradict each other, such as first orders against repeat orders or
disjoint ``in [...]`` lists, keep them apart. Days count from entry, as far as the timing says: a step after a
wait for an event, or timed from an order date, has no fixed day and is left out rather than guessed.

Scenarios are compared within their trigger's group only, and within a group only with those whose audience
may share a pinned value (``customer.rank == "gold"``, ``customer.cell in [1, 2]``), so a large project of
scenarios on one trigger with split audiences is not compared pair by pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ecrm_dsl.checks.satisfiable import Audience, Key, audience, can_overlap
from ecrm_dsl.checks.scope import Scope
from ecrm_dsl.language import ast
from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.language.i18n import n_, tr
from ecrm_dsl.project.presets import rehome
from ecrm_dsl.project.workspace import Workspace

COUPON_DAYS = 7  # two coupons within a week of each other compete (and teach customers to wait for the next)
DAY = 86400


@dataclass(frozen=True)
class PlannedSend:
    day: int  # whole days after entry
    channel: str
    step: ast.Step
    coupon: bool


def check_across_scenarios(ws: Workspace) -> list[Diagnostic]:
    findings: list[Diagnostic] = []
    protected = set(ws.policies.nurture_only)
    for scenario in ws.scenarios:
        if scenario.kind == "sell" and protected:
            _nurture_only(scenario, protected, findings)
    by_trigger: dict[tuple[str, ...], list[ast.Scenario]] = {}
    for scenario in sorted(ws.scenarios, key=lambda s: s.id):
        by_trigger.setdefault(_trigger_key(scenario.trigger), []).append(scenario)
    segments = {name: segment.condition for name, segment in ws.segments.items()}
    for group in by_trigger.values():
        if len(group) < 2:
            continue
        plans = [_planned_sends(s, ws) for s in group]
        audiences = [audience(_entry_conditions(s), segments) for s in group]
        scope = _entry_scope(ws, group[0])
        for i, j in _candidate_pairs(audiences):
            first, second = group[i], group[j]
            found: list[Diagnostic] = []
            _caps(ws, first, second, plans[i], plans[j], found)
            _coupons(first, second, plans[i], plans[j], found)
            if not found or not can_overlap(audiences[i], audiences[j], scope):
                continue
            # Findings land on the second scenario's step; one made from a preset reports at its use.
            findings += [rehome(d, second.origin) for d in found] if second.origin else found
    return findings


def _trigger_key(trigger: ast.Trigger) -> tuple[str, ...]:
    if isinstance(trigger, ast.EventTrigger):
        return ("event", trigger.event)
    if isinstance(trigger, ast.SegmentTrigger):
        return ("segment", trigger.segment)
    if isinstance(trigger, ast.ScheduleTrigger):
        return ("schedule", " ".join(trigger.cron.split()))
    return ("date", trigger.attribute, str(trigger.offset.seconds), str(trigger.at), str(trigger.yearly))


def _entry_conditions(scenario: ast.Scenario) -> list[ast.Expr]:
    """Who a scenario enters: its entry condition, and the segment a segment or schedule trigger draws from."""
    trigger = scenario.trigger
    conditions = [trigger.where] if trigger.where is not None else []
    drawn_from = trigger.segment if isinstance(trigger, ast.SegmentTrigger) else None
    if isinstance(trigger, ast.ScheduleTrigger):
        drawn_from = trigger.audience
    if drawn_from is not None:
        conditions.append(ast.Call("in_segment", (ast.Ref((drawn_from,)),)))
    return conditions


def _entry_scope(ws: Workspace, scenario: ast.Scenario) -> Scope:
    """The scope of entry conditions on this trigger (the same for every scenario of a trigger group)."""
    entry = scenario.trigger.event if isinstance(scenario.trigger, ast.EventTrigger) else None
    return Scope(
        ws.schema,
        frozenset(ws.segments),
        entry,
        n_("entry event"),
        False,
        n_("entry condition"),
        in_order_trigger=entry == "order.placed",
    )


def _candidate_pairs(audiences: list[Audience]) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose audiences are not already kept apart by the name most of them pin."""
    counts: dict[Key, int] = {}
    for found in audiences:
        for key in found.pins:
            counts[key] = counts.get(key, 0) + 1
    n = len(audiences)
    if not counts:
        return [(i, j) for i in range(n) for j in range(i + 1, n)]
    key = max(sorted(counts, key=repr), key=lambda k: counts[k])
    holders: dict[object, list[int]] = {}
    unpinned: list[int] = []
    for index, found in enumerate(audiences):
        values = found.pinned(key)
        if values is None:
            unpinned.append(index)
        for value in values or ():
            holders.setdefault(value, []).append(index)
    pairs: set[tuple[int, int]] = set()
    for index, found in enumerate(audiences):
        values = found.pinned(key)
        partners = range(n) if values is None else unpinned + [i for v in values for i in holders[v]]
        pairs.update((min(index, other), max(index, other)) for other in partners if other != index)
    return sorted(pairs)


# ------------------------------------------------------------------ when each scenario sends


def _planned_sends(scenario: ast.Scenario, ws: Workspace) -> list[PlannedSend]:
    sends: list[PlannedSend] = []
    _walk(scenario.steps, 0, ws, sends)
    return sends


def _walk(steps: tuple[ast.Step, ...], elapsed: int | None, ws: Workspace, sends: list[PlannedSend]) -> int | None:
    """Collect marketing sends with their day after entry; returns the elapsed seconds after the list."""
    for step in steps:
        elapsed = _after(step.delay, elapsed)
        action = step.action
        if isinstance(action, ast.Send) and elapsed is not None:
            template = ws.templates.get(action.template)
            if template is not None and template.marketing:
                coupon = "coupon" in action.template or any("coupon" in p.name for p in action.params)
                sends.append(PlannedSend(elapsed // DAY, action.channel, step, coupon))
        nested = ast.child_step_lists(action)
        if nested:
            # Only one arm runs for a customer: keep the busiest arm's sends (the worst case for caps and coupons).
            arms = []
            for arm in nested:
                arm_sends: list[PlannedSend] = []
                arms.append((_walk(arm, elapsed, ws, arm_sends), arm_sends))
            sends.extend(max(arms, key=lambda pair: (len(pair[1]), sum(s.coupon for s in pair[1])))[1])
            ends = {end for end, _ in arms}
            if isinstance(action, ast.Wait) and action.event is not None:
                ends = {None}  # the event may come at any moment before the timeout
            elapsed = ends.pop() if len(ends) == 1 else None
    return elapsed


def _after(timing: ast.Timing | None, elapsed: int | None) -> int | None:
    if timing is None:
        return elapsed
    if timing.business_days is not None or timing.until_time is not None or timing.until_weekday is not None:
        return None
    if timing.anchor == "entry":
        return max(timing.offset.seconds, 0)
    if timing.anchor == "previous" and elapsed is not None:
        return elapsed + max(timing.offset.seconds, 0)
    return None


# ------------------------------------------------------------------ the rules


def _caps(
    ws: Workspace,
    first: ast.Scenario,
    second: ast.Scenario,
    a: list[PlannedSend],
    b: list[PlannedSend],
    findings: list[Diagnostic],
) -> None:
    for cap in ws.policies.frequency_caps:
        days = math.ceil(cap.per.seconds / DAY)
        if cap.per.seconds < DAY:
            continue  # the plan's day resolution cannot judge caps shorter than a day
        in_b = {id(s) for s in b}
        counted = [s for s in a + b if cap.channel in ("all", s.channel)]
        for start in sorted({s.day for s in counted}):
            window = [s for s in counted if start <= s.day < start + days]
            from_b = sum(1 for s in window if id(s) in in_b)
            if len(window) > cap.max >= max(from_b, len(window) - from_b):
                late = max((s for s in window if id(s) in in_b), key=lambda s: s.day)
                fields = {
                    "first": first.id,
                    "second": second.id,
                    "count": len(window),
                    "start": start,
                    "max": cap.max,
                    "per": cap.per,
                    "channel": cap.channel,
                }
                message = (
                    tr(
                        "'{first}' and '{second}' enter on the same trigger and can send one customer {count} "
                        "messages within the same day (from day {start}); the cap is {max} per {per} on {channel}",
                        **fields,
                    )
                    if days == 1
                    else tr(
                        "'{first}' and '{second}' enter on the same trigger and can send one customer {count} "
                        "messages within {days} days (from day {start}); the cap is {max} per {per} on {channel}",
                        days=days,
                        **fields,
                    )
                )
                findings.append(
                    Diagnostic(
                        "W511",
                        message,
                        late.step.span,
                        hint=tr(
                            "the runtime will defer or skip the lower-priority messages; space the steps, split the "
                            "audiences, or set the scenarios' priority"
                        ),
                    )
                )
                return


def _coupons(
    first: ast.Scenario, second: ast.Scenario, a: list[PlannedSend], b: list[PlannedSend], findings: list[Diagnostic]
) -> None:
    for x in (s for s in a if s.coupon):
        for y in (s for s in b if s.coupon):
            if abs(x.day - y.day) <= COUPON_DAYS:
                findings.append(
                    Diagnostic(
                        "W513",
                        tr(
                            "coupons overlap: '{first}' sends {first_step} on day {first_day} and '{second}' sends "
                            "{second_step} on day {second_day} after the same trigger",
                            first=first.id,
                            first_step=x.step.id,
                            first_day=x.day,
                            second=second.id,
                            second_step=y.step.id,
                            second_day=y.day,
                        ),
                        y.step.span,
                        hint=tr(
                            "customers who get two offers use the bigger one and learn to wait; keep one coupon per "
                            "entry or split the audiences"
                        ),
                    )
                )
                return


def _nurture_only(scenario: ast.Scenario, protected: set[str], findings: list[Diagnostic]) -> None:
    trigger = scenario.trigger
    targeted = set()
    if isinstance(trigger, ast.SegmentTrigger) and trigger.segment in protected:
        targeted.add(trigger.segment)
    if isinstance(trigger, ast.ScheduleTrigger) and trigger.audience in protected:
        targeted.add(trigger.audience)
    targeted |= _positive_segments(trigger.where) & protected
    for segment in sorted(targeted):
        findings.append(
            Diagnostic(
                "E512",
                tr(
                    "sell scenario '{scenario}' targets segment '{segment}', which the policies reserve for nurture "
                    "scenarios (nurture_only)",
                    scenario=scenario.id,
                    segment=segment,
                ),
                trigger.span,
                hint=tr("make it a nurture scenario (stories, after-care, no offers), or target another segment"),
            )
        )


def _positive_segments(expr: ast.Expr | None, negated: bool = False) -> set[str]:
    """Segments an entry condition requires (in_segment(x) not under a 'not')."""
    if expr is None:
        return set()
    if isinstance(expr, ast.Not):
        return _positive_segments(expr.operand, not negated)
    if isinstance(expr, (ast.And, ast.Or)):
        return set().union(*(_positive_segments(item, negated) for item in expr.items))
    if isinstance(expr, ast.Call) and expr.name == "in_segment" and not negated and expr.args:
        arg = expr.args[0]
        return {arg.dotted} if isinstance(arg, ast.Ref) else set()
    return set()
