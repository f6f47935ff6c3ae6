"""The runtime's view of a deployed plan: the typed plan of one deployment, with what the runtime derives from
it once (segment conditions, the business calendar), and its scenario versions."""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ecrm_dsl.conditions.normal import Normal, Types
from ecrm_dsl.language import catalog
from ecrm_dsl.language.business_calendar import BusinessCalendar
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.nodes import Json, Node
from ecrm_dsl.plan.project import Policies, TemplatePlan
from ecrm_dsl.plan.scenario import ScenarioPlan, Trigger

UNRANKED = 10_000  # scenarios missing from the policies' priority list come after the listed ones


@dataclass(frozen=True)
class DeployedPlan:
    """One deployed plan (one deployment)."""

    plan: Plan
    deployment_id: int

    @property
    def policies(self) -> Policies:
        return self.plan.policies

    @property
    def timezone(self) -> str:
        return self.plan.policies.timezone

    @property
    def templates(self) -> dict[str, TemplatePlan]:
        return self.plan.templates

    @cached_property
    def segments(self) -> dict[str, Normal]:
        return {name: segment.condition for name, segment in self.plan.segments.items()}

    @cached_property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.from_plan(self.policies.calendar.to_json())

    def types(self, event: str | None) -> Types:
        """Types of custom attributes, and of ``event.*`` for conditions evaluated against ``event``."""
        schema = self.plan.schema
        properties = schema.events.get(event or "") or catalog.EVENTS.get(event or "", {})
        return Types(schema.attributes, properties)

    @cached_property
    def memo(self) -> dict[Hashable, Any]:
        """What the runtime builds once for this plan and reuses every tick: statements compiled from conditions,
        which depend on the plan's segments, types and timezone as well as the scenario (whose hash does not
        cover them), so they are kept with the plan, not by scenario hash."""
        return {}

    def with_policies(self, policies: Policies) -> DeployedPlan:
        """This deployment's scenarios under other policies (the project's current ones)."""
        return DeployedPlan(dataclasses.replace(self.plan, policies=policies), self.deployment_id)

    def scenarios(self) -> list[ScenarioVersion]:
        return list(self._versions)

    @cached_property
    def _versions(self) -> tuple[ScenarioVersion, ...]:
        return tuple(ScenarioVersion(scenario, self) for scenario in self.plan.scenarios)


@dataclass(frozen=True)
class ScenarioVersion:
    """A scenario as one plan version has it; enrollments run on a version, identified by its hash."""

    scenario: ScenarioPlan
    plan: DeployedPlan = field(repr=False)

    @property
    def id(self) -> str:
        return self.scenario.id

    @property
    def hash(self) -> str:
        return self.scenario.hash

    @property
    def trigger(self) -> Trigger:
        return self.scenario.trigger

    @property
    def entry_event(self) -> str | None:
        return self.scenario.entry_event

    @property
    def rank(self) -> int:
        priority = self.scenario.priority
        return UNRANKED if priority is None else priority

    @cached_property
    def nodes(self) -> dict[str, Node]:
        return {node.id: node for node in self.scenario.nodes}

    @cached_property
    def timings(self) -> dict[str, Json | None]:
        """Each node's timing in the form ``language.timing.due_at`` reads, built once per version."""
        return {node.id: node.timing.to_json() if node.timing is not None else None for node in self.scenario.nodes}

    @property
    def start(self) -> str | None:
        return self.scenario.start

    def entry_types(self) -> Types:
        return self.plan.types(self.entry_event)


def sort_for_priority(versions: list[ScenarioVersion]) -> list[ScenarioVersion]:
    """Highest priority first: when scenarios compete for a customer's day, the earlier one gets the slot."""
    return sorted(versions, key=lambda v: (v.rank, v.id, v.hash))
