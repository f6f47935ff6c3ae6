"""Entering scenarios: find who a trigger fired for, check the entry condition and re-entry rule in SQL, draw
holdouts, and put the new enrollments at their first step."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import Connection, select

from ecrm_dsl.conditions.sql import select_customers, select_enrollments
from ecrm_dsl.runtime.assign import in_holdout
from ecrm_dsl.runtime.journal import Journal
from ecrm_dsl.runtime.model import ScenarioVersion
from ecrm_dsl.store import enrollments as store
from ecrm_dsl.store import triggers
from ecrm_dsl.store.enrollments import Candidate, Enrollment
from ecrm_dsl.store.tables import TABLES

BATCH = 5_000


def first_watermark(version: ScenarioVersion, now: datetime) -> datetime:
    """Where a newly deployed scenario starts looking: now, or ``backfill`` ago."""
    backfill = version.body.get("backfill_seconds")
    return now - timedelta(seconds=backfill) if backfill else now


def enroll(conn: Connection, version: ScenarioVersion, now: datetime, journal: Journal) -> list[Enrollment]:
    """Enroll everyone the version's trigger fired for since the last tick; returns the new enrollments."""
    since = triggers.watermark(conn, version.id)
    first_time = since is None
    if since is None:
        since = first_watermark(version, now)
    kind = version.trigger["type"]
    entered: list[Enrollment] = []
    if kind == "event":
        while True:
            found = triggers.event_candidates(conn, version.id, version.trigger["event"], since, now, BATCH)
            if not found:
                break
            triggers.record_fires(conn, version.id, [key for key, _ in found])
            entered += _admit(conn, version, [c for _, c in found], now, journal)
    elif kind == "segment":
        entered += _segment(
            conn, version, now, journal, baseline_only=first_time and not version.body.get("backfill_seconds")
        )
    elif kind == "date":
        entered += _dates(conn, version, since, now, journal)
    else:
        entered += _schedule(conn, version, since, now, journal)
    triggers.set_watermark(conn, version.id, now)
    return entered


def _audience(version: ScenarioVersion, segment: str | None, now: datetime) -> select:  # type: ignore[valid-type]
    """Customers in ``segment`` (all when None) for whom the trigger's where-condition holds."""
    plan = version.plan
    parts = []
    if segment is not None:
        parts.append(plan.segments[segment])
    if version.trigger.get("where") is not None:
        parts.append(version.trigger["where"])
    condition = ["and", *parts] if len(parts) > 1 else (parts[0] if parts else ["lit", "bool", True])
    return select_customers(condition, now=now, timezone=plan.timezone, segments=plan.segments, types=plan.types(None))


def _segment(
    conn: Connection, version: ScenarioVersion, now: datetime, journal: Journal, baseline_only: bool
) -> list[Enrollment]:
    """Entering a segment is starting to match it; the first tick only records who already does."""
    current = _audience(version, version.trigger["segment"], now)
    entrants = triggers.segment_entrants(conn, version.id, current)
    if baseline_only:
        return []
    return _admit(conn, version, [Candidate(c, now) for c in entrants], now, journal, where_checked=True)


def _dates(
    conn: Connection, version: ScenarioVersion, since: datetime, now: datetime, journal: Journal
) -> list[Enrollment]:
    """Date attributes (birthday - 7d at 09:00): each shop-local day whose moment passed since the last tick."""
    trigger = version.trigger
    zone = ZoneInfo(version.plan.timezone)
    hour, minute = (int(x) for x in (trigger.get("at") or "00:00").split(":"))
    offset = timedelta(seconds=trigger["offset_seconds"])
    entered: list[Enrollment] = []
    day = since.astimezone(zone).date() - timedelta(days=1)
    while day <= now.astimezone(zone).date():
        moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        key = f"date:{day.isoformat()}"
        if since < moment <= now and not triggers.fired(conn, version.id, [key]):
            triggers.record_fires(conn, version.id, [key])
            matches = triggers.date_matches(conn, trigger["attribute"], day - offset, trigger["yearly"])
            ids = set(triggers.customers_matching(conn, matches))
            if trigger.get("where") is not None:
                ids &= set(triggers.customers_matching(conn, _audience(version, None, now)))
            candidates = [Candidate(c, moment.astimezone(now.tzinfo)) for c in sorted(ids)]
            entered += _admit(conn, version, candidates, now, journal, where_checked=True)
        day += timedelta(days=1)
    return entered


