"""Compilation: a checked workspace becomes an execution plan — each scenario a graph of nodes.

Nodes keep the planner's stable step ids. Every node says what runs after it (``next``); branches, splits and
waits for events point into their arms, and an arm's end joins the step after the block. ``next: null`` ends
the enrollment as completed. Conditions are stored in the normalised form the runtime evaluates in bulk (SQL)
and per customer (Python). Positions are kept out of the plan (in a separate source map) so that a YAML file
and its text twin give byte-identical plans.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecrm_dsl.conditions.normal import normalise
from ecrm_dsl.language import ast, catalog, visit
from ecrm_dsl.plan import lower
from ecrm_dsl.plan.document import PLAN_FORMAT, PLAN_VERSION, content_hash
from ecrm_dsl.project.resources import CustomerSchema, Policies, Segment, Template
from ecrm_dsl.project.workspace import Workspace

Json = dict[str, Any]


def compile_workspace(ws: Workspace) -> tuple[Json, Json]:
    """The plan and its source map. The workspace must be free of errors."""
    priority = {sid: rank for rank, sid in enumerate(ws.policies.priority)}
    scenarios = sorted(ws.scenarios, key=lambda s: s.id)
    source_map: Json = {"format": "ecrm-plan-sourcemap", "version": PLAN_VERSION, "scenarios": {}}
    compiled = []
    used_segments: set[str] = set()
    used_templates: set[str] = set()
    for scenario in scenarios:
        entry, smap = compile_scenario(scenario, priority.get(scenario.id))
        compiled.append(entry)
        source_map["scenarios"][scenario.id] = smap
        used_segments |= visit.segments_read(scenario)
        used_templates |= visit.templates_sent(scenario)
    # The runtime needs the nurture-only segments too: sell scenarios never message their members.
    used_segments = _with_dependencies(used_segments | set(ws.policies.nurture_only), ws.segments)
    segments = {name: _segment(ws.segments[name]) for name in sorted(used_segments)}
    templates = {name: _template(ws.templates[name]) for name in sorted(used_templates) if name in ws.templates}
    source_map["segments"] = {name: str(ws.segments[name].span) for name in sorted(used_segments)}
    source_map["templates"] = {name: str(ws.templates[name].span) for name in sorted(templates)}
    plan = {
        "format": PLAN_FORMAT,
        "version": PLAN_VERSION,
        "schema": _schema(ws.schema),
        "policies": _policies(ws.policies),
        "segments": segments,
        "templates": templates,
        "scenarios": compiled,
    }
    return plan, source_map


def compile_scenario(scenario: ast.Scenario, priority: int | None = None) -> tuple[Json, Json]:
    lowering = _Lowering()
    lowering.steps(scenario.steps, None)
    nodes, sources = lowering.nodes, lowering.sources
    body: Json = {
        "id": scenario.id,
        "title": scenario.title,
        "kind": scenario.kind,
        "owner": scenario.owner,
        "description": scenario.description,
        "hypothesis": lower.hypothesis(scenario.hypothesis) if scenario.hypothesis else None,
        "trigger": lower.trigger(scenario.trigger),
        "goals": [lower.goal(g) for g in scenario.goals],
        "stop": [lower.stop(e) for e in scenario.exits],
        "reentry": lower.reentry(scenario.reentry),
        "holdout_percent": scenario.holdout,
        "backfill_seconds": scenario.backfill.seconds if scenario.backfill else None,
        "priority": priority,
        "start": nodes[0]["id"] if nodes else None,
        "nodes": nodes,
    }
    body["hash"] = content_hash(body)
    smap = {"file": scenario.span.file, "line": scenario.span.line, "nodes": sources}
    return body, smap


class _Lowering:
    """Flattens a scenario's step tree into plan nodes; each action kind has its own ``lower_<Kind>`` method."""

    def __init__(self) -> None:
        self.nodes: list[Json] = []
        self.sources: Json = {}

    def steps(self, steps: tuple[ast.Step, ...], join: str | None) -> str | None:
        """Append the nodes of ``steps``; each continues to the next, the last to ``join``. Returns the first id."""
        for index, step in enumerate(steps):
            following = steps[index + 1].id if index + 1 < len(steps) else join
            node: Json = {
                "id": step.id,
                "kind": step.kind,
                "timing": lower.timing(step.delay),
                "guard": lower.cond(step.guard),
            }
            self.sources[step.id] = f"{step.span.file}:{step.span.line}:{step.span.column}"
            self.nodes.append(node)
            method: Callable[[Any, Json, str | None], None] = getattr(self, "lower_" + type(step.action).__name__)
            method(step.action, node, following)
        return steps[0].id if steps else None

    def lower_Send(self, action: ast.Send, node: Json, following: str | None) -> None:
        node.update(
            channel=action.channel,
            template=action.template,
            fallback=list(action.fallback),
            params={p.name: lower.literal(p.value) for p in action.params},
            next=following,
        )

    def lower_Update(self, action: ast.Update, node: Json, following: str | None) -> None:
        node.update(
            set={a.attribute.removeprefix("customer."): lower.literal(a.value) for a in action.assignments},
            add_tags=list(action.add_tags),
            remove_tags=list(action.remove_tags),
            next=following,
        )

    def lower_Exit(self, action: ast.Exit, node: Json, following: str | None) -> None:
        node.update(reason=action.reason, next=None)

    def lower_Wait(self, action: ast.Wait, node: Json, following: str | None) -> None:
        node.update(
            event=action.event,
            same=action.same,
            where=lower.cond(action.where),
            timeout_seconds=action.timeout.seconds if action.timeout else None,
            next=following,
        )
        if action.event is not None:
            node["on_event"] = self.steps(action.on_event, following) or following
            node["on_timeout"] = self.steps(action.on_timeout, following) or following

    def lower_Branch(self, action: ast.Branch, node: Json, following: str | None) -> None:
        arms = []
        for arm in action.arms:
            target = self.steps(arm.steps, following) or following
            arms.append({"condition": lower.cond(arm.condition), "next": target})
        node.update(arms=arms, next=following)

    def lower_Split(self, action: ast.Split, node: Json, following: str | None) -> None:
        variants = []
        for variant in action.variants:
            target = self.steps(variant.steps, following) or following
            variants.append({"name": variant.name, "weight": variant.weight, "next": target})
        node.update(variants=variants, next=following)


