"""``ecrm store version`` and ``ecrm store upgrade``: the store's schema revision, and bringing it to the code's."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from ecrm_dsl.cli.common import ExitCode, project_config
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store import revisions
from ecrm_dsl.store.database import DEFAULT_STORE, connect, store_url
from ecrm_dsl.store.revisions import UNVERSIONED, StoreSchemaError


def _store_option() -> click.Option:
    return click.Option(
        ["--store", "store"],
        envvar="ECRM_STORE",
        help=f"SQLite file or database URL (default: $ECRM_STORE, else {DEFAULT_STORE} in the project folder).",
    )


def _engine(ctx: click.Context, store: str | None, command: str) -> tuple[Engine, str]:
    """The engine on an existing store and its URL with the password hidden (a missing SQLite file: exit 2)."""
    url = make_url(store_url(store or project_config(ctx).root / DEFAULT_STORE))
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        click.echo(
            tr(
                "ecrm store {command}: no store at {path}; `ecrm import` or `ecrm deploy` makes one",
                command=command,
                path=url.database,
            ),
            err=True,
        )
        raise SystemExit(int(ExitCode.USAGE))
    return connect(url.render_as_string(hide_password=False)), shown


def _fail(command: str, shown: str, message: str) -> NoReturn:
    click.echo(f"ecrm store {command}: {shown}: {message}", err=True)
    raise SystemExit(int(ExitCode.USAGE))


def _reason(exc: Exception) -> str:
    """The database's own first line, without SQLAlchemy's statement dump and links."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _name(revision: str | None) -> str:
    if revision is None:
        return tr("empty (no store yet)")
    return tr("made before schema revisions") if revision == UNVERSIONED else revision


@click.group("store")
def store_command() -> None:
    """Show or upgrade the store's schema revision (`ecrm store version`, `ecrm store upgrade`).

    A store must be at the revision of the installed ecrm-dsl: after upgrading ecrm-dsl, run `ecrm store upgrade`
    once (every other command refuses an older store, exit 2)."""


def _version(ctx: click.Context, store: str | None) -> None:
    """Print the store's schema revision and the code's; exit 1 when the store needs `ecrm store upgrade`."""
    engine, shown = _engine(ctx, store, "version")
    try:
        found = revisions.revision(engine)
    except (SQLAlchemyError, StoreSchemaError) as exc:
        _fail("version", shown, tr("cannot read the store: {reason}", reason=_reason(exc)))
    finally:
        engine.dispose()
    click.echo(tr("store: {store}", store=shown))
    click.echo(tr("revision: {revision}", revision=_name(found.current)))
    click.echo(tr("code: {revision}", revision=found.head))
    if not found.known:
        _fail("version", shown, revisions.newer_message(str(found.current)))
    if found.current != found.head:
        click.echo(tr("run `ecrm store upgrade` to bring the store to the code's revision"))
        raise SystemExit(int(ExitCode.FINDINGS))


def _upgrade(ctx: click.Context, store: str | None) -> None:
    """Bring the store to this ecrm-dsl's schema revision (an empty database gets the whole schema)."""
    engine, shown = _engine(ctx, store, "upgrade")
    try:
        found = revisions.upgrade(engine)
    except StoreSchemaError as exc:
        _fail("upgrade", shown, str(exc))
    except SQLAlchemyError as exc:
        _fail("upgrade", shown, tr("not upgraded (nothing was changed): {reason}", reason=_reason(exc)))
    finally:
        engine.dispose()
    if found.current == found.head:
        click.echo(tr("{store}: already at revision {revision}", store=shown, revision=found.head))
    elif found.current is None:
        click.echo(tr("{store}: created the store at revision {revision}", store=shown, revision=found.head))
    else:
        click.echo(
            tr(
                "{store}: upgraded from {before} to revision {revision}",
                store=shown,
                before=_name(found.current),
                revision=found.head,
            )
        )


# Added to the group, not bound to module names: `ecrm --help` lists only this module's group.
store_command.add_command(
    click.Command("version", callback=click.pass_context(_version), params=[_store_option()], help=_version.__doc__)
)
store_command.add_command(
    click.Command("upgrade", callback=click.pass_context(_upgrade), params=[_store_option()], help=_upgrade.__doc__)
)
