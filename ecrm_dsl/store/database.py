"""Opening the customer store: a SQLite file by default (embedded, nothing to set up), or a server URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect

from ecrm_dsl.store import changes
from ecrm_dsl.store.tables import TABLES

DEFAULT_STORE = "ecrm.db"


def store_url(location: str | Path) -> str:
    """A SQLAlchemy URL for ``location``: a URL as given, or a path to a SQLite file."""
    text = str(location)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


def open_store(location: str | Path = DEFAULT_STORE, *, create: bool = True) -> Engine:
    """An engine on the store, with its tables (and the triggers that feed the change log) created when missing."""
    url = store_url(location)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if create:
        had_history = inspect(engine).has_table(TABLES.events.name)
        new_log = not inspect(engine).has_table(TABLES.customer_changes.name)
        TABLES.metadata.create_all(engine)
        with engine.begin() as conn:
            # create_all skips tables that exist, indexes included: a store made by an older version gets the
            # indexes added since.
            for table in TABLES.metadata.sorted_tables:
                for index in table.indexes:
                    index.create(conn, checkfirst=True)
            changes.install(conn)  # the change log's feeds, likewise added to older stores
            if had_history and new_log:
                changes.backfill(conn)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite leaves them off unless asked, per connection
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (status, explain) never block the scheduler
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL keeps commits durable across application crashes
    cursor.close()
