"""Why a customer is not in a deployed scenario: the trigger never fired for them, or which part of the entry
condition (or segment, or audience) was false, with the values it read, or a re-entry rule refused them.

The conditions are judged again in Python (the reference semantics the SQL agrees with), as of the moment the
runtime judged them: an event trigger's condition at each event's time, a segment or audience at the last tick.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from ecrm_dsl.conditions.evaluate import (
    CustomerSnapshot,
    EnrollmentSnapshot,
    EventSnapshot,
    evaluate,
    value_of,
)
from ecrm_dsl.conditions.normal import ConditionError, Normal, Types
from ecrm_dsl.language.i18n import tr, trn
from ecrm_dsl.plan import text
from ecrm_dsl.plan.scenario import DateTrigger, EventTrigger, ScheduleTrigger, SegmentTrigger, trigger_to_json
from ecrm_dsl.runtime.model import ScenarioVersion
from ecrm_dsl.runtime.reason_text import reason_text
from ecrm_dsl.store import explain_queries, triggers

_SHOWN_CALLS = (
    "count",
    "days_since",
    "opens",
    "clicks",
    "sends",
    "purchases",
    "units_bought",
    "spent_on",
)  # calls whose value is worth showing; opened() and the like say it all


class Reasons:
    """Explains absences for one customer, reading the store once."""

    def __init__(self, conn: Connection, customer: CustomerSnapshot, decisions: Sequence[dict[str, Any]]):
        self.conn = conn
        self.customer = customer
        self.decisions = decisions
        self.enrollments = explain_queries.customer_enrollments(conn, customer.id)
        self.members = explain_queries.member_since(conn, customer.id)

    def lines(self, versions: Sequence[ScenarioVersion]) -> list[str]:
        """One line per deployed scenario the customer never entered or was last held out of, by scenario id."""
        found = []
        for version in sorted(versions, key=lambda v: v.id):
            reason = self.reason(version)
            if reason is not None:
                found.append(f"  {version.id}: {reason}")
        return found

    def reason(self, version: ScenarioVersion) -> str | None:
        mine = [e for e in self.enrollments if e["scenario_id"] == version.id]
        if mine:  # they were in it; the timeline says how it went, but the holdout is easy to miss there
            return tr("in the holdout group: measured, never messaged") if mine[-1]["holdout"] else None
        refused = [d for d in self.decisions if d["scenario_id"] == version.id and d["kind"] == "not_entered"]
        if refused:
            return tr(
                "not entered at {time}: {reason}",
                time=self.when(refused[-1]["at"], version),
                reason=reason_text(refused[-1]["reason"]),
            )
        started, watermark = triggers.started(self.conn, version.id), triggers.watermark(self.conn, version.id)
        if started is None or watermark is None:
            return tr("no tick has run since the scenario was deployed")
        try:
            return self._trigger(version, started, watermark)
        except ConditionError as exc:  # a condition this customer's data cannot be judged on
            return tr("cannot judge the entry condition for them: {error}", error=exc)

    def _trigger(self, version: ScenarioVersion, started: datetime, watermark: datetime) -> str:
        trigger = version.trigger
        if isinstance(trigger, EventTrigger):
            return self._event(version, trigger, started, watermark)
        if isinstance(trigger, SegmentTrigger):
            return self._segment(version, trigger, watermark)
        if isinstance(trigger, DateTrigger):
            return self._date(version, trigger, started, watermark)
        return self._schedule(version, trigger, started, watermark)

    # ---- per kind of trigger

    def _event(self, version: ScenarioVersion, trigger: EventTrigger, started: datetime, watermark: datetime) -> str:
        events = sorted((e for e in self.customer.events if e.type == trigger.event), key=lambda e: e.occurred_at)
        counted = [e for e in events if started <= e.occurred_at <= watermark]
        if not counted:
            if not events:
                return tr("the trigger never fired for them: no {event} event", event=trigger.event)
            notes = []
            earlier = sum(1 for e in events if e.occurred_at < started)
            later = sum(1 for e in events if e.occurred_at > watermark)
            if earlier:
                notes.append(
                    trn(
                        "{count} {event} event before the scenario started counting at {time}",
                        "{count} {event} events before the scenario started counting at {time}",
                        earlier,
                        count=earlier,
                        event=trigger.event,
                        time=self.when(started, version),
                    )
                )
            if later:
                notes.append(
                    trn(
                        "{count} {event} event after the last tick ({time})",
                        "{count} {event} events after the last tick ({time})",
                        later,
                        count=later,
                        event=trigger.event,
                        time=self.when(watermark, version),
                    )
                )
            return tr("the trigger never fired for them: {notes}", notes="; ".join(notes))
        if trigger.where is None:
            return tr(
                "their {event} at {time} is waiting to be entered",
                event=trigger.event,
                time=self.when(counted[-1].occurred_at, version),
            )
        event = counted[-1]
        snapshot = replace(self.customer, enrollment=self._entry(version, event))
        judge = self._judge(version, snapshot, event.occurred_at, version.entry_types())
        fields = {"event": trigger.event, "time": self.when(event.occurred_at, version)}
        if judge.holds(trigger.where):
            return tr("their {event} at {time} meets the entry condition, but no entry is recorded for it", **fields)
        parts = "; ".join(judge.false_parts(trigger.where))
        if len(counted) > 1:
            return tr(
                "the entry condition was false for their {event} at {time} (the latest of {count}): {parts}",
                count=len(counted),
                parts=parts,
                **fields,
            )
        return tr("the entry condition was false for their {event} at {time}: {parts}", parts=parts, **fields)

    def _segment(self, version: ScenarioVersion, trigger: SegmentTrigger, watermark: datetime) -> str:
        condition = _both(version.plan.segments[trigger.segment], trigger.where)
        judge = self._judge(version, self.customer, watermark, version.plan.types(None))
        if not judge.holds(condition):
            return tr(
                "not in segment {segment} at the last tick ({time}): {parts}",
                segment=trigger.segment,
                time=self.when(watermark, version),
                parts="; ".join(judge.false_parts(condition)),
            )
        since = self.members.get(version.id)
        if since is not None:
            return tr(
                "has matched segment {segment} since the first check ({time}), which only records who already "
                "matches; the scenario enters customers who start matching it",
                segment=trigger.segment,
                time=self.when(since, version),
            )
        return tr("matches segment {segment} now: the next check enters them", segment=trigger.segment)

    def _date(self, version: ScenarioVersion, trigger: DateTrigger, started: datetime, watermark: datetime) -> str:
        judge = self._judge(version, self.customer, watermark, version.plan.types(None))
        attribute = ["attr", trigger.attribute]
        if judge.value(attribute) is None:
            return tr("customer.{attribute} is not set", attribute=trigger.attribute)
        if trigger.where is not None and not judge.holds(trigger.where):
            return tr("the entry condition is false: {parts}", parts="; ".join(judge.false_parts(trigger.where)))
        rule = text.trigger(trigger_to_json(trigger), with_where=False)
        return tr(
            "{value}: the trigger ({rule}) has not fired for it since the scenario started counting at {time}",
            value=judge.shown(attribute),
            rule=rule,
            time=self.when(started, version),
        )

    def _schedule(
        self, version: ScenarioVersion, trigger: ScheduleTrigger, started: datetime, watermark: datetime
    ) -> str:
        condition = _both(version.plan.segments[trigger.audience], trigger.where)
        judge = self._judge(version, self.customer, watermark, version.plan.types(None))
        if not judge.holds(condition):
            return tr(
                "not in audience {audience} at the last tick ({time}): {parts}",
                audience=trigger.audience,
                time=self.when(watermark, version),
                parts="; ".join(judge.false_parts(condition)),
            )
        fires = _fires(trigger.cron, started, watermark, version.plan.timezone)
        schedule = json.dumps(trigger.cron)
        if not fires:
            return tr(
                "in audience {audience}: the schedule {schedule} has not fired since the scenario started counting "
                "at {time}",
                audience=trigger.audience,
                schedule=schedule,
                time=self.when(started, version),
            )
        signed_up = self.customer.fields.get("signed_up_at")
        if isinstance(signed_up, datetime) and signed_up > fires[-1]:
            return tr(
                "signed up at {signed_up}, after the schedule {schedule} last fired ({time}); they are in audience "
                "{audience} for its next fire",
                signed_up=self.when(signed_up, version),
                schedule=schedule,
                time=self.when(fires[-1], version),
                audience=trigger.audience,
            )
        at_fire = self._judge(version, self.customer, fires[-1], version.plan.types(None))
        if not at_fire.holds(condition):
            return tr(
                "not in audience {audience} when the schedule last fired ({time}): {parts}",
                audience=trigger.audience,
                time=self.when(fires[-1], version),
                parts="; ".join(at_fire.false_parts(condition)),
            )
        return tr(
            "in audience {audience} when the schedule last fired ({time}), but not entered: see the timeline's "
            "decisions for the re-entry rule",
            audience=trigger.audience,
            time=self.when(fires[-1], version),
        )

    # ---- helpers

    def _entry(self, version: ScenarioVersion, event: EventSnapshot) -> EnrollmentSnapshot:
        order_id = (event.properties or {}).get("order_id")
        order = next((o for o in self.customer.orders if o.id == order_id), None)
        return EnrollmentSnapshot(0, version.id, event.occurred_at, event, order)

    def _judge(self, version: ScenarioVersion, snapshot: CustomerSnapshot, now: datetime, types: Types) -> Judge:
        return Judge(snapshot, now, version.plan.timezone, version.plan.segments, types)

    @staticmethod
    def when(moment: datetime, version: ScenarioVersion) -> str:
        return moment.astimezone(ZoneInfo(version.plan.timezone)).strftime("%Y-%m-%d %H:%M")


class Judge:
    """A condition judged for one customer at one moment, part by part, with the values it read."""

    def __init__(
        self,
        customer: CustomerSnapshot,
        now: datetime,
        timezone: str,
        segments: dict[str, Normal],
        types: Types,
    ):
        self.customer, self.now, self.timezone, self.segments, self.types = customer, now, timezone, segments, types

    def holds(self, condition: Normal) -> bool:
        return evaluate(
            condition, self.customer, now=self.now, timezone=self.timezone, segments=self.segments, types=self.types
        )

    def false_parts(self, condition: Normal) -> list[str]:
        """Each false part of a condition that is false: conjunctions are opened, anything else said whole."""
        if condition[0] == "and":
            return [part for child in condition[1:] if not self.holds(child) for part in self.false_parts(child)]
        shown = [self.shown(node) for node in _value_nodes(condition)]
        if shown:
            line = tr("`{condition}` was false: {values}", condition=text.condition(condition), values=", ".join(shown))
        else:
            line = tr("`{condition}` was false", condition=text.condition(condition))
        if condition[0] == "call" and condition[1] == "in_segment":
            segment = self.segments.get(condition[2][1])
            if segment is not None:
                parts = "; ".join(self.false_parts(segment))
                line += " " + tr("(segment {segment}: {parts})", segment=condition[2][1], parts=parts)
        return [line]

    def value(self, node: Normal) -> Any:
        try:
            return value_of(node, self.customer, now=self.now, timezone=self.timezone, types=self.types)
        except ConditionError:
            return None

    def shown(self, node: Normal) -> str:
        """``customer.order_count is 3``, in the words of the text syntax and the shop's time."""
        raw = self.value(node)
        try:
            type_ = self.types.of(node)
        except ConditionError:
            type_ = None
        return tr("{name} is {value}", name=text.value(node), value=_format(raw, type_, self.timezone))


