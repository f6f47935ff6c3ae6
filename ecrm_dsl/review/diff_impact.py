"""What a change means for real customers, read from a store without writing to it.

* customers enrolled now in each changed or removed scenario, and how many wait at each affected step
  (an enrollment "at" a step is waiting for that step to run, so a timing, channel or template change reaches
  them, and a removed step strands them unless the deploy maps it);
* for changed audiences (a trigger's where-condition, its segment or schedule audience, or a segment's own
  condition), how many customers match the old and the new condition now.

Entry conditions on an event trigger may read the entry event (``event.amount``), which no customer row has; only
their customer part is counted then, and the basis says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ecrm_dsl.conditions.normal import ConditionError, Types, walk_segments
from ecrm_dsl.conditions.sql import select_customers
from ecrm_dsl.language.i18n import n_, tr
from ecrm_dsl.review.diff_model import CHANGED, REMOVED, Count, Impact, PlanDiff, ScenarioImpact
from ecrm_dsl.store import enrollments
from ecrm_dsl.store.review_queries import count_selected, table_names

Json = dict[str, Any]
_AUDIENCE_KINDS = {"trigger", "trigger_where"}
_NEEDED_TABLES = ("customers", "enrollments")


class StoreError(Exception):
    """The store cannot be read (missing tables, unreachable server)."""


def check_store(engine: Engine) -> None:
    try:
        names = table_names(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StoreError(tr("not a readable ecrm store ({reason})", reason=reason)) from None
    missing = [t for t in _NEEDED_TABLES if t not in names]
    if missing:
        raise StoreError(tr("not an ecrm store (no {tables} table)", tables=", ".join(missing)))


def measure(diff: PlanDiff, base: Json, head: Json, engine: Engine, now: datetime, store_label: str) -> Impact:
    """Fill in the impact of ``diff``; only SELECTs are run."""
    zone = ZoneInfo(head.get("policies", {}).get("timezone") or "Asia/Tokyo")
    impact = Impact(store_label, now.astimezone(zone).isoformat(timespec="seconds"))  # in the shop's time
    with engine.connect() as conn:
        totals, per_step = _in_flight(conn)
        old_by = {s["id"]: s for s in base.get("scenarios", [])}
        new_by = {s["id"]: s for s in head.get("scenarios", [])}
        changed_segments = {name for name, _ in diff.subjects("segment")}
        for subject, state in diff.subjects("scenario"):
            records = diff.changes_of("scenario", subject)
            affected = {c.step for c in records if c.step is not None}
            waiting = {step: n for step, n in sorted(per_step.get(subject, {}).items()) if step in affected}
            entry = ScenarioImpact(totals.get(subject, 0), waiting)
            old, new = old_by.get(subject), new_by.get(subject)
            if state != REMOVED and old is not None and new is not None:
                reads = _audience_segments(old, base) | _audience_segments(new, head)
                if any(c.kind in _AUDIENCE_KINDS for c in records) or reads & changed_segments:
                    entry.audience = _audience(conn, base, old, head, new, now)
            impact.scenarios[subject] = entry
        for name, _state in diff.subjects("segment"):
            before = base.get("segments", {}).get(name)
            after = head.get("segments", {}).get(name)
            if before is not None and after is not None:
                old_count, old_note = _count(conn, before["condition"], base, now)
                new_count, new_note = _count(conn, after["condition"], head, now)
                impact.segments[name] = Count(
                    old_count, new_count, n_("customers in the segment"), old_note or new_note
                )
        for name in (name for name, state in diff.subjects("template") if state == CHANGED):
            # Customers waiting at a step that sends this template get the new content (or category) next.
            impact.templates[name] = {
                f"{scenario['id']}.{node['id']}": per_step[scenario["id"]][node["id"]]
                for scenario in head.get("scenarios", [])
                for node in scenario.get("nodes", [])
                if node.get("template") == name and per_step.get(scenario["id"], {}).get(node["id"])
            }
    return impact


def _in_flight(conn: Any) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Active enrollments per scenario and per scenario step, over every version: a deploy may move them all."""
    totals: dict[str, int] = {}
    per_step: dict[str, dict[str, int]] = {}
    for (sid, _version), steps in enrollments.in_flight(conn).items():
        counts = per_step.setdefault(sid, {})
        for node, n in steps.items():
            totals[sid] = totals.get(sid, 0) + n
            if node is not None:
                counts[node] = counts.get(node, 0) + n
    return totals, per_step


