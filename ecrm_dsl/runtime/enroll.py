"""Entering scenarios: find who a trigger fired for, check the entry condition and re-entry rule in SQL, draw
holdouts, and put the new enrollments at their first step."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter  # type: ignore[import-untyped]
from sqlalchemy import Connection, Select

from ecrm_dsl.conditions.normal import Normal, Types
from ecrm_dsl.conditions.sql import (
    NOW_PREFIX,
    SENT_WINDOW,
    TIME_WINDOW,
    ClockKeys,
    EntryJudging,
    as_of,
    clock_keys,
    select_customers,
    select_entries,
    window_reads,
)
from ecrm_dsl.plan.scenario import DateTrigger, EventTrigger, ScheduleTrigger, SegmentTrigger
from ecrm_dsl.runtime import day_edges
from ecrm_dsl.runtime.assign import in_holdout
from ecrm_dsl.runtime.model import ScenarioVersion
from ecrm_dsl.runtime.steps import StepRunner
from ecrm_dsl.store import changes, customers, triggers
from ecrm_dsl.store import enrollments as store
from ecrm_dsl.store.candidates import PARAMETER, candidate_table, candidate_value
from ecrm_dsl.store.day_edges import customers_in
from ecrm_dsl.store.enrollments import Candidate, Enrollment
from ecrm_dsl.store.prepared import run
from ecrm_dsl.store.window_leavers import WindowLeavers

BATCH = 5_000
WAITING = 5_000  # candidates that met their entry condition, waiting to be entered with other scenarios' (at most)


def first_watermark(version: ScenarioVersion, deployed_at: datetime) -> datetime:
    """Where a newly deployed scenario starts looking: its deployment, or ``backfill`` before it."""
    backfill = version.scenario.backfill_seconds
    return deployed_at - timedelta(seconds=backfill) if backfill else deployed_at


@dataclass
class Entries:
    count: int = 0
    earliest: datetime | None = None  # the earliest entry time of this tick's entries
    last_id: int = 0  # the greatest enrollment id they took


@dataclass(frozen=True)
class _Look:
    """Where a version's trigger looks this tick: from ``since`` (the last tick), never before ``floor``."""

    since: datetime
    floor: datetime
    first: bool  # no tick has looked for this scenario before


def enroll_all(
    conn: Connection,
    versions: Sequence[ScenarioVersion],
    now: datetime,
    runner: StepRunner,
    late_arrival: timedelta = triggers.LATE_ARRIVAL,
    changed: changes.Customers | None = None,
    changed_after: changes.Mark | None = None,
    head: int | None = None,
) -> dict[str, Entries]:
    """Enroll everyone the versions' triggers fired for since the last tick, version by version in the order
    given, and put them at their first steps; returns each scenario's entries. ``changed`` (the customers changed
    since the last complete tick) narrows the search for new events; ``changed_after`` is the change-log mark
    they were read after, and ``head`` the log's head as the tick began (how far segments consume it): a segment
    whose own mark is ``changed_after``, with no customer changed and nothing the clock alone can move, is not
    judged again.

    The trigger bookkeeping of all versions is read in one statement and written in one; with ``changed`` listed,
    the new events of every type the versions are triggered by are read in one search (see ``_shared_reads``).
    Work goes a batch at a time, so memory stays flat however many enter; the entrants of every version are
    entered together (see :class:`_Entering`), and their moves to the first steps and ``entered`` decisions are
    written together, in batches of up to 5,000.
    """
    ids = [version.id for version in versions]
    known = triggers.states(conn, ids)
    looks = {version.id: _look(conn, version, known.get(version.id), now) for version in versions}
    shared = _shared_reads(conn, versions, looks, now, late_arrival, changed)
    quiet = _quiet(conn, versions, looks, now, late_arrival, changed) if not shared else set()
    # The segment triggers' change-log marks: read in one statement, written in one at the end.
    readers = [segment_reader(v) for v in versions if isinstance(v.trigger, SegmentTrigger)]
    marks = changes.read_marks(conn, readers) if readers else {}
    moved: dict[str, changes.Mark] = {}
    found: dict[str, Entries] = {}
    fires: list[tuple[str, str]] = []  # the shared reads' events each scenario handled, recorded together
    entering = _Entering(conn)
    with runner.held_moves():  # every scenario's entrants put at their first steps in one statement
        for version in versions:
            entries = found[version.id] = Entries()
            admit = _Admitter(conn, version, now, runner, entries, entering)
            look, trigger = looks[version.id], version.trigger
            if isinstance(trigger, EventTrigger):
                if version.id not in quiet:
                    read = shared.get(trigger.event)
                    if read is not None and not look.first:
                        _shared_events(version, read, look, late_arrival, admit, fires)
                    else:
                        # A first look (a backfill) reaches before the log's horizon.
                        scope = None if look.first else changed
                        _events(conn, version, trigger, look, now, admit, late_arrival, scope)
            elif isinstance(trigger, SegmentTrigger):
                baseline_only = look.first and not version.scenario.backfill_seconds
                log = (changed, changed_after, head)
                _segment(conn, version, trigger, now, admit, baseline_only, log, (marks, moved))
            elif isinstance(trigger, DateTrigger):
                _dates(conn, version, trigger, look.since, now, admit)
            else:
                _schedule(conn, version, trigger, look.since, now, admit)
        entering.flush()
    triggers.record_fires_of(conn, fires)
    changes.write_marks(conn, moved)
    triggers.set_watermarks(conn, ids, now)
    return found


