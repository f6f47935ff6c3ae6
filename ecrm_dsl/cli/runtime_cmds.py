"""``ecrm deploy``, ``ecrm status``, ``ecrm run`` and ``ecrm explain``: the runtime from the command line."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine

from ecrm_dsl.cli import paint
from ecrm_dsl.cli.common import ExitCode, built_plan
from ecrm_dsl.cli.progress import Bar
from ecrm_dsl.cli.run_log import LOG_FORMATS, DeliveryTally, LogStyle, TickLog
from ecrm_dsl.cli.store_access import creatable_store, existing_store
from ecrm_dsl.cli.terminal import echo_painted, is_terminal
from ecrm_dsl.delivery.config import CHANNELS, ConfigError, DeliveryConfig, build_adapters
from ecrm_dsl.delivery.unconfigured import UnconfiguredAdapter
from ecrm_dsl.language.i18n import lookup, n_, tr
from ecrm_dsl.plan.document import PlanError, load_plan
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.nodes import SendNode
from ecrm_dsl.runtime.deploy import DeployRefused, deploy
from ecrm_dsl.runtime.dispatch import Dispatcher
from ecrm_dsl.runtime.explain import UnknownCustomer, explain
from ecrm_dsl.runtime.lease import SECONDS as LEASE_SECONDS
from ecrm_dsl.runtime.lease import TickLease
from ecrm_dsl.runtime.scheduler import ClockWentBack, NoDeployment, Scheduler
from ecrm_dsl.runtime.status import status_document, status_text
from ecrm_dsl.runtime.worker import work_round
from ecrm_dsl.store import deployments
from ecrm_dsl.store.database import DEFAULT_STORE

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


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            tr("'{value}' is not a time; write e.g. 2025-03-01T10:00+09:00", value=value)
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter(tr("'{value}' has no timezone; write e.g. 2025-03-01T10:00+09:00", value=value))
    return moment


PLAN_FILE_REMEDY = n_(
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
            tr(
                "ecrm {command}: the tick time {now} is before the store's last tick, {last}; ticks only go forward: "
                "give a time at or after the last tick (re-running the last one is fine)",
                command=command,
                now=exc.now.isoformat(),
                last=exc.last.astimezone(zone).isoformat(),
            ),
            err=True,
        )
        raise SystemExit(int(ExitCode.USAGE)) from None


def compiled_plan(ctx: click.Context, plan_file: Path | None, command: str = "deploy") -> Plan:
    """The plan to run: a compiled plan file, or the project compiled now (refused while it has errors)."""
    if plan_file is not None:
        try:
            text = plan_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            click.echo(
                tr("ecrm {command}: {file}: cannot read the plan: {error}", command=command, file=plan_file, error=exc),
                err=True,
            )
            raise SystemExit(int(ExitCode.USAGE)) from None
        with plan_errors(command):
            return load_plan(text, str(plan_file), lookup(PLAN_FILE_REMEDY))
    plan = built_plan(ctx, command).plan
    assert plan is not None
    return Plan.from_json(plan)


def _mapping(pairs: tuple[str, ...]) -> dict[str, dict[str, str]]:
    mapping: dict[str, dict[str, str]] = {}
    for pair in pairs:
        left, sep, new = pair.partition("=")
        scenario, dot, old = left.partition(".")
        if not (sep and dot and scenario and old and new):
            raise click.BadParameter(tr("'{pair}': write SCENARIO.OLD_STEP=NEW_STEP", pair=pair))
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
    engine = creatable_store(ctx, store, "deploy")
    try:
        with plan_errors("deploy"):
            report = deploy(engine, plan, parse_now(now_text), in_flight, _mapping(maps), note)
    except DeployRefused as exc:
        click.echo(tr("ecrm deploy: refused, nothing changed") + f"\n{exc}", err=True)
        raise SystemExit(int(ExitCode.FINDINGS)) from None
    click.echo(tr("deployed #{id}: {count} scenarios", id=report.deployment_id, count=report.scenarios))
    for sid, n in sorted(report.moved.items()):
        click.echo(tr("  {scenario}: {count} in-flight customers moved to the new version", scenario=sid, count=n))
    for sid, n in sorted(report.kept.items()):
        click.echo(tr("  {scenario}: {count} in-flight customers keep their version", scenario=sid, count=n))


@click.command("status")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--now", "now_text", help="Measure the lag and ages as of this time, ISO 8601 with offset (default: now)."
)
@store_option
@click.pass_context
def status_command(ctx: click.Context, fmt: str, now_text: str | None, store: str | None) -> None:
    """Show what is deployed and how many customers are at each step.

    Also when the scheduler last ticked and how far behind that is (the lag), and the outbox backlog: pending
    (and due now), sending, failed and sent messages, and how long the oldest pending one has waited.
    """
    now = parse_now(now_text)
    with plan_errors("status"), existing_store(ctx, store, "status").connect() as conn:
        document = status_document(conn, now)
    if fmt == "json":
        click.echo(json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True))
    else:
        echo_painted(status_text(document), paint.status, nl=False)


@click.command("explain")
@click.argument("customer_id")
@store_option
@click.pass_context
def explain_command(ctx: click.Context, customer_id: str, store: str | None) -> None:
    """Print a customer's timeline with the reason for each decision, and why they never entered the other
    deployed scenarios (exit 1 for a customer the store does not have)."""
    engine = existing_store(ctx, store, "explain")
    with plan_errors("explain"), engine.connect() as conn:
        active = deployments.active_deployment(conn)
        timezone = active[1].timezone if active else "Asia/Tokyo"
        try:
            text = explain(conn, customer_id, timezone)
        except UnknownCustomer:
            where = engine.url.database or engine.url.render_as_string()  # a URL without its password
            click.echo(
                tr(
                    "ecrm explain: the store {store} has no customer '{customer}' (ids are matched exactly, case "
                    "included)",
                    store=where,
                    customer=customer_id,
                ),
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
    help="TOML file with a [delivery] table (channel settings); the ECRM_* environment wins.",
)
@click.option(
    "--file-outbox",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write every message of a channel without a provider to DIR/<channel>.jsonl instead of sending it "
    "(contact details redacted); also $ECRM_DEMO_OUTBOX.",
)
@click.option("--now", "now_text", help="With --once: the tick's time, ISO 8601 with offset (default: now).")
@click.option(
    "--interval",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds between ticks when looping.",
)
@click.option(
    "--lease",
    type=click.FloatRange(min=1),
    default=LEASE_SECONDS,
    show_default=True,
    help="Seconds before another worker on the store takes over from a worker that died: its ticks, and the "
    "deliveries it had claimed.",
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="auto",
    show_default=True,
    help="A line per tick: human (the shop's time; auto on a terminal), text (auto elsewhere: ISO times, one "
    "line a tick for log files), or json (one object per tick).",
)
@click.option("-v", "--verbose", is_flag=True, help="With the human format: each scenario's entries and each channel.")
@store_option
@click.pass_context
def run_command(
    ctx: click.Context,
    once: bool,
    delivery_config: Path | None,
    file_outbox: Path | None,
    now_text: str | None,
    interval: float,
    lease: float,
    log_format: str,
    verbose: bool,
    store: str | None,
) -> None:
    """Run ticks: enroll, settle goals and stop rules, advance due steps, deliver the outbox.

    Refuses to start when no channel can deliver (configure a provider, or use --file-outbox). Looping, it stops
    cleanly on SIGTERM or Ctrl-C: the tick in progress finishes first.
    """
    moment = parse_now(now_text) if once else None
    try:
        config = DeliveryConfig.load(delivery_config)
    except ConfigError as exc:
        click.echo(f"ecrm run: {exc}", err=True)
        raise SystemExit(int(ExitCode.USAGE)) from None
    if file_outbox is not None:
        config = replace(config, demo_outbox=file_outbox)
    adapters = build_adapters(config)
    if not adapters:
        click.echo(f"ecrm run: {lookup(NO_DELIVERY)}", err=True)
        raise SystemExit(int(ExitCode.USAGE))
    engine = existing_store(ctx, store, "run")
    zone = _warn_unserved_channels(engine, set(adapters))
    if log_format == "auto":
        log_format = "human" if is_terminal(sys.stdout) else "text"
    style = LogStyle(log_format, zone, verbose)
    # Messages on a channel without a provider fail as before, but now through the delivery log, so that the
    # tick line names them.
    adapters = {channel: adapters.get(channel) or UnconfiguredAdapter(channel) for channel in CHANNELS}
    # Any number of workers may share the store: the one holding the tick lease ticks, every one delivers.
    scheduler = Scheduler(engine, lease=TickLease(seconds=lease))
    dispatcher = Dispatcher(
        engine, adapters, shop=config.shop, unsubscribe=config.unsubscribe_url, lease=timedelta(seconds=lease)
    )
    with DeliveryTally() as tally:
        if once:
            try:
                _tick(scheduler, dispatcher, tally, moment or parse_now(None), style)
            finally:
                dispatcher.close()
                _release(scheduler)
            return
        _loop(scheduler, dispatcher, tally, interval, style)


NO_DELIVERY = n_(
    "no delivery is configured, so every message that falls due would fail. Configure at least one channel in the "
    "environment or in a --delivery-config file — email: ECRM_SMTP_HOST and ECRM_MAIL_FROM; LINE: "
    "ECRM_LINE_CHANNEL_TOKEN; SMS: ECRM_SMS_URL; webhook: ECRM_WEBHOOK_URL; direct mail and package inserts: "
    "ECRM_BATCH_DIR (see 'Delivery settings' in the README) — or, to write messages to files instead of sending "
    "them, give --file-outbox DIR"
)


def _warn_unserved_channels(engine: Engine, served: set[str]) -> ZoneInfo:
    """Name the channels the deployed plan sends on that no adapter serves: those messages will fail. Returns
    the shop's timezone (Asia/Tokyo while nothing usable is deployed), for the log."""
    with engine.connect() as conn:
        try:
            active = deployments.active_deployment(conn)
        except PlanError:
            return ZoneInfo(DEFAULT_ZONE)  # the tick reports it, with the remedy
    if active is None:
        return ZoneInfo(DEFAULT_ZONE)
    used = {
        channel
        for scenario in active[1].scenarios
        for node in scenario.nodes
        if isinstance(node, SendNode)
        for channel in (node.channel, *node.fallback)
    }
    missing = sorted(used - served)
    if missing:
        click.echo(
            tr(
                "ecrm run: warning: the deployed plan sends on {channels}, which no delivery setting serves; those "
                "messages will fail unless a fallback channel reaches the customer (see 'Delivery settings' in the "
                "README)",
                channels=", ".join(missing),
            ),
            err=True,
        )
    return ZoneInfo(active[1].timezone)


