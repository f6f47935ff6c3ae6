"""Deploying a plan, with an explicit rule for the customers already in flight.

Every tool hard-codes one rule for edited journeys; here the deploy says which:

- ``keep``: enrollments finish on the version they started (new entries take the new version);
- ``move``: enrollments move to the new version at the step with the same stable id (or a mapped one);
- ``retime``: as ``move``, and those still waiting have their due time computed again with the new timing.

A deploy that would leave customers at a step the new version no longer has, with no mapping, is refused and
changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.plan.document import RECOMPILE, content_hash
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.nodes import WaitNode
from ecrm_dsl.plan.scenario import ScenarioPlan
from ecrm_dsl.plan.validate import check_plan
from ecrm_dsl.runtime.journal import Journal
from ecrm_dsl.runtime.model import DeployedPlan
from ecrm_dsl.runtime.steps import StepRunner
from ecrm_dsl.store import deployments
from ecrm_dsl.store import enrollments as store
from ecrm_dsl.store.enrollments import Enrollment

IN_FLIGHT = ("keep", "move", "retime")


class DeployRefused(Exception):
    """The deploy would strand or silently change enrollments in flight; the message says what to do."""


@dataclass
class DeployReport:
    deployment_id: int
    scenarios: int
    moved: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)


def deploy(
    engine: Engine,
    plan: Plan,
    now: datetime,
    in_flight: str | None = None,
    mapping: Mapping[str, Mapping[str, str]] | None = None,
    note: str | None = None,
) -> DeployReport:
    """Record ``plan`` as the active deployment; ``mapping`` is scenario → {old step id: new step id}.

    A plan the runtime could not run (a node or segment it names is missing) raises ``PlanError`` and nothing
    is stored: every tick would fail on it.
    """
    check_plan(plan.to_json(), "the plan to deploy", RECOMPILE)
    mapping = mapping or {}
    new = {s.id: s for s in plan.scenarios}
    with engine.begin() as conn:
        flying = store.in_flight(conn)
        changed = {key: counts for key, counts in flying.items() if _hash(new.get(key[0])) != key[1]}
        if changed and in_flight is None:
            raise DeployRefused(_needs_choice(changed, new))
        if in_flight is not None and in_flight not in IN_FLIGHT:
            raise DeployRefused(tr("--in-flight must be one of {choices}", choices=", ".join(IN_FLIGHT)))
        plans: dict[tuple[str, str], dict[str, str]] = {}
        if in_flight in ("move", "retime"):
            plans = _node_maps(changed, new, mapping)
        plan_hash = content_hash(plan.to_json())
        deployment_id = deployments.record_deployment(conn, plan, plan_hash, in_flight or "keep", note, now)
        report = DeployReport(deployment_id, len(plan.scenarios))
        for (scenario_id, old_hash), node_map in plans.items():
            target = new[scenario_id]
            listening = {n.id for n in target.nodes if isinstance(n, WaitNode) and n.listens}
            moved = store.move_version(conn, scenario_id, old_hash, target.hash, node_map, listening, now)
            report.moved[scenario_id] = report.moved.get(scenario_id, 0) + moved
        for (scenario_id, _), counts in changed.items():
            if not plans:
                report.kept[scenario_id] = report.kept.get(scenario_id, 0) + sum(counts.values())
        if in_flight == "retime":
            _retime(conn, DeployedPlan(plan, deployment_id), list(report.moved), now)
    return report


def _hash(scenario: ScenarioPlan | None) -> str | None:
    return scenario.hash if scenario is not None else None


def _needs_choice(changed: dict[tuple[str, str], dict[str | None, int]], new: dict[str, ScenarioPlan]) -> str:
    lines = [tr("customers are in flight on versions this deploy changes or removes:")]
    for (scenario_id, _), counts in sorted(changed.items()):
        steps = ", ".join(f"{node} ({n})" for node, n in sorted(counts.items(), key=lambda kv: str(kv[0])))
        fields = {"scenario": scenario_id, "count": sum(counts.values()), "steps": steps}
        if scenario_id not in new:
            lines.append(tr("  {scenario} (removed): {count} at {steps}", **fields))
        else:
            lines.append(tr("  {scenario} (changed): {count} at {steps}", **fields))
    lines.append(
        tr(
            "choose what happens to them: --in-flight keep (finish on their version), move (same step ids in the new "
            "version) or retime (move, and recompute waiting steps' times)"
        )
    )
    return "\n".join(lines)


def _node_maps(
    changed: dict[tuple[str, str], dict[str | None, int]],
    new: dict[str, ScenarioPlan],
    mapping: Mapping[str, Mapping[str, str]],
) -> dict[tuple[str, str], dict[str, str]]:
    """For each changed version: every occupied step → its step in the new version; refuse any left over."""
    plans: dict[tuple[str, str], dict[str, str]] = {}
    stranded = []
    for (scenario_id, old_hash), counts in sorted(changed.items()):
        if scenario_id not in new:
            stranded.append(
                tr(
                    "  {scenario}: removed from the plan, {count} customers in flight (use --in-flight keep to let "
                    "them finish)",
                    scenario=scenario_id,
                    count=sum(counts.values()),
                )
            )
            continue
        steps = {node.id for node in new[scenario_id].nodes}
        node_map = {}
        for node in counts:
            if node is None:
                continue
            target = mapping.get(scenario_id, {}).get(node, node)
            if target not in steps:
                stranded.append(
                    tr(
                        "  {scenario}: {count} customers at step '{step}', which the new version does not have (map "
                        "it: --map {scenario}.{step}=<new step>)",
                        scenario=scenario_id,
                        count=counts[node],
                        step=node,
                    )
                )
            node_map[node] = target
        plans[(scenario_id, old_hash)] = node_map
    if stranded:
        raise DeployRefused(tr("this deploy would strand customers:") + "\n" + "\n".join(stranded))
    return plans


def _retime(conn: Connection, plan: DeployedPlan, scenario_ids: list[str], now: datetime) -> None:
    journal = Journal(now)
    runner = StepRunner(conn, now, journal)
    for version in plan.scenarios():
        if version.id not in scenario_ids:
            continue
        rows = store.scheduled(conn, version.hash)
        by_node: dict[str, list[Enrollment]] = {}
        for row in rows:
            by_node.setdefault(str(row.node_id), []).append(row)
        for node_id, group in by_node.items():
            runner.place(version, group, node_id, {r.id: r.previous_at or r.entered_at for r in group})
            for row in group:
                journal.add(row, "retimed", "moved to the new version and its timing", node=node_id)
        # Listening for an event: the deadline follows the new timeout.
        deadlines = []
        for row in store.listening(conn, version.hash):
            node = version.nodes[str(row.node_id)]
            timeout = node.timeout_seconds if isinstance(node, WaitNode) else None
            assert row.waiting_since is not None
            deadlines.append((row.id, row.waiting_since + timedelta(seconds=timeout) if timeout else None))
            journal.add(row, "retimed", "the wait's timeout follows the new version", node=row.node_id)
        store.set_deadlines(conn, deadlines)
    journal.flush(conn)