def _look(conn: Connection, version: ScenarioVersion, state: triggers.TriggerState | None, now: datetime) -> _Look:
    """The version's bookkeeping; the first look at a scenario starts it (at its deployment, or its backfill)."""
    if state is not None:
        return _Look(state.watermark, state.started, first=False)
    floor = first_watermark(version, triggers.first_deployed(conn, version.id) or now)
    triggers.start(conn, version.id, floor)
    return _Look(floor, floor, first=True)


def _quiet(
    conn: Connection,
    versions: Sequence[ScenarioVersion],
    looks: dict[str, _Look],
    now: datetime,
    late_arrival: timedelta,
    changed: changes.Customers | None,
) -> set[str]:
    """The event-triggered scenarios whose search would find nothing: none of the changed customers has an event
    of their type in the window the search reads. Without the change log's scope (the first tick, a first look)
    nothing is skipped."""
    if changed is None:
        return set()
    scoped = {
        version.id: version.trigger.event
        for version in versions
        if isinstance(version.trigger, EventTrigger) and not looks[version.id].first
    }
    if not scoped:
        return set()
    # The search reads events in (since - late_arrival, now] and at or after the floor: the latest event of a type
    # in the widest such window tells, for each scenario, whether its own window holds any.
    lows = {sid: max(looks[sid].since - late_arrival, looks[sid].floor) for sid in scoped}
    latest = triggers.event_news(conn, set(scoped.values()), min(lows.values()), now, changed)
    quiet = set()
    for sid, event in scoped.items():
        look, last = looks[sid], latest.get(event)
        if last is None or last <= look.since - late_arrival or last < look.floor:
            quiet.add(sid)
    return quiet


def _shared_reads(
    conn: Connection,
    versions: Sequence[ScenarioVersion],
    looks: dict[str, _Look],
    now: datetime,
    late_arrival: timedelta,
    changed: changes.Customers | None,
) -> dict[str, triggers.SharedEvents]:
    """The new events of every type the event-triggered scenarios search (none of them a first look), read once
    for all of them from the changed customers' events, by type; empty when the changed customers are not a
    list, or when there are more than a batch (then each scenario pages through its own)."""
    listed = changes.inline(changed) if changed is not None else None
    if not listed:
        return {}
    readers: dict[str, list[str]] = {}
    for version in versions:
        trigger = version.trigger
        if isinstance(trigger, EventTrigger) and not looks[version.id].first:
            readers.setdefault(trigger.event, []).append(version.id)
    if not readers:
        return {}
    ids = [sid for scenarios in readers.values() for sid in scenarios]
    after = min(looks[sid].since for sid in ids) - late_arrival
    floor = min(looks[sid].floor for sid in ids)
    return triggers.shared_event_candidates(conn, readers, after, floor, now, BATCH, listed) or {}


