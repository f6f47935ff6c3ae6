"""Keeping credentials out of everything ``ecrm`` prints: database URLs, SMTP passwords, API tokens.

Two layers. Commands redact what they show (:func:`redact`, :func:`display_location`), and :func:`guard_output`
wraps standard output and error so that a secret the process was given (in a URL on the command line or in
``$ECRM_STORE``, or in an ``ECRM_*`` credential variable) is masked even in a message nobody thought of — a
driver's error, another command's output — before it reaches a terminal, a log file or CI. The guard masks
those exact values only, never by pattern: ``ecrm compile`` and ``ecrm convert`` print plans and scenarios,
whose URLs (``?token=…`` in a coupon link) must come out byte for byte.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

MASK = "***"
# user:password@ in any URL; password=, token=, secret= in a query string or a key=value list.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)(?P<secret>[^\s@/?#]*)@")
_PARAMETER = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|token|secret|api_key|apikey|access_token)=)(?P<secret>[^\s&;'\"]+)",
    re.IGNORECASE,
)
# Environment variables whose values are credentials, and those that may hold a URL with one.
_SECRET_VARIABLE = re.compile(r"^ECRM_\w*(PASSWORD|TOKEN|SECRET)\w*$")
_URL_VARIABLES = ("ECRM_STORE", "DATABASE_URL")
# A value shorter than this is not masked wherever it appears (a one-letter password would blank the output).
MIN_SECRET = 6


def redact(text: str) -> str:
    """``text`` with the password of every URL and every ``password=``-style parameter masked."""
    text = _USERINFO.sub(lambda m: m.group("head") + MASK + "@" if m.group("secret") else m.group(0), text)
    return _PARAMETER.sub(lambda m: m.group("head") + MASK, text)


def error_summary(exc: BaseException) -> str:
    """An exception's first line, redacted: SQLAlchemy appends the statement and its parameters on the lines
    after it (customer ids, idempotency keys, contact details), which no output should show."""
    text = str(exc).strip()
    return redact(text.splitlines()[0]) if text else type(exc).__name__


def display_location(location: str) -> str:
    """A store location fit to print: a URL without its password, a path as given."""
    return redact(location) if "://" in location else location


def secrets_in(argv: Iterable[str], environ: Mapping[str, str]) -> set[str]:
    """The credentials this process was given: URL passwords in its arguments or URL variables, and the values of
    ``ECRM_*PASSWORD/TOKEN/SECRET*`` variables."""
    found = {value for name, value in environ.items() if _SECRET_VARIABLE.match(name) and value}
    for text in [*argv, *(environ.get(name, "") for name in _URL_VARIABLES)]:
        for match in (*_USERINFO.finditer(text), *_PARAMETER.finditer(text)):
            found.add(match.group("secret"))
    return {secret for secret in found if len(secret) >= MIN_SECRET}


class RedactingStream(io.TextIOBase):
    """A text stream that masks ``secrets`` (exact values), then writes to ``target``."""

    def __init__(self, target: TextIO, secrets: Iterable[str]) -> None:
        super().__init__()
        self._target = target
        # Longest first, so that a secret containing another is masked whole.
        self._secrets = sorted(set(secrets), key=len, reverse=True)

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._target.write(self.clean(text))
        return len(text)

    def clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    @property
    def buffer(self) -> _RedactingBuffer:
        """The byte side (click writes bytes there, e.g. for shell completion), redacted the same way."""
        return _RedactingBuffer(self)

    @property
    def target(self) -> TextIO:
        return self._target

    def flush(self) -> None:
        self._target.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._target.encoding or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._target.errors


class _RedactingBuffer(io.RawIOBase):
    def __init__(self, text: RedactingStream) -> None:
        super().__init__()
        self._text = text

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raw = bytes(data)
        clean = self._text.clean(raw.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
        self._text.target.flush()
        self._text.target.buffer.write(clean)
        return len(raw)

    def flush(self) -> None:
        self._text.target.buffer.flush()


def guard_output(argv: Iterable[str] | None = None, environ: Mapping[str, str] | None = None) -> None:
    """Route this process's standard output and error through :class:`RedactingStream`."""
    secrets = secrets_in(sys.argv if argv is None else argv, os.environ if environ is None else environ)
    sys.stdout = RedactingStream(sys.stdout, secrets)
    sys.stderr = RedactingStream(sys.stderr, secrets)
