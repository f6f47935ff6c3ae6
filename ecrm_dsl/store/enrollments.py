"""Enrollments: who is in which scenario version, at which step, due when."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Executable,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    type_coerce,
    update,
)

from ecrm_dsl.store.bulk import BulkInsert, BulkUpdate, instant, one_of_param, one_of_value
from ecrm_dsl.store.changes import Customers, changed_enrollments, inline
from ecrm_dsl.store.prepared import per_dialect, run
from ecrm_dsl.store.tables import TABLES, UTCDateTime

T = TABLES
E = T.enrollments
ACTIVE = "active"
FINISHED = ("completed", "converted", "exited")


class Enrollment(NamedTuple):
    """An enrollment as the runtime works with it: a tuple, since a due batch builds thousands of them."""

    id: int
    customer_id: str
    scenario_id: str
    scenario_hash: str
    entered_at: datetime
    entry_event_id: int | None
    entry_order_id: str | None
    node_id: str | None
    due_at: datetime | None
    previous_at: datetime | None
    waiting_since: datetime | None
    holdout: bool


_INSTANTS = frozenset({"entered_at", "due_at", "previous_at", "waiting_since"})
# In Enrollment's order. Instants come as the driver returns them (SQLite's text), each distinct value converted
# once per result: the rows of a batch share a few entry and due times.
_COLUMNS = [
    type_coerce(E.c[name], String).label(name) if name in _INSTANTS else E.c[name] for name in Enrollment._fields
]
_INSTANT_AT = tuple(index for index, name in enumerate(Enrollment._fields) if name in _INSTANTS)
_WIDTH = len(Enrollment._fields)


def _rows(result: Iterable[Any]) -> list[Enrollment]:
    memo: dict[Any, datetime] = {}
    return [_enrollment(row, memo) for row in result]


def _enrollment(row: Sequence[Any], memo: dict[Any, datetime]) -> Enrollment:
    """The enrollment in the first columns of ``row`` (``_COLUMNS``), its instants converted through ``memo``."""
    values = list(row[:_WIDTH])
    for index in _INSTANT_AT:
        raw = values[index]
        if raw is not None:
            found = memo.get(raw)
            if found is None:
                found = memo[raw] = instant(raw)
            values[index] = found
    return Enrollment(*values)


class Candidate(NamedTuple):
    """A customer a trigger fired for (a tuple: a newsletter's audience is tens of thousands)."""

    customer_id: str
    entered_at: datetime
    entry_event_id: int | None = None
    entry_order_id: str | None = None


def add_entered(conn: Connection, entrants: Sequence[tuple[str, str, Candidate, bool]]) -> list[Enrollment]:
    """Insert entrants (scenario id, scenario hash, candidate, the holdout flag it drew) as active enrollments,
    in their order, in one statement. Returns the rows as inserted, built from what was written rather than read
    back."""
    if not entrants:
        return []
    rows = [
        (sid, shash, ACTIVE, c.customer_id, c.entered_at, c.entry_event_id, c.entry_order_id, holdout, c.entered_at)
        for sid, shash, c, holdout in entrants
    ]
    ids = _ADD.ids(conn, rows)
    kept = zip(ids, entrants, strict=True)
    return [unsaved(c, sid, shash, holdout, i) for i, (sid, shash, c, holdout) in kept]


def unsaved(candidate: Candidate, scenario_id: str, scenario_hash: str, holdout: bool, id_: int = 0) -> Enrollment:
    """The enrollment a candidate is (``id_`` once inserted), or would have been: a refused candidate is
    journaled under its customer and scenario without ever being stored."""
    at = candidate.entered_at
    at = at if at.tzinfo is UTC else at.astimezone(UTC)  # as the store gives it back
    return Enrollment(
        id_,
        candidate.customer_id,
        scenario_id,
        scenario_hash,
        at,
        candidate.entry_event_id,
        candidate.entry_order_id,
        None,
        None,
        at,
        None,
        holdout,
    )


_ADD = BulkInsert(
    E,
    (
        *("scenario_id", "scenario_hash", "status"),
        *("customer_id", "entered_at", "entry_event_id", "entry_order_id", "holdout"),
        "previous_at",  # the entry time: where a first step's delay counts from
    ),
)


def histories(
    conn: Connection, scenario_ids: Sequence[str], customer_ids: Sequence[str]
) -> dict[str, dict[str, tuple[bool, Any]]]:
    """Per scenario, per customer: (has an active enrollment, when the last finished one ended), for the
    customers in those scenarios that have been in them."""
    if not scenario_ids or not customer_ids:
        return {}
    dialect = conn.dialect.name
    params = {
        "scenario_ids": one_of_value(dialect, sorted(set(scenario_ids))),
        "keys": one_of_value(dialect, sorted(set(customer_ids))),
    }
    found: dict[str, dict[str, tuple[bool, Any]]] = {}
    for scenario_id, customer_id, active, finished in run(conn, _histories(conn), params):
        found.setdefault(scenario_id, {})[customer_id] = (bool(active), finished)
    return found


@per_dialect
def _histories(dialect: str) -> Executable:
    """``histories``' statement: run for the candidates of every scenario a tick enters at once, the customers and
    the scenarios one parameter each as in bulk.one_of (a JSON array read by json_each on SQLite, an array on
    PostgreSQL); the (customer_id, scenario_id) index finds each customer's rows."""
    return (
        select(
            E.c.scenario_id,
            E.c.customer_id,
            func.max(case((E.c.status == ACTIVE, 1), else_=0)),
            func.max(E.c.finished_at),
        )
        .where(one_of_param(dialect, E.c.customer_id, "keys"), one_of_param(dialect, E.c.scenario_id, "scenario_ids"))
        .group_by(E.c.customer_id, E.c.scenario_id)
    )


_DUE_GROUPS = (
    select(E.c.scenario_hash, E.c.node_id)
    .distinct()
    .where(E.c.status == ACTIVE, E.c.node_id.is_not(None), E.c.due_at <= bindparam("now", type_=UTCDateTime()))
)
_AT_STEP = (E.c.status == ACTIVE, E.c.scenario_hash == bindparam("scenario_hash"), E.c.node_id == bindparam("node_id"))
_DUE_BATCH = (
    select(*_COLUMNS)
    .where(*_AT_STEP, E.c.due_at <= bindparam("now", type_=UTCDateTime()))
    .order_by(E.c.due_at, E.c.id)
    .limit(bindparam("limit", type_=Integer()))
)
_HEARD = exists().where(
    T.events.c.customer_id == E.c.customer_id,
    T.events.c.type == bindparam("event_type", type_=String()),
    T.events.c.occurred_at > E.c.waiting_since,
    T.events.c.occurred_at <= bindparam("now", type_=UTCDateTime()),
    or_(E.c.due_at.is_(None), T.events.c.occurred_at <= E.c.due_at),
)
# Only the waiting enrollments with an event of the awaited type since they began waiting and by their deadline:
# the others cannot hear anything this tick, and reading every waiting row every tick cost more than the probes.
_WAITING = (
    select(*_COLUMNS)
    # The scenario id as well as the version: SQLite then reads that scenario's active enrollments by the
    # (scenario_id, status) index, in id order, instead of every active enrollment of every scenario.
    .where(
        *_AT_STEP,
        E.c.scenario_id == bindparam("scenario_id", type_=String()),
        E.c.waiting_since.is_not(None),
        E.c.id > bindparam("after_id"),
        _HEARD,
    )
    .order_by(E.c.id)
    .limit(bindparam("limit", type_=Integer()))
)


def due_groups(conn: Connection, now: datetime) -> list[tuple[str, str]]:
    """(scenario version, step) pairs that have enrollments due now."""
    return sorted((row.scenario_hash, row.node_id) for row in run(conn, _DUE_GROUPS, {"now": now}))


def due_groups_among(conn: Connection, ids: Sequence[int], now: datetime) -> set[tuple[str, str]]:
    """``due_groups`` of the enrollments ``ids`` alone: after a batch, the only ones whose step it changed."""
    params = {"ids": one_of_value(conn.dialect.name, ids), "now": now}
    return {(row.scenario_hash, row.node_id) for row in run(conn, _due_groups_among(conn), params)}


@per_dialect
def _due_groups_among(dialect: str) -> Executable:
    # The status and time tests kept off their index, so that the planner starts from the ids (by the key)
    # rather than from every due row.
    return (
        select(E.c.scenario_hash, E.c.node_id)
        .distinct()
        .where(
            one_of_param(dialect, E.c.id, "ids"),
            func.coalesce(E.c.status, E.c.status) == ACTIVE,
            E.c.node_id.is_not(None),
            func.coalesce(E.c.due_at, E.c.due_at) <= bindparam("now", type_=UTCDateTime()),
        )
    )


def due_batch(conn: Connection, scenario_hash: str, node_id: str, now: datetime, limit: int) -> list[Enrollment]:
    params = {"scenario_hash": scenario_hash, "node_id": node_id, "now": now, "limit": limit}
    return _rows(run(conn, _DUE_BATCH, params))


def waiting(
    conn: Connection,
    scenario: tuple[str, str],
    node_id: str,
    event_type: str,
    now: datetime,
    limit: int,
    after_id: int,
) -> list[Enrollment]:
    """Enrollments of ``scenario`` (id, version hash) waiting at a step for ``event_type`` that have such an event
    in (waiting since, deadline] up to ``now``: those that may hear it (its ``same`` and ``where`` are still to
    judge), by id after ``after_id``."""
    scenario_id, scenario_hash = scenario
    params = {
        "scenario_id": scenario_id,
        "scenario_hash": scenario_hash,
        "node_id": node_id,
        "event_type": event_type,
        "now": now,
        "after_id": after_id,
        "limit": limit,
    }
    return _rows(run(conn, _WAITING, params))


_PLACE = BulkUpdate(E, ("node_id", "due_at", "previous_at", "waiting_since"), key="id")
_DEFER = BulkUpdate(E, ("due_at",), key="id")


def place(conn: Connection, moves: Sequence[dict[str, Any]]) -> None:
    """Put enrollments at a step: each move has eid, node, due, previous, waiting."""
    _PLACE.execute(conn, [(m["node"], m["due"], m["previous"], m["waiting"], m["eid"]) for m in moves])


def defer(conn: Connection, moves: Sequence[tuple[int, datetime]]) -> None:
    _DEFER.execute(conn, [(due, eid) for eid, due in moves])


def finish(conn: Connection, ids: Sequence[int], status: str, outcome: str, at: datetime) -> None:
    if ids:
        ids_value = one_of_value(conn.dialect.name, ids)
        params = {"ids": ids_value, "finish_status": status, "finish_outcome": outcome, "finish_at": at}
        run(conn, _finish(conn), params)


@per_dialect
def _finish(dialect: str) -> Executable:
    # SQLAlchemy reserves a column's own name in an UPDATE's SET: the parameters are named apart.
    return (
        update(E)
        .where(one_of_param(dialect, E.c.id, "ids"))
        .values(
            status=bindparam("finish_status", type_=String()),
            outcome=bindparam("finish_outcome", type_=String()),
            finished_at=bindparam("finish_at", type_=UTCDateTime()),
            node_id=None,
            due_at=None,
            waiting_since=None,
        )
    )


def by_ids(conn: Connection, ids: Sequence[int]) -> list[Enrollment]:
    if not ids:
        return []
    return _rows(run(conn, _by_ids(conn), {"ids": one_of_value(conn.dialect.name, ids)}))


@per_dialect
def _by_ids(dialect: str) -> Executable:
    return select(*_COLUMNS).where(one_of_param(dialect, E.c.id, "ids")).order_by(E.c.id)


def scheduled(conn: Connection, scenario_hash: str) -> list[Enrollment]:
    """Active enrollments of a version that wait for a time (not for an event)."""
    return _rows(
        conn.execute(
            select(*_COLUMNS)
            .where(E.c.scenario_hash == scenario_hash, E.c.status == ACTIVE, E.c.waiting_since.is_(None))
            .order_by(E.c.id)
        )
    )


def mark(conn: Connection, ids: Sequence[int], status: str, outcome: str, at: datetime) -> None:
    """End enrollments (also completed ones, for late conversions) without touching their finish time twice."""
    if ids:
        conn.execute(
            update(E)
            .where(E.c.id.in_(ids))
            .values(
                status=status,
                outcome=outcome,
                finished_at=func.coalesce(E.c.finished_at, at),
                node_id=None,
                due_at=None,
                waiting_since=None,
            )
        )


def move_version(
    conn: Connection,
    scenario_id: str,
    old_hash: str,
    new_hash: str,
    node_map: dict[str, str],
    listening: set[str],
    now: datetime,
) -> int:
    """Move in-flight enrollments of one version to another, renaming steps by ``node_map``.

    A customer who was listening for an event at a step that no longer waits for one acts at the next tick.
    """
    moved = 0
    for old, new in node_map.items():
        where = and_(
            E.c.scenario_id == scenario_id, E.c.scenario_hash == old_hash, E.c.status == ACTIVE, E.c.node_id == old
        )
        if new not in listening:
            conn.execute(update(E).where(where, E.c.waiting_since.is_not(None)).values(waiting_since=None, due_at=now))
        result = conn.execute(update(E).where(where).values(scenario_hash=new_hash, node_id=new))
        moved += result.rowcount or 0
    return moved


def listening(conn: Connection, scenario_hash: str) -> list[Enrollment]:
    """Active enrollments of a version that listen for an event."""
    return _rows(
        conn.execute(
            select(*_COLUMNS)
            .where(E.c.scenario_hash == scenario_hash, E.c.status == ACTIVE, E.c.waiting_since.is_not(None))
            .order_by(E.c.id)
        )
    )


def set_deadlines(conn: Connection, moves: Sequence[tuple[int, datetime | None]]) -> None:
    if moves:
        conn.execute(
            update(E).where(E.c.id == bindparam("eid")).values(due_at=bindparam("due")),
            [{"eid": i, "due": d} for i, d in moves],
        )


def in_flight(conn: Connection) -> dict[tuple[str, str], dict[str | None, int]]:
    """Active enrollments counted per (scenario, version) and step."""
    rows = conn.execute(
        select(E.c.scenario_id, E.c.scenario_hash, E.c.node_id, func.count().label("n"))
        .where(E.c.status == ACTIVE)
        .group_by(E.c.scenario_id, E.c.scenario_hash, E.c.node_id)
    )
    counts: dict[tuple[str, str], dict[str | None, int]] = {}
    for row in rows:
        counts.setdefault((row.scenario_id, row.scenario_hash), {})[row.node_id] = int(row.n)
    return counts


def status_counts(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        select(E.c.scenario_id, E.c.status, func.count().label("n")).group_by(E.c.scenario_id, E.c.status)
    )
    return {(row.scenario_id, row.status): int(row.n) for row in rows}


def active_hashes(conn: Connection) -> set[str]:
    """Versions with enrollments still open: active, or completed (a goal window can outlast the flow).

    Asked per deployed version, so the cost follows the handful of versions, not the enrollments that pile up.
    """
    return set(run(conn, _ACTIVE_HASHES).scalars())


# Through the (scenario_id, status) index: an index led by the hash would tempt SQLite's planner into scanning a
# version's enrollments for every new event when it settles goals.
_STILL_OPEN = (
    select(E.c.id)
    .where(
        E.c.scenario_id == T.scenario_versions.c.scenario_id,
        E.c.status.in_([ACTIVE, "completed"]),
        E.c.scenario_hash == T.scenario_versions.c.scenario_hash,
    )
    .exists()
)
_ACTIVE_HASHES = select(T.scenario_versions.c.scenario_hash).distinct().where(_STILL_OPEN)


@dataclass(frozen=True)
class EventPair:
    """An enrolled customer's event after entry: ``status`` is the enrollment's as read (active, completed)."""

    enrollment: Enrollment
    status: str
    event: dict[str, Any]


# The statement shapes of event_pairs, built once each: (dialect, completed ones read, narrowed to changed
# customers).
_PAIR_SHAPES: dict[tuple[str, bool, bool], Select[Any]] = {}


def _pairs_statement(dialect: str, completed: bool, narrowed: bool) -> Select[Any]:
    ev = T.events
    statuses = E.c.status == ACTIVE
    if completed:
        statuses = or_(statuses, and_(E.c.status == "completed", E.c.entered_at >= bindparam("completed_since")))
    # Narrowed to changed customers, their few enrollments lead: SQLite would otherwise start from every event
    # of the type in (since, now] — days of them, with late arrivals — so the bounds are kept off its index.
    at = ev.c.occurred_at if not narrowed else func.coalesce(ev.c.occurred_at, ev.c.occurred_at)
    query = (
        select(*_COLUMNS, E.c.status, ev.c.id.label("event_id"), ev.c.occurred_at, ev.c.properties, ev.c.type)
        .select_from(E.join(ev, ev.c.customer_id == E.c.customer_id))
        .where(
            E.c.scenario_hash.in_(bindparam("hashes", expanding=True)),
            statuses,
            ev.c.type.in_(bindparam("event_types", expanding=True)),
            ev.c.occurred_at > E.c.entered_at,
            at > bindparam("since", type_=UTCDateTime()),
            at <= bindparam("now", type_=UTCDateTime()),
        )
        .order_by(E.c.id, ev.c.occurred_at, ev.c.id)
    )
    if narrowed:
        query = changed_enrollments(
            query,
            one_of_param(dialect, E.c.customer_id, "changed_ids"),
            bindparam("after"),
            # Both columns of the (scenario_id, status) index, so it finds the new ones by id range.
            E.c.scenario_id.in_(bindparam("scenario_ids", expanding=True)),
            E.c.status.in_([ACTIVE, "completed"]),
        )
    return query


def event_pairs(
    conn: Connection,
    versions: Mapping[str, str],
    event_types: Sequence[str],
    *,
    since: datetime,
    now: datetime,
    completed_since: datetime | None,
    changed: tuple[Customers, int] | None = None,
) -> dict[str, list[EventPair]]:
    """Events of the types by customers enrolled in ``versions`` (scenario hash → scenario id) after their entry,
    in (since, now], per type, by enrollment then event time: one query for every version with a goal or stop
    rule on any of them (each rule still picks its own versions and types).

    Open enrollments are active ones, and completed ones entered after ``completed_since`` (a goal window can
    outlast the flow). ``changed``: (the customers changed since the last tick, the last enrollment id judged
    then) — only their enrollments and newer ones can have an event not judged yet, so only they are read.
    """
    if not versions or not event_types:
        return {}
    params: dict[str, Any] = {
        "hashes": sorted(versions),
        "event_types": sorted(set(event_types)),
        "since": since,
        "now": now,
        "completed_since": completed_since,
    }
    scenario_ids = sorted(set(versions.values()))
    ids = inline(changed[0]) if changed is not None else None
    if changed is not None and ids is None:
        # A bulk import's changes stay a query of the log: a statement of its own, built for this tick.
        query = _pairs_statement(conn.dialect.name, completed_since is not None, False)
        narrowing = (E.c.scenario_id.in_(scenario_ids), E.c.status.in_([ACTIVE, "completed"]))
        query = changed_enrollments(query, changed[0], changed[1], *narrowing)
    else:
        shape = (conn.dialect.name, completed_since is not None, changed is not None)
        if shape not in _PAIR_SHAPES:
            _PAIR_SHAPES[shape] = _pairs_statement(*shape)
        query = _PAIR_SHAPES[shape]
        if changed is not None and ids is not None:
            changed_ids = one_of_value(conn.dialect.name, ids)
            params.update(changed_ids=changed_ids, after=changed[1], scenario_ids=scenario_ids)
    if completed_since is None:
        del params["completed_since"]
    pairs: dict[str, list[EventPair]] = {}
    rows = conn.execute(query, params) if changed is not None and ids is None else run(conn, query, params)
    memo: dict[Any, datetime] = {}
    for row in rows:
        data = row._mapping
        enrollment = _enrollment(row, memo)
        event = {"id": data["event_id"], "occurred_at": data["occurred_at"], "properties": data["properties"]}
        pairs.setdefault(data["type"], []).append(EventPair(enrollment, data["status"], event))
    return pairs


# The shared stop-condition statements by shape (the condition's SQL text and values say everything about
# them): bounded, since a long-running scheduler sees every plan deployed while it runs.
_HOLDING_SHAPES: dict[tuple[Any, ...], Select[Any]] = {}
_HOLDING_LIMIT = 256


def _holding_statement(dialect: str, condition: Select[Any], narrowed: bool) -> Select[Any]:
    # scenario_id too, so the (scenario_id, status) index finds the versions' active enrollments directly.
    own = (E.c.scenario_id.in_(bindparam("scenario_ids", expanding=True)), E.c.status == ACTIVE)
    hashes = E.c.scenario_hash.in_(bindparam("hashes", expanding=True))
    query = condition.add_columns(E.c.scenario_hash).where(*own, hashes)
    if narrowed:
        changed = one_of_param(dialect, E.c.customer_id, "changed_ids")
        query = changed_enrollments(query, changed, bindparam("after"), *own)
    return query


def holding(
    conn: Connection,
    condition: Select[Any],
    shape: Hashable,
    versions: Mapping[str, str],
    clock: Mapping[str, Any],
    changed: tuple[Customers, int] | None,
) -> list[tuple[int, str]]:
    """(enrollment id, scenario hash) of the active enrollments of ``versions`` (hash → scenario id) for which
    ``condition`` (a ``select_enrollments`` query, the same for all of them; ``shape`` names it) holds, judged
    with the ``clock`` values. ``changed``: only the enrollments of those customers and the ones after that id."""
    params: dict[str, Any] = {**clock, "hashes": sorted(versions), "scenario_ids": sorted(set(versions.values()))}
    ids = inline(changed[0]) if changed is not None else None
    if changed is not None and ids is None:
        # A bulk import's changes stay a query of the log: a statement of its own, built for this tick.
        own = (E.c.scenario_id.in_(params["scenario_ids"]), E.c.status == ACTIVE)
        query = condition.add_columns(E.c.scenario_hash).where(*own, E.c.scenario_hash.in_(params["hashes"]))
        query = changed_enrollments(query, changed[0], changed[1], *own)
    else:
        dialect = conn.dialect.name
        key = (dialect, shape, changed is not None)
        if key not in _HOLDING_SHAPES:
            if len(_HOLDING_SHAPES) >= _HOLDING_LIMIT:
                _HOLDING_SHAPES.clear()
            _HOLDING_SHAPES[key] = _holding_statement(dialect, condition, changed is not None)
        query = _HOLDING_SHAPES[key]
        if changed is not None and ids is not None:
            params.update(changed_ids=one_of_value(dialect, ids), after=changed[1])
    rows = conn.execute(query, params) if changed is not None and ids is None else run(conn, query, params)
    return [(int(row[0]), str(row[1])) for row in rows]


def entered_since(conn: Connection, after: int) -> dict[str, int]:
    """Enrollments with ids after ``after``, per scenario id."""
    query = select(E.c.scenario_id, func.count()).where(E.c.id > after).group_by(E.c.scenario_id)
    return {str(scenario_id): int(n) for scenario_id, n in conn.execute(query)}
