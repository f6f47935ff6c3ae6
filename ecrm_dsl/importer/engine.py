"""Opening the store for an import: the one place that makes the engine (the store's own ``open_store``:
a SQLite file or a database URL, foreign keys enforced, tables created when missing)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from ecrm_dsl.store.database import open_store


def open_engine(location: Path | str) -> Engine:
    return open_store(location)
