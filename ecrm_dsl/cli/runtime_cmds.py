"""``ecrm deploy``, ``ecrm status``, ``ecrm run`` and ``ecrm explain``: the runtime from the command line."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from ecrm_dsl.cli.common import ExitCode, built_plan, project_config
from ecrm_dsl.delivery.config import ConfigError, DeliveryConfig, build_adapters
from ecrm_dsl.plan.document import PlanError, load_plan
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.runtime.deploy import DeployRefused, deploy
from ecrm_dsl.runtime.dispatch import Dispatcher
from ecrm_dsl.runtime.explain import UnknownCustomer, explain
from ecrm_dsl.runtime.scheduler import ClockWentBack, NoDeployment, Scheduler
from ecrm_dsl.runtime.status import status_text
from ecrm_dsl.store import deployments
from ecrm_dsl.store.database import DEFAULT_STORE, open_store

store_option = click.option(
    "--store",
    "store",
    envvar="ECRM_STORE",
    help=f"SQLite file or database URL (default: $ECRM_STORE, else {DEFAULT_STORE} in the project folder).",
)


plan_option = click.option(
    "--plan",
    "plan_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A compiled plan (default: compile the project now).",
)


def engine_for(ctx: click.Context, store: str | None) -> Engine:
    location = store or str(project_config(ctx).root / DEFAULT_STORE)
    return open_store(location)


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a time; write e.g. 2025-03-01T10:00+09:00") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"'{value}' has no timezone; write e.g. 2025-03-01T10:00+09:00")
    return moment


PLAN_FILE_REMEDY = (
    "write the plan with `ecrm compile -o FILE` from the project, or leave out --plan to compile the project now"
)


@contextmanager
def plan_errors(command: str) -> Iterator[None]:
    """A plan that cannot be used (a file, or one stored in the store) ends the command with its message, exit 2."""
    try:
        yield
    except PlanError as exc:
        click.echo(f"ecrm {command}: {exc}", err=True)
        raise SystemExit(int(ExitCode.USAGE)) from None


@contextmanager
def clock_errors(command: str) -> Iterator[None]:
    """A tick earlier than the store's last one is a usage error: exit 2, saying when the last tick was."""
    try:
        yield
    except ClockWentBack as exc:
        zone = exc.now.tzinfo
        click.echo(
            f"ecrm {command}: the tick time {exc.now.isoformat()} is before the store's last tick, "
            f"{exc.last.astimezone(zone).isoformat()}; ticks only go forward: give a time at or after the last "
            "tick (re-running the last one is fine)",
            err=True,
        )
        raise SystemExit(int(ExitCode.USAGE)) from None


def compiled_plan(ctx: click.Context, plan_file: Path | None, command: str = "deploy") -> Plan:
    """The plan to run: a compiled plan file, or the project compiled now (refused while it has errors)."""
    if plan_file is not None:
        try:
            text = plan_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            click.echo(f"ecrm {command}: {plan_file}: cannot read the plan: {exc}", err=True)
            raise SystemExit(int(ExitCode.USAGE)) from None
        with plan_errors(command):
            return load_plan(text, str(plan_file), PLAN_FILE_REMEDY)
    plan = built_plan(ctx, command).plan
    assert plan is not None
    return Plan.from_json(plan)


def _mapping(pairs: tuple[str, ...]) -> dict[str, dict[str, str]]:
    mapping: dict[str, dict[str, str]] = {}
    for pair in pairs:
        left, sep, new = pair.partition("=")
        scenario, dot, old = left.partition(".")
        if not (sep and dot and scenario and old and new):
            raise click.BadParameter(f"'{pair}': write SCENARIO.OLD_STEP=NEW_STEP")
        mapping.setdefault(scenario, {})[old] = new
    return mapping


@click.command("deploy")
@plan_option
@click.option(
    "--in-flight",
    type=click.Choice(["keep", "move", "retime"]),
    help="What happens to customers in flight on changed scenarios (required when there are any).",
)
@click.option("--map", "maps", multiple=True, metavar="SCENARIO.OLD=NEW", help="Move a removed step's customers.")
@click.option("--note", help="Why this deploy (kept in the history).")
@click.option("--now", "now_text", help="Deploy time, ISO 8601 with offset (default: now).")
@store_option
@click.pass_context
def deploy_command(
    ctx: click.Context,
    plan_file: Path | None,
    in_flight: str | None,
    maps: tuple[str, ...],
    note: str | None,
    now_text: str | None,
    store: str | None,
) -> None:
    """Record the plan as the active version in the store (history is kept)."""
    plan = compiled_plan(ctx, plan_file)
    engine = engine_for(ctx, store)
    try:
        with plan_errors("deploy"):
            report = deploy(engine, plan, parse_now(now_text), in_flight, _mapping(maps), note)
    except DeployRefused as exc:
        click.echo(f"ecrm deploy: refused, nothing changed\n{exc}", err=True)
        raise SystemExit(int(ExitCode.FINDINGS)) from None
    click.echo(f"deployed #{report.deployment_id}: {report.scenarios} scenarios")
    for sid, n in sorted(report.moved.items()):
        click.echo(f"  {sid}: {n} in-flight customers moved to the new version")
    for sid, n in sorted(report.kept.items()):
        click.echo(f"  {sid}: {n} in-flight customers keep their version")