def _shared_events(
    version: ScenarioVersion,
    read: triggers.SharedEvents,
    look: _Look,
    late_arrival: timedelta,
    admit: _Admitter,
    fires: list[tuple[str, str]],
) -> None:
    """``_events`` from a read shared with other scenarios: the events in this scenario's own window that it
    has not handled yet. They are added to ``fires``, recorded as handled with every other scenario's (the
    read already knows which each has handled)."""
    handled, after = read.handled.get(version.id, set()), look.since - late_arrival
    found = [
        (key, c) for key, c in read.rows if key not in handled and c.entered_at > after and c.entered_at >= look.floor
    ]
    if found:
        fires.extend((version.id, key) for key, _ in found)
        admit.candidates([c for _, c in found], where_checked=False)


def _events(
    conn: Connection,
    version: ScenarioVersion,
    trigger: EventTrigger,
    look: _Look,
    now: datetime,
    admit: _Admitter,
    late_arrival: timedelta,
    scope: changes.Customers | None,
) -> None:
    """Each event of the trigger's type not handled yet enters its customer (if the where-condition holds)."""
    while True:
        found = triggers.event_candidates(
            conn, version.id, trigger.event, look.since, look.floor, now, BATCH, late_arrival, scope
        )
        if not found:
            return
        triggers.record_fires(conn, version.id, [key for key, _ in found])
        admit.candidates([c for _, c in found], where_checked=False)
        if len(found) < BATCH:
            return  # that was all of them: entering adds no events, so asking again would find none


def _audience(version: ScenarioVersion, segment: str | None, now: datetime, few: bool = False) -> Select[Any]:
    """Customers known at ``now`` in ``segment`` (all when None) for whom the trigger's where-condition holds;
    ``few``: the caller narrows them to a few, so the query is shaped for that (see ``conditions.sql.to_sql``)."""
    return _matching(version, segment, now, few).where(customers.known_at(now))


def _condition(version: ScenarioVersion, segment: str | None) -> Normal:
    """The segment's condition and the trigger's where-condition, together."""
    parts: list[Normal] = []
    if segment is not None:
        parts.append(version.plan.segments[segment])
    if version.trigger.where is not None:
        parts.append(version.trigger.where)
    return ["and", *parts] if len(parts) > 1 else (parts[0] if parts else ["lit", "bool", True])


def _matching(version: ScenarioVersion, segment: str | None, now: datetime, few: bool) -> Select[Any]:
    """``_audience`` without the known-at test: its clock parameters set to ``now`` and re-bindable (``as_of``)."""
    plan = version.plan
    condition = _condition(version, segment)
    return select_customers(
        condition, now=now, timezone=plan.timezone, segments=plan.segments, types=plan.types(None), few_customers=few
    )


def segment_reader(version: ScenarioVersion) -> str:
    """The change-log reader of a segment trigger: per version and per meaning of its audience, since another
    condition needs a full pass. The scenario's hash does not cover the segments it names: a redeployed
    segment definition (or schema, or timezone) starts a new reader, whose first check is a full pass."""
    memo, key = version.plan.memo, ("segment reader", version.hash)
    if key not in memo:
        plan = version.plan
        meaning = repr((version.trigger.where, sorted(plan.segments.items()), plan.timezone, plan.types(None)))
        digest = hashlib.sha256(meaning.encode()).hexdigest()[:12]
        memo[key] = f"segment:{version.id}@{version.hash}:{digest}"
    reader: str = memo[key]
    return reader


