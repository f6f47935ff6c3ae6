"""``ecrm serve``: the live-ingest HTTP API on uvicorn (Starlette and uvicorn are loaded by this command only)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from ecrm_dsl.cli.common import ExitCode, print_findings, project_config
from ecrm_dsl.language.customer_schema import CustomerSchema
from ecrm_dsl.language.diagnostics import DiagnosticError, Severity
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.project.config import ProjectConfig, load_config
from ecrm_dsl.project.workspace import load_workspace
from ecrm_dsl.store.database import DEFAULT_STORE, open_store


@click.command("serve")
@click.option(
    "--store",
    envvar="ECRM_STORE",
    help=f"SQLite file or database URL (default: $ECRM_STORE, else {DEFAULT_STORE} in the project folder).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="TCP port.")
@click.option(
    "--project",
    "project_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="ecrm.toml or pyproject.toml whose customer schema the items are checked against (default: the nearest).",
)
@click.option(
    "--max-in-flight",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Batches handled at once; beyond that a request gets 503 with Retry-After.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Least severity logged; the access log (method, path, status, time) is at info.",
)
@click.pass_context
def serve_command(
    ctx: click.Context,
    store: str | None,
    host: str,
    port: int,
    project_path: Path | None,
    max_in_flight: int,
    log_level: str,
) -> None:
    """Run the live-ingest HTTP API: POST batches of events, orders, customers and subscriptions as JSON.

    Needs ECRM_INGEST_TOKENS (bearer tokens, comma-separated); ECRM_SHOPIFY_SECRET turns on the Shopify webhook
    receivers. Stops cleanly on SIGTERM / Ctrl-C.
    Exit status: 0 stopped, 2 usage, configuration or store error.
    """
    try:
        from ecrm_dsl.serve.app import ServeSettings, create_app
        from ecrm_dsl.serve.auth import TokenError, Tokens
        from ecrm_dsl.serve.ingest import Ingestor
        from ecrm_dsl.serve.server import Stopped, bind, make_server, run
        from ecrm_dsl.serve.shopify import SECRET_VARIABLE
    except ModuleNotFoundError as exc:
        missing = (exc.name or "starlette").split(".")[0]
        _usage(
            tr("the HTTP server needs {module}, which is not installed: pip install 'ecrm-dsl[serve]'", module=missing)
        )

    try:
        tokens = Tokens.from_environment(os.environ)
    except TokenError as exc:
        _usage(str(exc))
    config = _config(ctx, project_path)
    schema = _customer_schema(config)
    location = store or str(config.root / DEFAULT_STORE)
    try:
        engine = open_store(location)
    except SQLAlchemyError as exc:
        _usage(tr("the store cannot be opened ({error})", error=type(getattr(exc, "orig", None) or exc).__name__))
    try:
        sock = bind(host, port)
    except OSError as exc:
        _usage(
            tr(
                "cannot listen on {host}:{port} ({error}) — choose another --port or --host",
                host=host,
                port=port,
                error=exc.strerror or exc,
            )
        )
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=log_level.upper())
    settings = ServeSettings(tokens, os.environ.get(SECRET_VARIABLE) or None, max_in_flight)
    app = create_app(Ingestor(engine, schema), settings)
    bound_host, bound_port = sock.getsockname()[:2]
    address = f"http://{bound_host}:{bound_port}"
    if settings.shopify_secret:
        click.echo(tr("ecrm serve: listening on {address} — Shopify webhooks on", address=address), err=True)
    else:
        click.echo(
            tr(
                "ecrm serve: listening on {address} — Shopify webhooks off (set {variable})",
                address=address,
                variable=SECRET_VARIABLE,
            ),
            err=True,
        )
    try:
        run(make_server(app, log_level), sock)
    except Stopped as signal_name:
        click.echo(tr("ecrm serve: stopped ({signal})", signal=signal_name), err=True)
    finally:
        engine.dispose()


def _config(ctx: click.Context, project_path: Path | None) -> ProjectConfig:
    if project_path is None:
        return project_config(ctx)
    try:
        return load_config(project_path)
    except DiagnosticError as exc:
        print_findings(exc.diagnostics, Path.cwd(), 1, "text", err=True)
        _usage(tr("fix the project configuration first"))


def _customer_schema(config: ProjectConfig) -> CustomerSchema:
    """The project's customer schema; refused while it has errors."""
    workspace = load_workspace(config)
    schema_file = config.display(config.customer_schema)
    errors = [d for d in workspace.diagnostics if d.span.file == schema_file and d.effective_severity == Severity.ERROR]
    if errors:
        print_findings(errors, config.root, 1, "text", err=True)
        _usage(tr("fix the customer schema first"))
    return workspace.schema


def _usage(message: str) -> NoReturn:
    click.echo(f"ecrm serve: {message}", err=True)
    raise SystemExit(int(ExitCode.USAGE))
