"""Formatting one file: read it, format it, check the result, and (if asked) write it atomically."""

from __future__ import annotations

import codecs
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ecrm_dsl.format import safety
from ecrm_dsl.format.text_format import format_text
from ecrm_dsl.format.yaml_format import format_yaml
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.syntax.source import read_source

SUFFIXES = (".ecrm", ".yaml", ".yml")


def format_source(text: str, suffix: str, file: str) -> str:
    """The canonical text of a source (``suffix`` picks the syntax); :class:`DiagnosticError` if it is broken."""
    text = text.replace("\r\n", "\n")  # canonical line ends are LF
    if suffix == ".ecrm":
        return format_text(text, file)
    return format_yaml(text, file)


def checked_format(text: str, suffix: str, file: str) -> str:
    """:func:`format_source`, then the safety checks; :class:`safety.UnsafeFormat` if any fails."""
    formatted = format_source(text, suffix, file)
    safety.check(text, formatted, suffix, file)
    try:
        again = format_source(formatted, suffix, file)
    except DiagnosticError as exc:
        raise safety.UnsafeFormat(tr("the formatted text does not format again: {problem}", problem=exc)) from None
    if again != formatted:
        raise safety.UnsafeFormat(tr("formatting is not stable: a second run would change the result again"))
    return formatted


@dataclass
class FileResult:
    """What happened to one file. ``formatted`` is None when it could not be formatted."""

    path: Path
    display: str
    original: str = ""
    formatted: str | None = None
    findings: list[Diagnostic] = field(default_factory=list)  # it does not read or parse: left untouched
    internal: str | None = None  # the formatter refused its own output: left untouched

    @property
    def changed(self) -> bool:
        return self.formatted is not None and self.formatted != self.original


def format_file(path: Path, display: str) -> FileResult:
    result = FileResult(path, display)
    try:
        result.original = read_source(path, display).text
        result.formatted = checked_format(result.original, path.suffix, display)
    except DiagnosticError as exc:
        result.findings = exc.diagnostics
    except safety.UnsafeFormat as exc:
        result.internal = str(exc)
    except Exception as exc:  # a formatter bug must never cost the user their file
        if os.environ.get("ECRM_DEBUG"):
            raise
        result.internal = f"{type(exc).__name__}: {exc}"
    if result.internal is not None:
        result.formatted = None
    return result


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, its BOM kept if it had one) so that no reader sees half a file."""
    with path.open("rb") as handle:
        bom = handle.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
    data = (codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8")
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".fmt")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
