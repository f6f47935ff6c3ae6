"""``ecrm simulate``: replay the store's history against the plan, deliver nothing, report per scenario and step."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from ecrm_dsl.cli import paint
from ecrm_dsl.cli.progress import Bar
from ecrm_dsl.cli.runtime_cmds import clock_errors, compiled_plan, plan_errors, plan_option, store_option
from ecrm_dsl.cli.store_access import existing_store
from ecrm_dsl.cli.terminal import echo_painted
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.language.targets import parse_amount
from ecrm_dsl.language.values import Duration, ValueError_
from ecrm_dsl.simulate.replay import Window, simulate, simulation_settings
from ecrm_dsl.simulate.scratch import ScratchExists
from ecrm_dsl.simulate.summary import coupon_capacity, render_coupons, render_csv, render_text, summarize
from ecrm_dsl.store.database import open_store

MAX_STEP = timedelta(hours=1)


def parse_moment(text: str, zone: ZoneInfo, *, end_of_day: bool) -> datetime:
    """A shop-local date (the start of the day, or with ``end_of_day`` the start of the next), or an ISO 8601
    time with its offset."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        moment = datetime.combine(day, day_time(0), tzinfo=zone)
        return moment + timedelta(days=1) if end_of_day else moment
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            tr("'{text}' is not a date or time; write 2025-03-01 or 2025-03-01T10:00+09:00", text=text)
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter(
            tr("'{text}' has no timezone; write a date, or a time like 2025-03-01T10:00+09:00", text=text)
        )
    return moment


def parse_duration(text: str, option: str) -> timedelta:
    try:
        seconds = Duration.parse(text).seconds
    except ValueError_ as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
    if seconds <= 0:
        raise click.BadParameter(tr("'{text}' must be longer than zero", text=text), param_hint=option)
    return timedelta(seconds=seconds)


def parse_points(text: str, option: str) -> float:
    """A rate difference in points, spelled as a hypothesis target's amount: ``2pt`` (or ``+2.5pt``) is 0.02."""
    try:
        amount = parse_amount(text)
    except ValueError_:
        raise click.BadParameter(
            tr("'{text}' is not an uplift in points; write 2pt", text=text), param_hint=option
        ) from None
    if amount.unit != "pt" or not 0 < amount.amount < 100:
        raise click.BadParameter(
            tr("'{text}': write an uplift between 0pt and 100pt, such as 2pt", text=text), param_hint=option
        )
    return amount.amount / 100


