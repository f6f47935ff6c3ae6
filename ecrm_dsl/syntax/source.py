"""Reading source files safely: a size limit, strict UTF-8, and positioned errors instead of tracebacks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.syntax.limits import MAX_SOURCE_BYTES

__all__ = ["MAX_SOURCE_BYTES", "Source", "decode_source", "read_bounded", "read_source"]


@dataclass(frozen=True, slots=True)
class Source:
    """The text of one source file and the name diagnostics use for it."""

    name: str
    text: str


def read_bounded(path: Path, limit: int = MAX_SOURCE_BYTES) -> bytes | None:
    """The file's bytes, or None when it holds more than ``limit``: never reads more than ``limit + 1`` bytes,
    so a huge file, a growing one or a device such as /dev/zero costs no more than a small one."""
    with path.open("rb") as stream:
        raw = stream.read(limit + 1)
    return raw if len(raw) <= limit else None


def read_source(path: Path, display_name: str | None = None) -> Source:
    """Read ``path`` as UTF-8 text, or raise :class:`DiagnosticError` saying why not."""
    name = display_name or str(path)
    where = Span(name, 1, 1)
    try:
        raw = read_bounded(path)
    except OSError as exc:
        raise DiagnosticError(
            [Diagnostic("E001", tr("cannot read the file: {reason}", reason=exc.strerror), where)]
        ) from exc
    if raw is None:
        raise DiagnosticError([Diagnostic("E002", _too_large(path), where, hint=tr("split it into several files"))])
    return decode_source(raw, name)


def _too_large(path: Path) -> str:
    """The size, when the file system knows it (a device or a growing file may say 0)."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if size > MAX_SOURCE_BYTES:
        return tr(
            "the file is {size} bytes; scenario sources are limited to {limit}",
            size=f"{size:,}",
            limit=f"{MAX_SOURCE_BYTES:,}",
        )
    return tr(
        "the file holds more than {limit} bytes; scenario sources are limited to that", limit=f"{MAX_SOURCE_BYTES:,}"
    )


def decode_source(raw: bytes, name: str) -> Source:
    """Decode bytes as UTF-8 (a BOM is allowed), naming the first bad byte's position if they are not."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise DiagnosticError(
            [
                Diagnostic(
                    "E001",
                    tr("the file is not UTF-8 text (byte 0x{byte} cannot be decoded)", byte=f"{raw[exc.start]:02x}"),
                    Span(name, line, column),
                    hint=tr("save the file as UTF-8 (Shift_JIS and EUC-JP are not accepted)"),
                )
            ]
        ) from None
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        raise DiagnosticError(
            [Diagnostic("E001", tr("the file contains a NUL byte; it is not a text file"), Span(name, line, column))]
        )
    return Source(name, text)