def _audience_segments(scenario: Json, plan: Json) -> set[str]:
    """Segments the entry audience reads: the trigger's segment or audience, in_segment() in its where, and theirs."""
    trigger = scenario.get("trigger", {})
    found = {trigger[k] for k in ("segment", "audience") if trigger.get(k)}
    if trigger.get("where") is not None:
        found.update(walk_segments(trigger["where"]))
    frontier = list(found)
    while frontier:
        condition = plan.get("segments", {}).get(frontier.pop(), {}).get("condition")
        for name in walk_segments(condition) if condition is not None else []:
            if name not in found:
                found.add(name)
                frontier.append(name)
    return found


def _audience(conn: Any, base: Json, old: Json, head: Json, new: Json, now: datetime) -> Count:
    old_condition, old_partial = audience_condition(old, base)
    new_condition, new_partial = audience_condition(new, head)
    old_count, old_note = _count(conn, old_condition, base, now)
    new_count, new_note = _count(conn, new_condition, head, now)
    # The basis stays English in the JSON; the text and Markdown say it in the current language (lookup()).
    basis = n_("customers matching the entry audience now")
    if old_partial or new_partial:
        basis = n_("customers matching the customer part of the entry condition now (entry-event conditions left out)")
    return Count(old_count, new_count, basis, old_note or new_note)


def audience_condition(scenario: Json, plan: Json) -> tuple[Any, bool]:
    """The audience as one condition: the segment (segment and schedule triggers) and the where-condition.

    Returns the condition and whether parts reading the entry event or enrollment had to be left out.
    """
    trigger = scenario.get("trigger", {})
    parts: list[Any] = []
    segment = trigger.get("segment") or trigger.get("audience")
    if segment and segment in plan.get("segments", {}):
        parts.append(plan["segments"][segment]["condition"])
    where = trigger.get("where")
    partial = False
    if where is not None:
        kept = customer_part(where)
        partial = kept != where
        if kept is not None:
            parts.append(kept)
    if not parts:
        return ["lit", "bool", True], partial
    return (["and", *parts] if len(parts) > 1 else parts[0]), partial


def customer_part(node: Any) -> Any:
    """The conjuncts of a condition that read only customers (no ``event.*``, no enrollment metrics)."""
    if not _reads_entry(node):
        return node
    if node[0] == "and":
        kept = [child for child in node[1:] if not _reads_entry(child)]
        if not kept:
            return None
        return ["and", *kept] if len(kept) > 1 else kept[0]
    return None


def _reads_entry(node: Any) -> bool:
    if isinstance(node, list) and node:
        if node[0] in ("event", "metric"):
            return True
        return any(_reads_entry(child) for child in node[1:])
    return False


def _count(conn: Any, condition: Any, plan: Json, now: datetime) -> tuple[int | None, str | None]:
    segments = {name: s["condition"] for name, s in plan.get("segments", {}).items()}
    schema = plan.get("schema") or {}
    try:
        query = select_customers(
            condition,
            now=now,
            timezone=plan.get("policies", {}).get("timezone", "Asia/Tokyo"),
            segments=segments,
            types=Types(schema.get("attributes", {}), {}),
        )
        return count_selected(conn, query), None
    except (ConditionError, SQLAlchemyError, ValueError) as exc:
        conn.rollback()  # a failed statement aborts the transaction on PostgreSQL; the next count needs a fresh one
        return None, tr("could not count: {error}", error=exc)