@click.command("status")
@store_option
@click.pass_context
def status_command(ctx: click.Context, store: str | None) -> None:
    """Show what is deployed and how many customers are at each step."""
    with plan_errors("status"), engine_for(ctx, store).connect() as conn:
        click.echo(status_text(conn), nl=False)


@click.command("explain")
@click.argument("customer_id")
@store_option
@click.pass_context
def explain_command(ctx: click.Context, customer_id: str, store: str | None) -> None:
    """Print a customer's timeline with the reason for each decision, and why they never entered the other
    deployed scenarios (exit 1 for a customer the store does not have)."""
    engine = engine_for(ctx, store)
    with plan_errors("explain"), engine.connect() as conn:
        active = deployments.active_deployment(conn)
        timezone = active[1].timezone if active else "Asia/Tokyo"
        try:
            text = explain(conn, customer_id, timezone)
        except UnknownCustomer:
            click.echo(
                f"ecrm explain: the store {engine.url.database or engine.url} has no customer '{customer_id}' "
                "(ids are matched exactly, case included)",
                err=True,
            )
            raise SystemExit(int(ExitCode.FINDINGS)) from None
    click.echo(text, nl=False)


@click.command("run")
@click.option("--once", is_flag=True, help="Run one tick and stop.")
@click.option(
    "--delivery-config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="ECRM_DELIVERY_CONFIG",
    help="TOML file with a [delivery] table (channel credentials); the ECRM_* environment wins.",
)
@click.option("--now", "now_text", help="With --once: the tick's time, ISO 8601 with offset (default: now).")
@click.option(
    "--interval",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds between ticks when looping.",
)
@store_option
@click.pass_context
def run_command(
    ctx: click.Context,
    once: bool,
    delivery_config: Path | None,
    now_text: str | None,
    interval: float,
    store: str | None,
) -> None:
    """Run ticks: enroll, settle goals and stop rules, advance due steps, deliver the outbox.

    Looping, it stops cleanly on SIGTERM or Ctrl-C: the tick in progress finishes first.
    """
    engine = engine_for(ctx, store)
    scheduler = Scheduler(engine)
    try:
        config = DeliveryConfig.load(delivery_config)
    except ConfigError as exc:
        raise click.ClickException(f"delivery configuration: {exc}") from None
    dispatcher = Dispatcher(engine, build_adapters(config), shop=config.shop, unsubscribe=config.unsubscribe_url)
    if once:
        try:
            _tick(scheduler, dispatcher, parse_now(now_text))
        finally:
            dispatcher.close()
        return
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        click.echo(f"ecrm run: {signal.Signals(signum).name} received, stopping after this tick", err=True)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        while not stop.is_set():
            try:
                _tick(scheduler, dispatcher, datetime.now(UTC), loop=True)
            except ClockWentBack as exc:
                # The machine's clock stepped back (or a tick was run ahead with --now): wait for it to catch up
                # rather than stop the service.
                click.echo(
                    f"ecrm run: the clock ({exc.now.isoformat()}) is behind the store's last tick "
                    f"({exc.last.isoformat()}); skipping ticks until it catches up",
                    err=True,
                )
            stop.wait(interval)
    finally:
        dispatcher.close()
    click.echo("ecrm run: stopped", err=True)


def _tick(scheduler: Scheduler, dispatcher: Dispatcher, now: datetime, *, loop: bool = False) -> None:
    """One tick and delivery; a tick before the last one ends ``--once`` (exit 2) and is left to the loop."""
    try:
        with plan_errors("run"), nullcontext() if loop else clock_errors("run"):
            report = scheduler.tick(now)
            delivered = dispatcher.run(now)
    except NoDeployment as exc:
        raise click.ClickException(str(exc)) from None
    summary = {
        "now": now.isoformat(),
        "entered": dict(sorted(report.entered.items())),
        "decisions": dict(sorted(report.decisions.items())),
        "deliveries": dict(sorted(delivered.items())),
    }
    click.echo(json.dumps(summary, ensure_ascii=False, sort_keys=True))