def scratch_path(path: Path) -> Path:
    """``path`` for a new scratch store: an earlier simulation's store there is replaced, anything else refused."""
    if path.exists():
        try:
            earlier = simulation_settings(open_store(path, create=False))
        except Exception:  # an unreadable file is not ours either
            earlier = None
        if earlier is None:
            raise click.ClickException(
                tr("{path} exists and is not a simulation store; choose another --out", path=path)
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


@click.command("simulate")
@click.option("--from", "start_text", required=True, help="First day (shop time), or an ISO 8601 time with offset.")
@click.option("--to", "end_text", required=True, help="Last day, included (shop time), or an ISO 8601 time.")
@click.option(
    "--step", "step_text", default="1h", show_default=True, help="Tick resolution of the virtual clock (at most 1h)."
)
@click.option(
    "--segment-every",
    "segment_text",
    default="1d",
    show_default=True,
    help="How often segment triggers are checked (each check reads every customer).",
)
@plan_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("ecrm-simulation.db"),
    show_default=True,
    help="The scratch store the replay runs in; keep it for 'ecrm report --store' and 'ecrm explain'.",
)
@click.option(
    "--uplift",
    "uplift_text",
    default="2pt",
    show_default=True,
    help="The conversion uplift the power estimate asks about, in points (2pt: 10% -> 12%).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
@store_option
@click.pass_context
def simulate_command(
    ctx: click.Context,
    start_text: str,
    end_text: str,
    step_text: str,
    segment_text: str,
    plan_file: Path | None,
    out: Path,
    uplift_text: str,
    fmt: str,
    store: str | None,
) -> None:
    """Replay the store's history with a virtual clock against the plan; nothing is delivered.

    The store's customers, orders, subscriptions and events are copied into a new scratch store (--out), the
    plan is deployed there at --from, and ticks run to the end of --to. The report says per scenario and step
    who entered, what was sent on which channel, what was skipped or deferred and why, who converted, and the
    holdout. The source store is only read.
    """
    plan = compiled_plan(ctx, plan_file, "simulate")
    zone = ZoneInfo(plan.timezone)
    start = parse_moment(start_text, zone, end_of_day=False)
    end = parse_moment(end_text, zone, end_of_day=True)
    if end <= start:
        raise click.BadParameter(tr("--to must be after --from"), param_hint="--to")
    step = parse_duration(step_text, "--step")
    if step > MAX_STEP:
        # A deferral to the end of quiet hours waits for the next grid point; on a coarse grid every point can
        # fall inside quiet hours again, and the message would never go.
        why = tr("at most 1h: a coarser grid can keep landing deferred messages back in quiet hours")
        raise click.BadParameter(why, param_hint="--step")
    uplift = parse_points(uplift_text, "--uplift")
    segment_every = parse_duration(segment_text, "--segment-every")
    if segment_every < step:
        raise click.BadParameter(
            tr("segments cannot be checked more often than the clock ticks"), param_hint="--segment-every"
        )
    source = existing_store(ctx, store, "simulate", upgrade=False)
    window = Window(start, end, step, segment_every)

    began = time.perf_counter()
    try:
        with plan_errors("simulate"), clock_errors("simulate"), Bar(tr("replaying")) as bar:

            def days(done: int, total: int) -> None:
                bar.update(done, total, detail=tr("day {done} of {total}", done=f"{done:,}", total=f"{total:,}"))

            replay = simulate(
                source,
                plan,
                scratch_path(out),
                window,
                lambda line: bar.echo(line, err=True),
                days if bar.live else None,
            )
    except ScratchExists as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        tr(
            "ecrm simulate: {ticks} ticks (of {points} grid points; the rest had nothing to do) in {seconds}s; "
            "scratch store {out}",
            ticks=f"{replay.ticks:,}",
            points=f"{replay.grid_points:,}",
            seconds=f"{time.perf_counter() - began:.1f}",
            out=out,
        ),
        err=True,
    )
    with replay.scratch.connect() as conn:
        # The scratch store holds this replay only.
        weeks = (end - start) / timedelta(weeks=1)
        scenarios = summarize(conn, plan, weeks=weeks, uplift=uplift)
        pools = coupon_capacity(conn, plan, end, weeks)
    settings = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "step": str(Duration(int(step.total_seconds()))),
        "segment_every": str(Duration(int(segment_every.total_seconds()))),
        "timezone": plan.timezone,
        "ticks": replay.ticks,
        "copied": replay.copied,
    }
    if fmt == "json":
        click.echo(
            json.dumps(
                {"simulation": settings, "scenarios": scenarios, "coupons": pools},
                ensure_ascii=False,
                indent=2,
                sort_keys=True,
            )
        )
    elif fmt == "csv":
        click.echo(render_csv(scenarios), nl=False)
    else:
        header = [
            tr(
                "Simulation {start} to {end} ({timezone}), ticks every {step}, segments checked every "
                "{segment_every}; nothing was delivered",
                start=f"{start:%Y-%m-%d %H:%M}",
                end=f"{end:%Y-%m-%d %H:%M}",
                timezone=settings["timezone"],
                step=settings["step"],
                segment_every=settings["segment_every"],
            ),
            tr(
                "replayed {customers} customers, {orders} orders, {events} events",
                customers=f"{replay.copied['customers']:,}",
                orders=f"{replay.copied['orders']:,}",
                events=f"{replay.copied['events']:,}",
            ),
            *render_coupons(pools),
        ]
        echo_painted(render_text(header, scenarios), paint.headings, nl=False)
