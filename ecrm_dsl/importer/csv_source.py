"""Reading a CSV file as a stream of records, each with the line it starts on.

Line numbers are physical lines (the header, when there is one, is line 1), so a record whose quoted value
spans several lines is reported at its first line and the records after it keep their true line numbers.
Undecodable bytes and malformed CSV stop the read with an :class:`InputError` at the right line.

The mapping's :class:`~ecrm_dsl.importer.options.FileShape` says how the file is written: the delimiter (one
character, or ``whitespace``: fields separated by runs of spaces and tabs, nothing quoted, as fixed-width
research datasets are), and whether there is a header row (without one, the mapping's ``fields`` name the
columns and the first line is data).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ecrm_dsl.importer.options import WHITESPACE, FileShape
from ecrm_dsl.importer.problems import InputError
from ecrm_dsl.language.i18n import tr

DEFAULT_ENCODING = "utf-8-sig"  # UTF-8, with or without the byte order mark Excel writes
SHIFT_JIS = "cp932"
_UTF8 = {"utf-8", "utf_8", "utf8", "utf-8-sig", "utf_8_sig"}


def is_text_encoding(name: str) -> bool:
    """Whether ``name`` is a codec that decodes bytes to text (rot13 and zlib are codecs too, but not that)."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        return False
    return getattr(info, "_is_text_encoding", True) and info.incrementaldecoder is not None


@dataclass(frozen=True, slots=True)
class Record:
    line: int
    cells: list[str]


class CsvSource:
    """``with CsvSource(path) as source: source.header …; for record in source.records(): …``"""

    def __init__(self, path: Path, encoding: str = DEFAULT_ENCODING, shape: FileShape | None = None):
        self.path = path
        self.encoding = encoding
        self.shape = shape or FileShape()
        self._raw: io.BufferedReader | None = None
        self._text: io.TextIOWrapper | None = None
        self._reader: Iterator[list[str]] | None = None
        self._last_line = 0
        self.header: Record = Record(1, [])

    def __enter__(self) -> CsvSource:
        try:
            self._raw = open(self.path, "rb")
        except OSError as exc:
            raise InputError(1, tr("cannot read the file: {reason}", reason=exc.strerror)) from None
        self._text = io.TextIOWrapper(self._raw, encoding=self.encoding, errors="strict", newline="")
        if self.shape.delimiter == WHITESPACE:
            self._reader = _WhitespaceReader(self._text)
        else:
            self._reader = csv.reader(self._text, delimiter=self.shape.delimiter, strict=True)
        if not self.shape.header:
            self.header = Record(0, list(self.shape.fields))
            return self
        header = self._next()
        if header is None:
            raise InputError(1, tr("the file is empty"), tr("the first line must be the header row"))
        self.header = header
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        if self._text is not None:
            self._text.close()
        elif self._raw is not None:
            self._raw.close()

    @property
    def bytes_read(self) -> int:
        """How far into the file reading has got (it reads ahead in chunks): for showing progress."""
        return self._raw.tell() if self._raw is not None and not self._raw.closed else 0

    def records(self) -> Iterator[Record]:
        while (record := self._next()) is not None:
            yield record

    def _next(self) -> Record | None:
        assert self._reader is not None
        reader = self._reader
        while True:
            start = self._last_line + 1
            try:
                cells = next(reader)
            except StopIteration:
                return None
            except UnicodeError:  # a decode error, or a codec's own complaint (UTF-16 without a BOM)
                raise self._decode_error() from None
            except csv.Error as exc:
                end = reader.line_num  # type: ignore[attr-defined]
                if end > start:
                    message = tr("malformed CSV (read up to line {end}): {problem}", end=end, problem=exc)
                else:
                    message = tr("malformed CSV: {problem}", problem=exc)
                raise InputError(start, message, _csv_hint(str(exc))) from None
            self._last_line = reader.line_num  # type: ignore[attr-defined]
            if any("\x00" in c for c in cells):
                raise InputError(
                    start, tr("the line has a NUL character"), tr("the file may be UTF-16 or not text at all")
                )
            if cells and any(c.strip() for c in cells):
                return Record(start, cells)

    def _decode_error(self) -> InputError:
        line, sample = first_undecodable_line(self.path, self.encoding)
        if self.encoding.lower().replace("_", "-") in _UTF8:
            if _decodes(sample, SHIFT_JIS):
                hint = tr("it looks like Shift_JIS (CP932), as Japanese EC exports often are: add --encoding cp932")
            else:
                hint = tr("save the file as UTF-8, or give its encoding with --encoding")
            return InputError(line, tr("the file is not UTF-8 text"), hint)
        return InputError(
            line,
            tr("the file is not {encoding} text", encoding=self.encoding),
            tr("give the file's encoding with --encoding"),
        )


class _WhitespaceReader:
    """Like ``csv.reader`` (an iterator of rows with ``line_num``), for fields separated by spaces and tabs."""

    def __init__(self, text: io.TextIOWrapper):
        self._lines = iter(text)
        self.line_num = 0

    def __iter__(self) -> _WhitespaceReader:
        return self

    def __next__(self) -> list[str]:
        line = next(self._lines)
        self.line_num += 1
        return line.split()


def _csv_hint(message: str) -> str:
    if "end of data" in message:
        return tr("a value opened with a double quote is never closed")
    if "field limit" in message:
        return tr("a value is too long to be real: probably a double quote that is never closed")
    return tr('a value with a quote inside must be quoted, the quote doubled: "a ""b"" c"')


def first_undecodable_line(path: Path, encoding: str) -> tuple[int, bytes]:
    """The first physical line that does not decode, and its bytes (the text decoder reads ahead in blocks)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    number, line = 0, b""
    with open(path, "rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                decoder.decode(line)
            except UnicodeError:
                return number, line
        try:
            decoder.decode(b"", final=True)
        except UnicodeError:
            return number, line
    return 1, b""  # pragma: no cover - only reached if the file changed while being read


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