def _loop(scheduler: Scheduler, dispatcher: Dispatcher, tally: DeliveryTally, interval: float, style: LogStyle) -> None:
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        click.echo(
            tr("ecrm run: {signal} received, stopping after this tick", signal=signal.Signals(signum).name), err=True
        )
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        while not stop.is_set():
            try:
                _tick(scheduler, dispatcher, tally, datetime.now(UTC), style, loop=True)
            except ClockWentBack as exc:
                # The machine's clock stepped back (or a tick was run ahead with --now): wait for it to catch up
                # rather than stop the service.
                click.echo(
                    tr(
                        "ecrm run: the clock ({now}) is behind the store's last tick ({last}); skipping ticks until "
                        "it catches up",
                        now=exc.now.isoformat(),
                        last=exc.last.isoformat(),
                    ),
                    err=True,
                )
            stop.wait(interval)
    finally:
        dispatcher.close()
        _release(scheduler)
    click.echo(tr("ecrm run: stopped"), err=True)


def _release(scheduler: Scheduler) -> None:
    """Hand the tick lease over on a clean stop: the next worker need not wait for it to run out."""
    if scheduler.lease is not None:
        scheduler.lease.release(scheduler.engine)


def _tick(
    scheduler: Scheduler,
    dispatcher: Dispatcher,
    tally: DeliveryTally,
    now: datetime,
    style: LogStyle,
    *,
    loop: bool = False,
) -> None:
    """One tick and delivery, and its log line; a tick before the last one ends ``--once`` (exit 2) and is left
    to the loop. A tick that takes more than a moment shows a spinner on a terminal until its line is ready."""
    try:
        with plan_errors("run"), nullcontext() if loop else clock_errors("run"), Bar(tr("ticking"), delay=SLOW_TICK):
            done = work_round(scheduler, dispatcher, now)
    except NoDeployment as exc:
        raise click.ClickException(str(exc)) from None
    sent, problems = tally.drain()
    entered, decisions = (done.tick.entered, done.tick.decisions) if done.tick is not None else ({}, {})
    ticker = None if done.tick is not None else done.ticker or n_("another worker")  # shown translated, kept in JSON
    tick = TickLog(now, entered, decisions, done.delivered, sent, problems, ticker)
    if style.format == "human":
        echo_painted(style.render(tick), paint.tick)
    else:
        click.echo(style.render(tick))


SLOW_TICK = 2.0  # seconds before a tick in progress shows a spinner
DEFAULT_ZONE = "Asia/Tokyo"