def _segment(
    conn: Connection,
    version: ScenarioVersion,
    trigger: SegmentTrigger,
    now: datetime,
    admit: _Admitter,
    baseline_only: bool,
    log: tuple[changes.Customers | None, changes.Mark | None, int | None],
    marks: tuple[dict[str, changes.Mark | None], dict[str, changes.Mark]],
) -> None:
    """Entering a segment is starting to match it; the first tick only records who already does.

    Membership is kept incrementally: only customers changed since the last check are judged again, plus a full
    pass on the first check and whenever the clock alone can move someone (see :func:`_needs_full_pass`) —
    except that a day change moving only day edges judges just the customers they reached (see ``day_edges``).
    ``log``: the tick's changed customers, the mark they were read after, and the log's head as the tick began;
    with nobody changed since this segment's mark, nothing is judged and the mark moves on. ``marks``: the
    segments' marks as the tick read them, and where the new ones go (written together by the caller)."""
    changed, changed_after, head = log
    reader = segment_reader(version)
    mark, moved = marks[0][reader], marks[1]
    built = _segment_pass(version, trigger, now)
    windows = built.statements.windows  # those whose leavers the change log finds (rows of unknown source)
    full = mark is None or _needs_full_pass(built.keys, mark.at, now, version.plan.timezone)
    # Whom the clock alone may have moved (a day edge passed their instant, a row of theirs left a time window),
    # judged with the changed ones.
    reached: list[str] | None = None
    if full and mark is not None and built.edge_sources is not None:
        ranges = day_edges.moved_ranges(built.keys, mark.at, now, version.plan.timezone)
        reached = customers_in(conn, built.edge_sources, ranges, changes.INLINE)
        full = len(reached) > changes.INLINE
    if not full and mark is not None and built.leavers is not None:
        reached = sorted({*(reached or ()), *built.leavers.customers(conn, mark.at, now)})
    upto = head if head is not None else changes.head(conn)
    if not full and not reached and not windows and mark is not None and _unchanged_since(mark, changed, changed_after):
        moved[reader] = changes.Mark(upto, now)
        return
    if not triggers.claim(conn, version.id, f"segment:{now.isoformat()}"):
        return  # this tick already ran (a retried job): its entrants are in
    if mark is None and windows:
        changes.keep_events_since(conn, now - timedelta(seconds=max(windows)))
    clock = as_of(built.clock, now, version.plan.timezone)
    listed = None if windows or mark is None else _same_changes(mark, changed, changed_after)
    joined = built.statements.run(conn, version.id, now, clock, None if full else mark, listed, reached)
    moved[reader] = changes.Mark(upto, now, window=max(windows, default=0))
    if joined != 0 and not baseline_only:  # None: the driver did not say how many joined
        admit.pages(triggers.segment_entrants(version.id, now), now)


def _unchanged_since(mark: changes.Mark, changed: changes.Customers | None, after: changes.Mark | None) -> bool:
    """Whether no customer changed after ``mark``: the tick's changed customers were read after the same mark,
    and there were none."""
    listed = _same_changes(mark, changed, after)
    return listed is not None and not listed


def _same_changes(
    mark: changes.Mark, changed: changes.Customers | None, after: changes.Mark | None
) -> list[str] | None:
    """The customers changed after ``mark``, when the tick has read them already as a list (after the same
    mark); None when it has not."""
    if changed is None or after is None or (mark.seq, mark.at) != (after.seq, after.at):
        return None
    return changes.inline(changed)


