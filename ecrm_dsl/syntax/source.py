"""Reading source files safely: a size limit, strict UTF-8, and positioned errors instead of tracebacks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError

# Scenario sources are hand-written; anything this large is a mistake or an attack.
MAX_SOURCE_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class Source:
    """The text of one source file and the name diagnostics use for it."""

    name: str
    text: str


def read_source(path: Path, display_name: str | None = None) -> Source:
    """Read ``path`` as UTF-8 text, or raise :class:`DiagnosticError` saying why not."""
    name = display_name or str(path)
    where = Span(name, 1, 1)
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise DiagnosticError(
                [
                    Diagnostic(
                        "E002",
                        f"the file is {size:,} bytes; scenario sources are limited to {MAX_SOURCE_BYTES:,}",
                        where,
                        hint="split it into several files",
                    )
                ]
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise DiagnosticError([Diagnostic("E001", f"cannot read the file: {exc.strerror}", where)]) from exc
    return decode_source(raw, name)


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
                    f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded)",
                    Span(name, line, column),
                    hint="save the file as UTF-8 (Shift_JIS and EUC-JP are not accepted)",
                )
            ]
        ) from None
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        raise DiagnosticError(
            [Diagnostic("E001", "the file contains a NUL byte; it is not a text file", Span(name, line, column))]
        )
    return Source(name, text)