def _value_nodes(condition: Normal) -> list[Normal]:
    """The names and function values a condition reads, each once, in order."""
    found: list[Normal] = []

    def walk(node: Any) -> None:
        if not isinstance(node, list) or not node or not isinstance(node[0], str):
            if isinstance(node, list):
                for item in node:
                    walk(item)
            return
        tag = node[0]
        if tag in ("attr", "metric", "event"):
            picked: Normal | None = node
        elif tag == "call" and node[1] in _SHOWN_CALLS:
            picked = node
        elif tag == "call" and node[1] == "has_tag":
            picked = ["attr", "tags"]
        elif tag == "call" and node[1] == "contains":
            picked = node[2]
        else:
            picked = None
            if tag not in ("lit", "name", "call"):
                for child in node[1:]:
                    walk(child)
        if picked is not None and picked not in found:
            found.append(picked)

    walk(condition)
    return found


def _format(raw: Any, type_: str | None, timezone: str) -> str:
    if raw is None:
        return tr("not set")
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if type_ == "money":
        return f"{raw}円"
    if isinstance(raw, datetime):
        return raw.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, str | list):
        return json.dumps(raw, ensure_ascii=False)
    return str(raw)


def _both(first: Normal, where: Normal | None) -> Normal:
    return ["and", first, where] if where is not None else first


def _fires(cron: str, after: datetime, until: datetime, timezone: str) -> list[datetime]:
    """The schedule's fire times in (after, until], as the scheduler counts them (in the shop's timezone)."""
    from croniter import croniter  # type: ignore[import-untyped]  # only explain needs it here

    zone = ZoneInfo(timezone)
    found: list[datetime] = []
    moments = croniter(cron, after.astimezone(zone))
    while (moment := moments.get_next(datetime)) <= until and len(found) < 10_000:
        found.append(moment)
    return found