@dataclass(frozen=True)
class _SegmentPlan:
    """A segment trigger's statements, built once per deployed plan."""

    statements: triggers.SegmentPass
    keys: ClockKeys  # the full audience's clock parameters: whether the clock alone moves anyone
    clock: ClockKeys  # every clock parameter of the statements, bound as of each tick
    # Where the instants its moving day edges compare are stored, when the date reaches the audience through
    # those edges alone (see ``day_edges``); None: a day change judges everyone.
    edge_sources: frozenset[str] | None
    # Who left its time windows, read from the rows they bound; None when it has no window, or one whose rows
    # are not known (the change log then keeps and finds them: ``statements.windows``).
    leavers: WindowLeavers | None


def _segment_pass(version: ScenarioVersion, trigger: SegmentTrigger, now: datetime) -> _SegmentPlan:
    # Kept with the plan: the statements depend on its segments, types and timezone, which the scenario's hash
    # does not cover (a redeployed segment keeps the hash).
    memo, key = version.plan.memo, ("segment pass", version.hash)
    found: _SegmentPlan | None = memo.get(key)
    if found is None:
        audience = _matching(version, trigger.segment, now, few=False)
        few = _matching(version, trigger.segment, now, few=True)
        keys = clock_keys(audience)
        windows = [back for name, back in keys.items() if name.startswith(TIME_WINDOW) and back]
        sources = None
        if day_edges.moved_by_edges_only(keys):
            sources = day_edges.instant_sources(_condition(version, trigger.segment), version.plan.segments)
        reads = window_reads(audience) if windows else None
        leavers = WindowLeavers(reads) if reads is not None else None
        logged = [] if leavers is not None else windows
        found = memo[key] = _SegmentPlan(
            triggers.SegmentPass(audience, few, logged), keys, {**keys, **clock_keys(few)}, sources, leavers
        )
    return found


def _needs_full_pass(keys: ClockKeys, last: datetime, now: datetime, timezone: str) -> bool:
    """Whether the clock alone may have moved someone since ``last``: only when the condition reads the local
    date (day tests, ``today``) and the local day (or its UTC offset) changed. "now" as the cut-off for orders and
    events needs none (the log's effective times), nor time windows (their leavers are read from the rows they
    bound, see ``store.window_leavers``).
    Deliveries are not in the log: a condition on them (``sends()``) is judged in full at every check."""
    if any(key.startswith(SENT_WINDOW) for key in keys):
        return True
    if not any(key != NOW_PREFIX and not key.startswith(TIME_WINDOW) for key in keys):
        return False
    zone = ZoneInfo(timezone)
    before, after = last.astimezone(zone), now.astimezone(zone)
    return (before.date(), before.utcoffset()) != (after.date(), after.utcoffset())


def _dates(
    conn: Connection, version: ScenarioVersion, trigger: DateTrigger, since: datetime, now: datetime, admit: _Admitter
) -> None:
    """Date attributes (birthday - 7d at 09:00): each shop-local day whose moment passed since the last tick."""
    zone = ZoneInfo(version.plan.timezone)
    hour, minute = (int(x) for x in (trigger.at or "00:00").split(":"))
    offset = timedelta(seconds=trigger.offset_seconds)
    day = since.astimezone(zone).date() - timedelta(days=1)
    while day <= now.astimezone(zone).date():
        moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        if since < moment <= now and triggers.claim(conn, version.id, f"date:{day.isoformat()}"):
            attribute_type = version.plan.types(None).attribute(trigger.attribute) or "date"
            matches = triggers.date_matches(
                trigger.attribute, attribute_type, day - offset, trigger.yearly, version.plan.timezone, now
            )
            if trigger.where is not None:
                # The condition as a filter on the day's matches, judged for them alone (shaped for a few
                # customers): as an IN over the audience it was judged for every customer, every day.
                audience = _audience(version, None, now, few=True)
                assert audience.whereclause is not None
                matches = matches.where(audience.whereclause)
            else:
                matches = matches.where(customers.known_at(now))
            admit.pages(matches, moment.astimezone(now.tzinfo))
        day += timedelta(days=1)