def _schedule(
    conn: Connection, version: ScenarioVersion, since: datetime, now: datetime, journal: Journal
) -> list[Enrollment]:
    """A cron schedule in the shop's timezone: each fire time since the last tick enrolls the audience once."""
    zone = ZoneInfo(version.plan.timezone)
    fires = croniter(version.trigger["cron"], since.astimezone(zone))
    entered: list[Enrollment] = []
    while True:
        moment = fires.get_next(datetime)
        if moment > now:
            break
        key = f"cron:{moment.astimezone(now.tzinfo).isoformat()}"
        if triggers.fired(conn, version.id, [key]):
            continue
        triggers.record_fires(conn, version.id, [key])
        ids = triggers.customers_matching(conn, _audience(version, version.trigger["audience"], now))
        entered += _admit(
            conn, version, [Candidate(c, moment.astimezone(now.tzinfo)) for c in ids], now, journal, where_checked=True
        )
    return entered


def _admit(
    conn: Connection,
    version: ScenarioVersion,
    candidates: Sequence[Candidate],
    now: datetime,
    journal: Journal,
    where_checked: bool = False,
) -> list[Enrollment]:
    """Pending rows → the entry condition (SQL) → one per customer → re-entry rule → active enrollments."""
    admitted: list[Enrollment] = []
    for start in range(0, len(candidates), BATCH):
        ids = store.add_pending(conn, version.id, version.hash, candidates[start : start + BATCH])
        passing = set(ids)
        where = version.trigger.get("where")
        if where is not None and not where_checked:
            query = select_enrollments(
                where,
                now=now,
                timezone=version.plan.timezone,
                segments=version.plan.segments,
                types=version.entry_types(),
            ).where(TABLES.enrollments.c.id.in_(ids))
            passing = set(conn.execute(query).scalars())
        rows = [r for r in store.pending(conn, ids) if r.id in passing]
        keep, refused = _reentry(conn, version, rows, now)
        for row, why in refused:
            journal.add(row, "not_entered", why, at=row.entered_at)
        store.drop(conn, [i for i in ids if i not in {r.id for r in keep}])
        store.activate(
            conn, [(r.id, in_holdout(r.customer_id, version.id, version.body["holdout_percent"])) for r in keep]
        )
        fresh = store.by_ids(conn, [r.id for r in keep])
        for row in fresh:
            journal.add(
                row,
                "entered",
                "in the holdout group: measured, never messaged" if row.holdout else None,
                at=row.entered_at,
            )
        admitted += fresh
    return admitted


def _reentry(
    conn: Connection, version: ScenarioVersion, rows: list[Enrollment], now: datetime
) -> tuple[list[Enrollment], list[tuple[Enrollment, str]]]:
    """Apply the re-entry rule; a customer is in a scenario at most once at a time."""
    rule = version.body["reentry"]
    past = store.history(conn, version.id, [r.customer_id for r in rows])
    keep: list[Enrollment] = []
    refused: list[tuple[Enrollment, str]] = []
    seen: set[str] = set()
    for row in rows:
        active, finished = past.get(row.customer_id, (False, None))
        if row.customer_id in seen or active:
            refused.append((row, "already in this scenario"))
            continue
        if row.customer_id in past and rule["mode"] == "never":
            refused.append((row, "re-entry: never"))
            continue
        if (
            rule["mode"] == "cooldown"
            and finished is not None
            and row.entered_at < finished + timedelta(seconds=rule["cooldown_seconds"])
        ):
            refused.append(
                (
                    row,
                    f"re-entry: cool-down until {(finished + timedelta(seconds=rule['cooldown_seconds'])).isoformat()}",
                )
            )
            continue
        seen.add(row.customer_id)
        keep.append(row)
    return keep, refused
