"""The whole execution plan as typed records: what the compiler produces and the runtime reads.

``Plan.from_json`` expects JSON of the shape ``plan.schema.json`` describes (``load_plan`` checks that first);
``to_json`` gives that JSON back exactly, so ``canonical_json(plan.to_json())`` are the plan's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecrm_dsl.plan.nodes import Json
from ecrm_dsl.plan.project import Policies, SchemaAdditions, SegmentPlan, TemplatePlan
from ecrm_dsl.plan.scenario import ScenarioPlan


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled project: scenarios (by id order) and the policies, segments, templates and customer-schema
    additions they use. ``format`` and ``version`` name the contract (see :mod:`ecrm_dsl.plan.document`)."""

    format: str
    version: int
    schema: SchemaAdditions
    policies: Policies
    segments: dict[str, SegmentPlan]
    templates: dict[str, TemplatePlan]
    scenarios: tuple[ScenarioPlan, ...]

    @classmethod
    def from_json(cls, obj: Json) -> Plan:
        return cls(
            format=obj["format"],
            version=obj["version"],
            schema=SchemaAdditions.from_json(obj["schema"]),
            policies=Policies.from_json(obj["policies"]),
            segments={name: SegmentPlan.from_json(s) for name, s in obj["segments"].items()},
            templates={name: TemplatePlan.from_json(t) for name, t in obj["templates"].items()},
            scenarios=tuple(ScenarioPlan.from_json(s) for s in obj["scenarios"]),
        )

    def to_json(self) -> Json:
        return {
            "format": self.format,
            "version": self.version,
            "schema": self.schema.to_json(),
            "policies": self.policies.to_json(),
            "segments": {name: s.to_json() for name, s in self.segments.items()},
            "templates": {name: t.to_json() for name, t in self.templates.items()},
            "scenarios": [s.to_json() for s in self.scenarios],
        }

    @property
    def timezone(self) -> str:
        return self.policies.timezone

    def scenario(self, scenario_id: str) -> ScenarioPlan | None:
        return next((s for s in self.scenarios if s.id == scenario_id), None)
