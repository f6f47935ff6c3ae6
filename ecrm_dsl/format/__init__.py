"""``ecrm fmt``: one canonical layout for scenario sources in both syntaxes, comments kept, meaning checked."""

from ecrm_dsl.format.engine import FileResult, checked_format, format_file, format_source, write_atomically
from ecrm_dsl.format.safety import UnsafeFormat

__all__ = ["FileResult", "UnsafeFormat", "checked_format", "format_file", "format_source", "write_atomically"]
