"""``ecrm import``: customers, orders (with their lines), order lines, subscriptions and events from CSV.

Every row is checked (types, required cells, references, the customer schema); problems are reported with
their CSV line and nothing is written unless the whole file is good. Rows are upserted by natural key, so
importing the same file again changes nothing.
"""

from __future__ import annotations

from ecrm_dsl.importer.csv_source import DEFAULT_ENCODING, is_text_encoding
from ecrm_dsl.importer.engine import open_engine
from ecrm_dsl.importer.kinds import LOADERS
from ecrm_dsl.importer.mapping import KindMapping, Mapping, MappingError, load_mapping
from ecrm_dsl.importer.run import ImportRequest, ImportResult, make_loader, run_import
from ecrm_dsl.importer.shipped import detect, mapping_named, shipped_names, shipped_path

KINDS = tuple(LOADERS)

__all__ = [
    "DEFAULT_ENCODING",
    "KINDS",
    "ImportRequest",
    "ImportResult",
    "KindMapping",
    "Mapping",
    "MappingError",
    "detect",
    "is_text_encoding",
    "load_mapping",
    "make_loader",
    "mapping_named",
    "open_engine",
    "run_import",
    "shipped_names",
    "shipped_path",
]
