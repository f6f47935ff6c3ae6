"""Which store a command works on, and opening it: only ``import`` and ``deploy`` may create one.

A mistyped ``--store typo.db`` used to create an empty store and report on it as if all were well. Every command
that reads or runs a store opens it through :func:`existing_store`, which refuses (exit 2, nothing created) a
path with no file and a file or database without ecrm's tables, and says how to make one.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ecrm_dsl.cli.common import ExitCode, project_config
from ecrm_dsl.cli.redact import display_location, error_summary
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store.database import DEFAULT_STORE, open_store
from ecrm_dsl.store.health import is_store


def store_location(ctx: click.Context, store: str | None) -> str:
    """``--store`` / ``$ECRM_STORE``, else ``ecrm.db`` in the project folder."""
    return store or str(project_config(ctx).root / DEFAULT_STORE)


def existing_store(ctx: click.Context, store: str | None, command: str, *, upgrade: bool = True) -> Engine:
    """An engine on a store that exists; otherwise a sentence naming it and how to create it, and exit 2.

    With ``upgrade`` the store is opened as the scheduler opens it (an empty database is created at the code's
    schema revision); without, it is only read. A store at another revision is refused either way
    (``ecrm store upgrade``).
    """
    location = store_location(ctx, store)
    shown = display_location(location)
    if "://" not in location and not Path(location).is_file():
        if Path(location).is_dir():
            _refuse(command, tr("the store {store} is a folder, not a store file; {hint}", store=shown, hint=_create()))
        _refuse(
            command,
            tr("the store {store} does not exist (nothing was created); {hint}", store=shown, hint=_create()),
        )
    try:
        if not is_store(location):
            _refuse(
                command,
                tr("{store} is not an ecrm store (it has none of ecrm's tables); {hint}", store=shown, hint=_create()),
            )
        return open_store(location) if upgrade else open_store(location, create=False)
    except (SQLAlchemyError, ImportError, OSError, ValueError) as exc:
        _refuse(command, tr("cannot open the store {store}: {reason}", store=shown, reason=_reason(exc)))


def _create() -> str:
    return tr(
        "create it with `ecrm deploy` (deploys the project) or `ecrm import KIND FILE` (loads a CSV), or give the "
        "existing store with --store PATH|URL or $ECRM_STORE"
    )


def creatable_store(ctx: click.Context, store: str | None, command: str) -> Engine:
    """An engine on the store, created when missing (``deploy``); a store that cannot be opened is exit 2."""
    location = store_location(ctx, store)
    try:
        return open_store(location)
    except (SQLAlchemyError, ImportError, OSError, ValueError) as exc:
        _refuse(
            command,
            tr("cannot open the store {store}: {reason}", store=display_location(location), reason=_reason(exc)),
        )


def _reason(exc: BaseException) -> str:
    """The driver's own words, first line only (SQLAlchemy appends the statement and a link), without secrets."""
    origin = getattr(exc, "orig", None) or exc
    if isinstance(origin, ModuleNotFoundError):
        return tr(
            "the database driver {driver} is not installed (for PostgreSQL: pip install 'ecrm-dsl[postgres]')",
            driver=origin.name,
        )
    return error_summary(origin)


def _refuse(command: str, message: str) -> NoReturn:
    click.echo(f"ecrm {command}: {message}", err=True)
    raise SystemExit(int(ExitCode.USAGE))