def _schedule(
    conn: Connection,
    version: ScenarioVersion,
    trigger: ScheduleTrigger,
    since: datetime,
    now: datetime,
    admit: _Admitter,
) -> None:
    """A cron schedule in the shop's timezone: each fire time since the last tick enrolls the audience once."""
    # The first fire after the last look is kept: until it comes, a tick has nothing to do (no cron parsing).
    memo, key = version.plan.memo, ("next cron fire", version.hash)
    kept: tuple[datetime, datetime] | None = memo.get(key)
    if kept is not None and kept[0] <= since < kept[1] and now < kept[1]:
        return
    zone = ZoneInfo(version.plan.timezone)
    fires = croniter(trigger.cron, since.astimezone(zone))
    while True:
        moment = fires.get_next(datetime)
        if moment > now:
            memo[key] = (now, moment)  # no fire in (now, moment): the first after any later look before it
            break
        if not triggers.claim(conn, version.id, f"cron:{moment.astimezone(now.tzinfo).isoformat()}"):
            continue
        admit.pages(_audience(version, trigger.audience, now), moment.astimezone(now.tzinfo))


@dataclass(frozen=True)
class _EntryTest:
    """An entry condition's statement over a batch of candidates, bound as ``store.candidates.PARAMETER``."""

    query: Select[Any]
    keys: ClockKeys  # its clock parameters, bound to the moment it judges as of
    judging: EntryJudging  # one execution for all rows, one per local day of the rows, or one per entry time


# Built once per condition and reused every tick: compiling a condition costs more than running it on a batch.
# Keyed by everything that shapes the statement; a process runs few plans, the bound only guards a long test run.
_ENTRY_TESTS: dict[str, _EntryTest] = {}
_ENTRY_TESTS_KEPT = 256


def _entry_test(version: ScenarioVersion, where: Normal, now: datetime, dialect: str) -> _EntryTest:
    # First the plan's memo, by the condition's identity: the key below costs a repr of the plan's segments.
    memo, memo_key = version.plan.memo, ("entry test", version.hash, id(where), dialect)
    kept: tuple[Normal, _EntryTest] | None = memo.get(memo_key)
    if kept is None or kept[0] is not where:
        kept = memo[memo_key] = (where, _shared_entry_test(version, where, now, dialect))
    return kept[1]


def _shared_entry_test(version: ScenarioVersion, where: Normal, now: datetime, dialect: str) -> _EntryTest:
    plan, types = version.plan, version.entry_types()
    key = repr(
        (
            dialect,
            where,
            plan.timezone,
            sorted(plan.segments.items()),
            sorted(types.attributes.items()),
            sorted(types.event_properties.items()),
        )
    )
    found = _ENTRY_TESTS.get(key)
    if found is None:
        if len(_ENTRY_TESTS) >= _ENTRY_TESTS_KEPT:
            _ENTRY_TESTS.clear()
        found = _ENTRY_TESTS[key] = _build_entry_test(where, now, plan.timezone, plan.segments, types, dialect)
    return found


def _build_entry_test(
    where: Normal, now: datetime, timezone: str, segments: dict[str, Normal], types: Types, dialect: str
) -> _EntryTest:
    """Built as of ``now``; its clock parameters are rebound at every execution (see ``conditions.sql.as_of``).
    The candidates are one parameter in ``dialect``'s form (``store.candidates``)."""
    entering = candidate_table(dialect)
    query, judging = select_entries(
        where, entering=entering, now=now, timezone=timezone, segments=segments, types=types
    )
    return _EntryTest(query, clock_keys(query), judging)


@dataclass(frozen=True)
class _Chosen:
    """A batch of a scenario's candidates, the positions that met its entry condition and their holdout draws."""

    admitter: _Admitter
    batch: Sequence[Candidate]
    chosen: list[int]
    holdouts: dict[int, bool]


