"""The runtime's view of a compiled plan: scenario versions with their nodes, templates, segments and policies."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ecrm_dsl.conditions.normal import Normal, Types
from ecrm_dsl.language import catalog
from ecrm_dsl.language.business_calendar import BusinessCalendar

Json = dict[str, Any]
UNRANKED = 10_000  # scenarios missing from the policies' priority list come after the listed ones


@dataclass(frozen=True)
class Plan:
    """One deployed plan (one deployment)."""

    data: Json
    deployment_id: int

    @property
    def policies(self) -> Json:
        return self.data["policies"]

    @property
    def timezone(self) -> str:
        return str(self.policies["timezone"])

    @property
    def templates(self) -> dict[str, Json]:
        return self.data["templates"]

    @cached_property
    def segments(self) -> dict[str, Normal]:
        return {name: seg["condition"] for name, seg in self.data["segments"].items()}

    @cached_property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.from_plan(self.policies["calendar"])

    def types(self, event: str | None) -> Types:
        """Types of custom attributes, and of ``event.*`` for conditions evaluated against ``event``."""
        schema = self.data.get("schema", {"attributes": {}, "events": {}})
        properties = schema["events"].get(event) or catalog.EVENTS.get(event or "", {})
        return Types(schema["attributes"], properties)

    def scenarios(self) -> list[ScenarioVersion]:
        return [ScenarioVersion(body, self) for body in self.data["scenarios"]]


@dataclass(frozen=True)
class ScenarioVersion:
    """A scenario as one plan version has it; enrollments run on a version, identified by its hash."""

    body: Json
    plan: Plan = field(repr=False)

    @property
    def id(self) -> str:
        return str(self.body["id"])

    @property
    def hash(self) -> str:
        return str(self.body["hash"])

    @property
    def trigger(self) -> Json:
        return self.body["trigger"]

    @property
    def entry_event(self) -> str | None:
        return self.trigger.get("event") if self.trigger["type"] == "event" else None

    @property
    def rank(self) -> int:
        priority = self.body.get("priority")
        return UNRANKED if priority is None else int(priority)

    @cached_property
    def nodes(self) -> dict[str, Json]:
        return {node["id"]: node for node in self.body["nodes"]}

    @property
    def start(self) -> str | None:
        return self.body.get("start")

    def entry_types(self) -> Types:
        return self.plan.types(self.entry_event)


def sort_for_priority(versions: list[ScenarioVersion]) -> list[ScenarioVersion]:
    """Highest priority first: when scenarios compete for a customer's day, the earlier one gets the slot."""
    return sorted(versions, key=lambda v: (v.rank, v.id, v.hash))
