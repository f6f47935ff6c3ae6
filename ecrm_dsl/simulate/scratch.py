"""The scratch store a simulation runs in: a new SQLite file holding a copy of the source store's customer data.

The source is only ever read. Nothing the runtime keeps (deployments, enrollments, decisions, outbox) is copied:
a simulation starts from a store on which nothing has run, so what it reports is the plan's doing alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.store import simulation as store
from ecrm_dsl.store.database import open_store

SIMULATION_KEY = "simulation"  # scheduler_state key: marks a scratch store and keeps the replay's settings


class ScratchExists(Exception):
    """The scratch path already holds a file: a simulation never overwrites anything."""


def open_scratch(path: Path) -> Engine:
    """A new, empty store at ``path``, tuned for throughput: losing it to a crash costs only a re-run."""
    if path.exists():
        raise ScratchExists(
            tr("{path} already exists; a simulation writes a new store (remove it or choose another)", path=path)
        )
    # Opened as a URI so that ATTACH honours ``mode=ro`` for the source, whatever SQLite was compiled with.
    engine = open_store(f"sqlite:///{path.resolve().as_uri()}?uri=true")
    event.listen(engine, "connect", store.throwaway_pragmas)
    engine.dispose()  # connections opened before the listener keep the durable settings
    with engine.begin() as conn:  # marked at once, so a replay that fails half-way can be replaced by the next
        store.mark(conn, SIMULATION_KEY, "{}")
    return engine


def copy_history(
    source: Engine,
    scratch: Engine,
    progress: Callable[[str], None] = lambda _: None,
    log_since: datetime | None = None,
) -> dict[str, int]:
    """Copy the customer data tables from ``source`` into the empty ``scratch``; returns rows per table.
    ``log_since``: the change log needs only rows effective from then on (see :func:`log_since`); by default it
    gets every row, as if the history had been written row by row."""
    if source.dialect.name == "sqlite" and source.url.database:
        database = source.url.database
        if source.url.query.get("uri") == "true":  # a read-only URI store (ecrm diff): the copy attaches it read-only
            database = database.removeprefix("file:")
        counts = _attach_copy(Path(database), scratch, progress, log_since)
    else:
        counts = _streamed_copy(source, scratch, progress)
    with scratch.begin() as conn:
        # A customer with no sign-up time (an imported order history) joins the replay at their first order or
        # event, not before: otherwise a newsletter in the first month would reach customers who came a year later.
        dated = store.date_unknown_sign_ups(conn)
        store.index_event_times(conn)
    if dated:
        progress(
            tr(
                "{count} customers without a sign-up time are taken as known from their first order or event",
                count=f"{dated:,}",
            )
        )
    return counts


def log_since(plan: Plan, start: datetime) -> datetime:
    """The earliest change a replay from ``start`` can ask the log for: its readers first look at ``start`` with
    a full pass, and later look back by the longest time window a condition of the plan reads
    (``count(survey.answered, 90d)``)."""
    return start - timedelta(seconds=max(_windows(plan.to_json()), default=0))


def _windows(node: Any) -> Iterator[int]:
    """The durations, in seconds, of every function call's window in a plan's conditions (normal form)."""
    if isinstance(node, list):
        if node and node[0] == "call":
            yield from (arg[2] for arg in node[2:] if isinstance(arg, list) and arg[:2] == ["lit", "duration"])
        for child in node:
            yield from _windows(child)
    elif isinstance(node, dict):
        for child in node.values():
            yield from _windows(child)


def _attach_copy(
    database: Path, scratch: Engine, progress: Callable[[str], None], log_since: datetime | None = None
) -> dict[str, int]:
    """SQLite to SQLite through ATTACH, the source opened read-only."""
    with scratch.connect() as conn:
        return store.attach_copy(conn, database.resolve().as_uri() + "?mode=ro", progress, log_since)


def _streamed_copy(source: Engine, scratch: Engine, progress: Callable[[str], None]) -> dict[str, int]:
    """Any database to SQLite, a batch at a time."""
    with source.connect() as src, scratch.begin() as dst:
        return store.streamed_copy(src, dst, progress)
