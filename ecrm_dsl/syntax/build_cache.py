"""A per-user cache of what is slow to build from files shipped with the package: the grammar's parser
tables and the compiled JSON Schema validators. Every ``ecrm`` run would otherwise rebuild them.

An entry's name carries a hash of everything it is built from (grammar or schema text, library and Python
versions), so an edited grammar or schema gets a new entry, never a stale one. Entries are written to a
temporary file and renamed into place, so parallel runs never see half an entry. A folder that cannot be
created or written only makes runs slower. Entries hold code, so they are read only from a folder that belongs
to the current user and that nobody else can write to.

The folder is ``$ECRM_CACHE_DIR``, else ``$XDG_CACHE_HOME/ecrm-dsl``, else ``~/.cache/ecrm-dsl``;
``ECRM_CACHE_DIR=`` (empty) turns the cache off.
"""

from __future__ import annotations

import hashlib
import io
import marshal
import os
import stat
import sys
import tempfile
from collections.abc import Callable
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


def entry_path(kind: str, *sources: str) -> Path | None:
    """Where the entry of ``kind`` built from ``sources`` lives (None when caching is off)."""
    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256("\0".join((kind, sys.version, *sources)).encode("utf-8")).hexdigest()
    return folder / f"{kind}-{digest[:32]}.bin"


def read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def write(path: Path | None, data: bytes) -> None:
    """Put an entry in place atomically; any failure leaves the cache as it was."""
    if path is None:
        return
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
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
