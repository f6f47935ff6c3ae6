"""Which schema revision a store is at, and bringing it to the code's (Alembic, the same for every backend).

The revisions live in :mod:`ecrm_dsl.store.migrations`. A new store is created at the head revision; a store at
another revision is refused until ``ecrm store upgrade`` brings it there (or, if a newer ecrm-dsl upgraded it,
until ecrm-dsl is upgraded). A store made before migrations existed has our tables and no ``alembic_version``:
it counts as older than the baseline, which adopts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store.tables import TABLES

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
UNVERSIONED = "unversioned"  # what :func:`current` says of a store made before migrations


class StoreSchemaError(Exception):
    """This ecrm-dsl cannot use the store as it is (its schema revision, a missing driver); the message says what
    to run."""


@dataclass(frozen=True)
class Revision:
    """Where a store is (``current``: None for an empty database) and where the code is (``head``)."""

    current: str | None
    head: str

    @property
    def known(self) -> bool:
        return self.current is None or self.current == UNVERSIONED or self.current in _revisions()


def _config(conn: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


@cache
def _revisions() -> frozenset[str]:
    return frozenset(r.revision for r in _script().walk_revisions())


def head() -> str:
    found = _script().get_current_head()
    assert found is not None, "the migrations folder has no revision"
    return found


def current(conn: Connection) -> str | None:
    """The store's revision: None for an empty database, :data:`UNVERSIONED` for one made before migrations."""
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is None and inspect(conn).has_table(TABLES.customers.name):
        return UNVERSIONED
    return revision


def revision(engine: Engine) -> Revision:
    with engine.connect() as conn:
        return Revision(current(conn), head())


def upgrade(engine: Engine) -> Revision:
    """Bring the store to the head revision (an empty database gets the whole schema); returns where it was."""
    with engine.begin() as conn:
        # Processes starting together on an empty database: one creates the schema, the others then find it.
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('ecrm_dsl.store.revisions.upgrade'))"))
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, and the DDL inside this transaction
        before = current(conn)
        if before is not None and before != UNVERSIONED and before not in _revisions():
            raise StoreSchemaError(newer_message(before))
        command.upgrade(_config(conn), "head")
    return Revision(before, head())


def check(engine: Engine) -> None:
    """Refuse a store whose schema revision is not the code's (an empty database passes: nothing to read yet)."""
    found = revision(engine)
    if found.current is None or found.current == found.head:
        return
    if not found.known:
        raise StoreSchemaError(newer_message(found.current))
    raise StoreSchemaError(
        tr(
            "the store's schema is older than this ecrm-dsl (revision {current}, the code needs {head}): run "
            "`ecrm store upgrade` first",
            current=found.current,
            head=found.head,
        )
    )


def newer_message(revision: str) -> str:
    return tr(
        "this store was upgraded by a newer ecrm-dsl (schema revision {revision}, unknown to this version): upgrade "
        "ecrm-dsl",
        revision=revision,
    )
