"""The customer store: SQLAlchemy Core tables shared by the condition runtime and the scheduler."""

from ecrm_dsl.store.tables import TABLES, StoreTables, UTCDateTime, make_tables, metadata

__all__ = ["TABLES", "StoreTables", "UTCDateTime", "make_tables", "metadata"]
