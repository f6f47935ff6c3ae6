"""A per-user cache of what is slow to build from files shipped with the package: the grammar's parser
tables and the compiled JSON Schema validators. Every ``ecrm`` run would otherwise rebuild them.

An entry holds everything it is built from (grammar or schema text, library and Python versions) and is used
only when all of it matches, so an edited grammar or schema is built again, never served stale. Entries are written to a
temporary file and renamed into place, so parallel runs never see half an entry. A folder that cannot be
created or written only makes runs slower. Entries hold code, so they are read only from a folder that belongs
to the current user and that nobody else can write to.

The folder is ``$ECRM_CACHE_DIR``, else ``$XDG_CACHE_HOME/ecrm-dsl``, else ``~/.cache/ecrm-dsl``;
``ECRM_CACHE_DIR=`` (empty) turns the cache off.
"""

from __future__ import annotations

import io
import marshal
import os
import stat
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lark import Lark

ENV = "ECRM_CACHE_DIR"


def cache_dir() -> Path | None:
    """The cache folder, created if need be; None when caching is off or the folder cannot be trusted."""
    configured = os.environ.get(ENV)
    if configured is not None:
        if not configured:
            return None
        folder = Path(configured)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = Path(base) / "ecrm-dsl"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except (OSError, RuntimeError):  # RuntimeError: no home folder to put it in
        return None
    return folder if _private(info) else None


def _private(info: os.stat_result) -> bool:
    if not stat.S_ISDIR(info.st_mode):
        return False
    if sys.platform == "win32":
        return True
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


@dataclass(frozen=True)
class Entry:
    """One cache entry: its file, and everything it is built from (stored in it and compared on reading)."""

    path: Path
    key: bytes


def entry_path(kind: str, *sources: str) -> Entry | None:
    """The entry of ``kind`` built from ``sources`` (None when caching is off).

    The file name only spreads entries out (a cheap checksum); the whole key is stored in the file and must
    match, so a checksum collision or an entry left by another version is rebuilt, never used.
    """
    folder = cache_dir()
    if folder is None:
        return None
    key = "\0".join((kind, sys.version, *sources)).encode("utf-8")
    return Entry(folder / f"{kind}-{zlib.crc32(key):08x}.bin", len(key).to_bytes(8, "big") + key)


def read(entry: Entry | None) -> bytes | None:
    """The data of an entry built from the same key, or None."""
    if entry is None:
        return None
    try:
        stored = entry.path.read_bytes()
    except OSError:
        return None
    return stored[len(entry.key) :] if stored.startswith(entry.key) else None


def write(entry: Entry | None, data: bytes) -> None:
    """Put an entry in place atomically; any failure leaves the cache as it was."""
    if entry is None:
        return
    try:
        handle, temporary = tempfile.mkstemp(dir=entry.path.parent, prefix=f".{entry.path.name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(entry.key)
                out.write(data)
            os.replace(temporary, entry.path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        pass


def lark_parser(grammar: str, **options: Any) -> Lark:
    """``Lark(grammar, **options)``, loaded from the cache when these tables were built before.

    Only for options that Lark can store (no callbacks): :meth:`Lark.save` writes everything the parser needs.
    """
    from lark import Lark, __version__

    entry = entry_path("lark-parser", grammar, repr(sorted(options.items())), __version__)
    data = read(entry)
    if data is not None:
        try:
            return Lark.load(io.BytesIO(data))
        except Exception:  # a damaged entry (pickle raises many kinds of errors): build it again
            pass
    parser = Lark(grammar, **options)
    if entry is not None:
        out = io.BytesIO()
        parser.save(out)
        write(entry, out.getvalue())
    return parser


def compiled(kind: str, sources: tuple[str, ...], generate: Callable[[], str]) -> CodeType:
    """The code object of the Python source ``generate()`` writes from ``sources``, cached as marshal data."""
    entry = entry_path(kind, *sources)
    data = read(entry)
    if data is not None:
        try:
            code = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            code = None  # a damaged entry: build it again
        if isinstance(code, CodeType):
            return code
    code = compile(generate(), f"<{kind}>", "exec")
    write(entry, marshal.dumps(code))
    return code
