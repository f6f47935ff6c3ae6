"""Opening the customer store: a SQLite file by default (embedded, nothing to set up), or a server URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store import revisions
from ecrm_dsl.store.revisions import StoreSchemaError

DEFAULT_STORE = "ecrm.db"
WAL_CHECKPOINT_PAGES = 10_000


def store_url(location: str | Path) -> str:
    """A SQLAlchemy URL for ``location``: a URL as given, or a path to a SQLite file. A PostgreSQL URL without a
    driver (``postgresql://``, ``postgres://`` as hosting services hand them out) gets psycopg 3, the one the
    ``postgres`` extra installs."""
    text = str(location)
    if "://" not in text:
        return f"sqlite:///{Path(text).resolve()}"
    scheme, rest = text.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else text


def connect(location: str | Path = DEFAULT_STORE) -> Engine:
    """An engine on the store as it is: no table created, no schema revision checked (``ecrm store`` uses it)."""
    url = store_url(location)
    try:
        engine = create_engine(url)
    except ModuleNotFoundError as exc:
        if url.startswith("postgresql"):
            raise StoreSchemaError(
                tr(
                    "a PostgreSQL store needs its driver ({module} is not installed): pip install 'ecrm-dsl[postgres]'",
                    module=exc.name,
                )
            ) from None
        raise
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def open_store(location: str | Path = DEFAULT_STORE, *, create: bool = True) -> Engine:
    """An engine on the store, created at the code's schema revision when the database is empty (``create``).

    Raises :class:`StoreSchemaError` for a store at another revision: older ones need ``ecrm store upgrade``."""
    engine = connect(location)
    try:
        if create and revisions.revision(engine).current is None:
            revisions.upgrade(engine)
        revisions.check(engine)
    except SQLAlchemyError:
        if create:
            raise
        return engine  # not a readable database at all: the caller's first query says so, in its own words
    except StoreSchemaError as exc:
        engine.dispose()
        raise StoreSchemaError(f"{engine.url.render_as_string(hide_password=True)}: {exc}") from None
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite leaves them off unless asked, per connection
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (status, explain) never block the scheduler
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL keeps commits durable across application crashes
    # A tick's writes land on index pages spread over the store (a customer's journal, outbox, enrollments). A
    # checkpoint copies each page once however often the WAL holds it: every ~40 MB instead of SQLite's 4 MB, a
    # busy hour's hot pages are copied once, not ten times (a fifth of an F2 day's CPU at 100k).
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cursor.close()