class _Entering:
    """The candidates that met their entry conditions, entered together: the re-entry history of every scenario's
    candidates read in one statement and the entrants of all inserted in one, in the order they came (so ids and
    decisions are what entering them scenario by scenario gives). A scenario's next batch waits for its last to
    be entered first, since its re-entry rule must see them; at most ``WAITING`` rows wait at a time."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.waiting: list[_Chosen] = []
        self.rows = 0

    def add(self, chosen: _Chosen) -> None:
        if any(w.admitter.version.id == chosen.admitter.version.id for w in self.waiting):
            self.flush()
        self.waiting.append(chosen)
        self.rows += len(chosen.chosen)
        if self.rows >= WAITING:
            self.flush()

    def flush(self) -> None:
        waiting, self.waiting, self.rows = self.waiting, [], 0
        scenarios = sorted({w.admitter.version.id for w in waiting if w.chosen})
        customers = sorted({w.batch[i].customer_id for w in waiting for i in w.chosen})
        past = store.histories(self.conn, scenarios, customers) if customers else {}
        decided: list[tuple[_Chosen, list[int], list[tuple[int, str, str]]]] = []
        entrants: list[tuple[str, str, Candidate, bool]] = []
        for w in waiting:
            version = w.admitter.version
            entries = [(w.batch[i].customer_id, w.batch[i].entered_at) for i in w.chosen]
            keep, refused = _reentry(version, entries, past.get(version.id, {}))
            kept = [w.chosen[index] for index in keep]
            decided.append((w, kept, refused))
            entrants.extend((version.id, version.hash, w.batch[i], w.holdouts[i]) for i in kept)
        fresh = store.add_entered(self.conn, entrants)
        start = 0
        for w, kept, refused in decided:
            w.admitter.entered(w, refused, fresh[start : start + len(kept)])
            start += len(kept)


class _Admitter:
    """Pending rows → the entry condition (SQL) → one per customer → re-entry rule → active, at the first step."""

    def __init__(
        self,
        conn: Connection,
        version: ScenarioVersion,
        now: datetime,
        runner: StepRunner,
        entries: Entries,
        entering: _Entering,
    ):
        self.conn, self.version, self.now = conn, version, now
        self.runner, self.journal = runner, runner.journal
        self.entries = entries
        self.entering = entering

    def _entry_condition(self, where: Normal, batch: Sequence[Candidate]) -> list[int]:
        """The positions in ``batch`` whose candidates meet the entry condition, in order, each judged as of its
        event's own time (a catch-up after downtime must not see orders that came later). An order's event sees
        the customer as of that order: the condition SQL reads the candidate's entry order, so another order at
        the same instant with a greater id is not known yet. Nothing is written: the candidates are one
        parameter, read as a table (``store.candidates``).

        A condition that reads only "now" (orders so far, event properties) is judged in one query with each
        candidate's entry time as its "now"; one that also reads the local date (day windows) likewise, once per
        local day among them, with the date's clock parameters set to that day; one that reads a time window is
        executed per distinct entry time with every clock parameter set to that time.
        """
        if not batch:
            return []
        dialect = self.conn.dialect.name
        test = _entry_test(self.version, where, self.now, dialect)
        timezone = self.version.plan.timezone
        if test.judging == "row":
            params = as_of(test.keys, self.now, timezone)
            params.update({PARAMETER: candidate_value(dialect, list(enumerate(batch))), "entry_now": self.now})
            return sorted(run(self.conn, test.query, params).scalars())
        groups: dict[tuple[tuple[str, Any], ...], list[tuple[int, Candidate]]] = {}
        for position, candidate in enumerate(batch):
            # Per day, the clock parameters (the date's) are the same for every row: grouped by their values.
            clock = as_of(test.keys, min(candidate.entered_at, self.now), timezone)
            groups.setdefault(tuple(sorted(clock.items())), []).append((position, candidate))
        passing: set[int] = set()
        for clock_values, chosen in sorted(groups.items(), key=lambda group: group[0]):
            params = {**dict(clock_values), PARAMETER: candidate_value(dialect, chosen)}
            if test.judging == "day":
                params["entry_now"] = self.now
            passing |= set(run(self.conn, test.query, params).scalars())
        return sorted(passing)

    def pages(self, query: Select[Any], entered_at: datetime) -> None:
        """Admit the customers ``query`` selects, a page at a time."""
        for ids in triggers.customer_pages(self.conn, query, BATCH):
            self.candidates([Candidate(c, entered_at) for c in ids], where_checked=True)

    def candidates(self, candidates: Sequence[Candidate], where_checked: bool) -> None:
        """Enter a batch at a time: the entry condition (unless ``where_checked``) and then the re-entry rule (when
        the tick enters every scenario's batches together, see :class:`_Entering`) pick the entrants before
        anything is written; only they become enrollments (active, at their first step). The re-entry rule's
        refusals are journaled without an enrollment."""
        version = self.version
        where = None if where_checked else version.trigger.where
        holdout = version.scenario.holdout_percent
        for start in range(0, len(candidates), BATCH):
            batch = candidates[start : start + BATCH]
            chosen = list(range(len(batch))) if where is None else self._entry_condition(where, batch)
            holdouts = {i: in_holdout(batch[i].customer_id, version.id, holdout) for i in chosen}
            self.entering.add(_Chosen(self, batch, chosen, holdouts))

    def entered(self, chosen: _Chosen, refused: list[tuple[int, str, str]], fresh: list[Enrollment]) -> None:
        """Journal the re-entry rule's refusals among ``chosen``, then the entrants it kept (inserted as
        ``fresh``), and put those at their first step."""
        version = self.version
        for index, why, cause in refused:
            position = chosen.chosen[index]
            row = store.unsaved(chosen.batch[position], version.id, version.hash, chosen.holdouts[position])
            self.journal.add(row, "not_entered", why, at=row.entered_at, cause=cause)
        for row in fresh:
            note = "in the holdout group: measured, never messaged" if row.holdout else None
            self.journal.add(row, "entered", note, at=row.entered_at)
        self.runner.place(version, fresh, version.start, {r.id: r.entered_at for r in fresh})
        if len(self.journal.rows) >= BATCH:  # else the tick writes every scenario's entries in one statement
            self.journal.flush(self.conn)
        self.entries.count += len(fresh)
        self.entries.last_id = max([self.entries.last_id, *(r.id for r in fresh)])
        if fresh:
            first = min(r.entered_at for r in fresh)
            self.entries.earliest = first if self.entries.earliest is None else min(self.entries.earliest, first)


def _reentry(
    version: ScenarioVersion, entries: Sequence[tuple[str, datetime]], past: dict[str, tuple[bool, Any]]
) -> tuple[list[int], list[tuple[int, str, str]]]:
    """Apply the re-entry rule to ``entries`` (customer, entry time), in order, given each customer's ``past`` in
    the scenario (see ``store.histories``): the positions kept, and those refused with the reason and a stable
    cause. A customer is in a scenario at most once at a time."""
    rule = version.scenario.reentry
    keep: list[int] = []
    refused: list[tuple[int, str, str]] = []  # (position, reason, stable cause)
    seen: set[str] = set()
    for index, (customer_id, entered_at) in enumerate(entries):
        active, finished = past.get(customer_id, (False, None))
        if customer_id in seen or active:
            refused.append((index, "already in this scenario", "already_in"))
            continue
        if customer_id in past and rule.mode == "never":
            refused.append((index, "re-entry: never", "reentry_never"))
            continue
        if rule.mode == "cooldown" and finished is not None:
            until = finished + timedelta(seconds=rule.cooldown_seconds or 0)
            if entered_at < until:
                refused.append((index, f"re-entry: cool-down until {until.isoformat()}", "reentry_cooldown"))
                continue
        seen.add(customer_id)
        keep.append(index)
    return keep, refused
