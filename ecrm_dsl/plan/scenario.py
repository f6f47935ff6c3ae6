"""A compiled scenario: its trigger, goals, stop rules, re-entry rule, holdout and the graph of its nodes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ecrm_dsl.conditions.normal import Normal
from ecrm_dsl.plan.nodes import Json, Node, node_from_json, node_to_json


@dataclass(frozen=True, slots=True)
class EventTrigger:
    """Entry on an event (``order.placed``), when ``where`` holds."""

    where: Normal | None
    event: str
    type: ClassVar[str] = "event"


@dataclass(frozen=True, slots=True)
class SegmentTrigger:
    """Entry when a customer starts matching a segment."""

    where: Normal | None
    segment: str
    type: ClassVar[str] = "segment"


@dataclass(frozen=True, slots=True)
class DateTrigger:
    """Entry on a date attribute with an offset (``7d before customer.birthday at 09:00``), maybe yearly."""

    where: Normal | None
    attribute: str
    offset_seconds: int
    at: str | None
    yearly: bool
    type: ClassVar[str] = "date"


@dataclass(frozen=True, slots=True)
class ScheduleTrigger:
    """Entry of an audience segment on a cron schedule in the shop's timezone."""

    where: Normal | None
    cron: str
    audience: str
    type: ClassVar[str] = "schedule"


Trigger = EventTrigger | SegmentTrigger | DateTrigger | ScheduleTrigger


def trigger_from_json(obj: Json) -> Trigger:
    kind, where = obj["type"], obj["where"]
    if kind == "event":
        return EventTrigger(where, obj["event"])
    if kind == "segment":
        return SegmentTrigger(where, obj["segment"])
    if kind == "date":
        return DateTrigger(where, obj["attribute"], obj["offset_seconds"], obj["at"], obj["yearly"])
    if kind == "schedule":
        return ScheduleTrigger(where, obj["cron"], obj["audience"])
    raise ValueError(f"unknown trigger type {kind!r}")


def trigger_to_json(trigger: Trigger) -> Json:
    out: Json = {"type": trigger.type, "where": trigger.where}
    if isinstance(trigger, EventTrigger):
        out["event"] = trigger.event
    elif isinstance(trigger, SegmentTrigger):
        out["segment"] = trigger.segment
    elif isinstance(trigger, DateTrigger):
        out.update(attribute=trigger.attribute, offset_seconds=trigger.offset_seconds, at=trigger.at)
        out["yearly"] = trigger.yearly
    else:
        out.update(cron=trigger.cron, audience=trigger.audience)
    return out


@dataclass(frozen=True, slots=True)
class Goal:
    """Success: ``event`` within the window; ``match`` is ``any``, ``repeat`` or ``same`` (keyed by ``property``)."""

    event: str
    match: str
    property: str | None
    within_seconds: int | None
    where: Normal | None

    @classmethod
    def from_json(cls, obj: Json) -> Goal:
        return cls(obj["event"], obj["match"], obj["property"], obj["within_seconds"], obj["where"])

    def to_json(self) -> Json:
        return {
            "event": self.event,
            "match": self.match,
            "property": self.property,
            "within_seconds": self.within_seconds,
            "where": self.where,
        }


@dataclass(frozen=True, slots=True)
class EventStop:
    """Leave (not a success) on an event, keyed to the entry event by ``same`` when set."""

    event: str
    same: str | None
    where: Normal | None


@dataclass(frozen=True, slots=True)
class ConditionStop:
    """Leave as soon as a condition holds."""

    when: Normal


StopRule = EventStop | ConditionStop


def stop_from_json(obj: Json) -> StopRule:
    if "when" in obj:
        return ConditionStop(obj["when"])
    return EventStop(obj["event"], obj["same"], obj["where"])


def stop_to_json(rule: StopRule) -> Json:
    if isinstance(rule, ConditionStop):
        return {"when": rule.when}
    return {"event": rule.event, "same": rule.same, "where": rule.where}


@dataclass(frozen=True, slots=True)
class Reentry:
    """``never``, ``always``, or ``cooldown`` (``cooldown_seconds`` after the last enrollment ended)."""

    mode: str
    cooldown_seconds: int | None


@dataclass(frozen=True, slots=True)
class Target:
    """How far the messaged should beat the holdout on the KPI: ``amount`` in ``unit`` (pt, 円 or %), measured
    over ``within_seconds`` after entry."""

    amount: int | float
    unit: str
    within_seconds: int

    def to_json(self) -> Json:
        return {"amount": self.amount, "unit": self.unit, "within_seconds": self.within_seconds}


@dataclass(frozen=True, slots=True)
class Hypothesis:
    kpi: str
    statement: str
    target: Target | None = None

    @classmethod
    def from_json(cls, obj: Json) -> Hypothesis:
        target = obj.get("target")
        return cls(
            obj["kpi"],
            obj["statement"],
            Target(target["amount"], target["unit"], target["within_seconds"]) if target else None,
        )

    def to_json(self) -> Json:
        # A hypothesis without a target has no "target" key: plans (and their hashes) from before targets stay.
        body: Json = {"kpi": self.kpi, "statement": self.statement}
        if self.target is not None:
            body["target"] = self.target.to_json()
        return body


@dataclass(frozen=True, slots=True)
class ScenarioPlan:
    """One scenario version. ``hash`` covers its content: enrollments and deliveries record it."""

    id: str
    title: str
    kind: str
    owner: str | None
    description: str | None
    hypothesis: Hypothesis | None
    trigger: Trigger
    goals: tuple[Goal, ...]
    stop: tuple[StopRule, ...]
    reentry: Reentry
    holdout_percent: int
    backfill_seconds: int | None
    priority: int | None
    start: str | None
    nodes: tuple[Node, ...]
    hash: str

    @classmethod
    def from_json(cls, obj: Json) -> ScenarioPlan:
        hypothesis = obj["hypothesis"]
        return cls(
            id=obj["id"],
            title=obj["title"],
            kind=obj["kind"],
            owner=obj["owner"],
            description=obj["description"],
            hypothesis=Hypothesis.from_json(hypothesis) if hypothesis is not None else None,
            trigger=trigger_from_json(obj["trigger"]),
            goals=tuple(Goal.from_json(g) for g in obj["goals"]),
            stop=tuple(stop_from_json(s) for s in obj["stop"]),
            reentry=Reentry(obj["reentry"]["mode"], obj["reentry"]["cooldown_seconds"]),
            holdout_percent=obj["holdout_percent"],
            backfill_seconds=obj["backfill_seconds"],
            priority=obj["priority"],
            start=obj["start"],
            nodes=tuple(node_from_json(n) for n in obj["nodes"]),
            hash=obj["hash"],
        )

    def to_json(self) -> Json:
        hypothesis = self.hypothesis
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "owner": self.owner,
            "description": self.description,
            "hypothesis": hypothesis.to_json() if hypothesis else None,
            "trigger": trigger_to_json(self.trigger),
            "goals": [g.to_json() for g in self.goals],
            "stop": [stop_to_json(s) for s in self.stop],
            "reentry": {"mode": self.reentry.mode, "cooldown_seconds": self.reentry.cooldown_seconds},
            "holdout_percent": self.holdout_percent,
            "backfill_seconds": self.backfill_seconds,
            "priority": self.priority,
            "start": self.start,
            "nodes": [node_to_json(n) for n in self.nodes],
            "hash": self.hash,
        }

    @property
    def entry_event(self) -> str | None:
        """The event that enrolls customers, for a scenario with an event trigger."""
        return self.trigger.event if isinstance(self.trigger, EventTrigger) else None
