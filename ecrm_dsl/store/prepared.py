"""Statements built once, executed many times without SQLAlchemy redoing work whose result cannot change.

``conn.execute(statement, params)`` on a statement built once still walks the whole expression tree at every
call to make its cache key (tens of microseconds for a condition's statement), then looks the compiled form up.
A tick runs the same few dozen statements every hour, so :func:`run` keeps each statement's compiled form (per
dialect, parameter names and single or many rows) and executes it directly: bind and result processing, the
expanding ``IN`` parameters and the cursor events (the benchmarks' statement counter) all stay SQLAlchemy's.

Only for statements whose shape does not depend on their values: everything that changes from one execution
to the next is a named ``bindparam``. The execution is the one ``Connection.execute`` makes after its cache
look-up (``Connection._execute_context``, an internal of SQLAlchemy 2, whose absence falls back to the public
path); it fires no ``before_execute``/``after_execute`` events, which nothing here listens to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, CursorResult, Executable
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.compiler import Compiled
from sqlalchemy.sql.elements import ClauseElement

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]]
Rows = CursorResult[*tuple[Any, ...]]  # as Connection.execute types its result

# id(statement) → (the statement, kept so that its id stays its own; its compiled forms by shape). Statements
# are module constants or kept with a deployed plan, so this stays small; the bounds only guard a long-lived
# process that sees many plans or engines. A shape holds its dialect, which an engine owns: compiled for one
# engine, a statement is not handed to another whose dialect happens to reuse the id.
_Shape = tuple[int, tuple[str, ...], bool]
_COMPILED: dict[int, tuple[Executable, dict[_Shape, tuple[Dialect, Compiled]]]] = {}
_LIMIT = 2_048
_SHAPES = 64


def run(conn: Connection, statement: Executable, params: Params | None = None) -> Rows:
    """``conn.execute(statement, params)``, with the statement compiled once per dialect and parameter names."""
    rows: list[Mapping[str, Any]] = [] if params is None else [params] if isinstance(params, Mapping) else list(params)
    execute_context = getattr(conn, "_execute_context", None)
    if execute_context is None or not isinstance(statement, ClauseElement):  # pragma: no cover - without the internal
        return conn.execute(statement, rows or None)
    dialect = conn.dialect
    compiled = _compiled(statement, dialect, rows)
    options = statement._execution_options.merge_with(conn._execution_options)
    result: Rows = execute_context(
        dialect, dialect.execution_ctx_cls._init_compiled, compiled, rows, options, compiled, rows, statement, None
    )
    return result


def _compiled(statement: Executable, dialect: Dialect, rows: Sequence[Mapping[str, Any]]) -> Compiled:
    keys = tuple(sorted(rows[0])) if rows else ()
    shape = (id(dialect), keys, len(rows) > 1)
    kept = _COMPILED.get(id(statement))
    if kept is None or kept[0] is not statement:
        if len(_COMPILED) >= _LIMIT:
            _COMPILED.clear()
        kept = _COMPILED[id(statement)] = (statement, {})
    found = kept[1].get(shape)
    if found is None or found[0] is not dialect:
        if len(kept[1]) >= _SHAPES:
            kept[1].clear()
        assert isinstance(statement, ClauseElement)
        compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=len(rows) > 1)
        found = kept[1][shape] = (dialect, compiled)
    return found[1]


def per_dialect(build: Callable[[str], Executable]) -> Callable[[Connection], Executable]:
    """A statement built on first use for each dialect (``one_of_param`` and raw instants differ by dialect),
    then the same object every time, so :func:`run` finds its compiled form."""
    built: dict[str, Executable] = {}

    def statement(conn: Connection) -> Executable:
        dialect = conn.dialect.name
        found = built.get(dialect)
        if found is None:
            found = built[dialect] = build(dialect)
        return found

    return statement