def _with_dependencies(names: set[str], segments: dict[str, Segment]) -> set[str]:
    """``names`` and every segment they reach through in_segment(), as far as they are defined."""
    found, frontier = set(names), list(names)
    while frontier:
        segment = segments.get(frontier.pop())
        for name in visit.segments_named(segment.condition) if segment else ():
            if name not in found:
                found.add(name)
                frontier.append(name)
    return {n for n in found if n in segments}


def _segment(segment: Segment) -> Json:
    return {"title": segment.title, "condition": normalise(segment.condition)}


def _template(template: Template) -> Json:
    """The whole template travels in the plan: the runtime renders from the plan, never from source files."""
    hashed: Json = {"channels": template.channels, "category": template.category}
    coupon: Json = {}
    if template.coupon is not None:  # only then: templates without a pool keep the plan bytes and hashes they had
        coupon = {"coupon": {"pool": template.coupon.pool, "valid_for_seconds": template.coupon.valid_for.seconds}}
        hashed |= coupon
    return {
        "title": template.title,
        "category": template.category,
        "content": template.channels,
        "channels": sorted(template.channels),
        "params": {name: p.type for name, p in sorted(template.params.items())},
        "defaults": {name: p.default for name, p in sorted(template.params.items()) if p.has_default},
        **coupon,
        "hash": content_hash(hashed),
    }


def _schema(schema: CustomerSchema) -> Json:
    """The project's additions to the built-in catalog, which the runtime needs to type custom values."""
    return {
        "attributes": {name: schema.attributes[name].type for name in sorted(schema.custom_attributes)},
        "events": {
            name: dict(sorted(props.items()))
            for name, props in sorted(schema.events.items())
            if props != catalog.EVENTS.get(name)
        },
    }


def _policies(p: Policies) -> Json:
    return {
        "timezone": p.timezone,
        "quiet_hours": {"start": str(p.quiet_hours[0]), "end": str(p.quiet_hours[1])} if p.quiet_hours else None,
        "calendar": {"holidays": p.holidays, "weekends": list(p.weekends), "shop_holidays": list(p.shop_holidays)},
        "frequency_caps": [
            {
                "channel": c.channel,
                "max": c.max,
                "per_seconds": c.per.seconds,
                "on_exceed": c.on_exceed,
                "window": "calendar" if c.calendar else "rolling",
            }
            for c in p.frequency_caps
        ],
        "consent": {ch: {"attribute": r.attribute} for ch, r in sorted(p.consent.items())},
        "priority": list(p.priority),
        "nurture_only": list(p.nurture_only),
    }
