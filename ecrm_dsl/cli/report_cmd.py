"""``ecrm report``: the shop's repeat-purchase KPIs and each scenario's results, from what the store recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from ecrm_dsl.cli import paint
from ecrm_dsl.cli.redact import display_location
from ecrm_dsl.cli.runtime_cmds import plan_errors, store_option
from ecrm_dsl.cli.simulate_cmd import parse_moment
from ecrm_dsl.cli.store_access import existing_store
from ecrm_dsl.cli.terminal import echo_painted
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.language.values import Duration
from ecrm_dsl.report.document import ReportOptions, build_report
from ecrm_dsl.report.text import render_csv, render_text
from ecrm_dsl.simulate.replay import simulation_settings
from ecrm_dsl.store import deployments
from ecrm_dsl.store.report_queries import Window, latest_activity

DEFAULT_TIMEZONE = "Asia/Tokyo"  # for a store nothing was deployed to yet


@click.command("report")
@click.option("--from", "start_text", help="First day (shop time) or ISO 8601 time; default: the whole history.")
@click.option("--to", "end_text", help="Last day, included; default: the latest order, event or decision.")
@click.option("--f2-days", type=click.IntRange(min=1), default=90, show_default=True, help="F2 conversion window.")
@click.option(
    "--dormant-days", type=click.IntRange(min=1), default=150, show_default=True, help="Dormant, for win-back."
)
@click.option("--segment", "segments", multiple=True, help="Break results down by this segment (default: all).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv", "html"]), default="text", show_default=True)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of stdout."
)
@store_option
@click.pass_context
def report_command(
    ctx: click.Context,
    start_text: str | None,
    end_text: str | None,
    f2_days: int,
    dormant_days: int,
    segments: tuple[str, ...],
    fmt: str,
    output: Path | None,
    store: str | None,
) -> None:
    """KPIs from the recorded outcomes: F2 conversion, repeat rate, subscription retention, win-back; per scenario
    conversion against the holdout with uplift and a 95% interval, the funnel, per-step opens, clicks and
    conversions, A/B variants, and breakdowns by phase at entry and by segment.

    Money: revenue, AOV and repeat revenue by phase, entry channel and segment, and observed LTV by
    first-purchase month; per scenario the revenue per enrollee with the incremental revenue (winsorised, 95%
    interval), deliveries, failures and unsubscribes, a sample-ratio check on every holdout and split, and each
    hypothesis's verdict against its target.

    Works on a live store and on a simulation's scratch store alike (then the window defaults to the replay's).
    """
    engine = existing_store(ctx, store, "report", upgrade=False)
    with plan_errors("report"), engine.connect() as conn:
        active = deployments.active_deployment(conn)
        plan = active[1] if active else None
        timezone = plan.timezone if plan is not None else DEFAULT_TIMEZONE
        zone = ZoneInfo(timezone)
        simulated = simulation_settings(engine) or None
        start = parse_moment(start_text, zone, end_of_day=False) if start_text else _simulated(simulated, "from")
        end = parse_moment(end_text, zone, end_of_day=True) if end_text else _simulated(simulated, "to")
        end = end or latest_activity(conn) or datetime.now(UTC)
        if start is not None and end <= start:
            raise click.BadParameter(tr("--to must be after --from"), param_hint="--to")
        unknown = sorted(set(segments) - set(plan.segments if plan is not None else ()))
        if unknown:
            missing = ", ".join(unknown)
            raise click.BadParameter(
                tr("no segment named {names} in the deployed plan", names=missing), param_hint="--segment"
            )
        options = ReportOptions(
            store=display_location(store or engine.url.database or engine.url.render_as_string()),
            timezone=timezone,
            f2_days=f2_days,
            dormant_days=dormant_days,
            segments=segments or None,
            simulation=_simulation_header(simulated),
        )
        document = build_report(conn, plan, Window(start, end), options)
    if fmt == "json":
        body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    elif fmt == "csv":
        body = render_csv(document)
    elif fmt == "html":
        from ecrm_dsl.report.html import render_html

        body = render_html(document)
    else:
        body = render_text(document)
    if output is None and fmt == "text":
        echo_painted(body, paint.report, nl=False)
    elif output is None:
        click.echo(body, nl=False)
    else:
        output.write_text(body, encoding="utf-8")
        click.echo(tr("ecrm report: wrote {file}", file=output), err=True)


def _simulated(settings: dict | None, key: str) -> datetime | None:
    return datetime.fromisoformat(settings[key]) if settings and key in settings else None


def _simulation_header(settings: dict | None) -> dict | None:
    if not settings:
        return None
    return {
        "from": settings["from"],
        "to": settings["to"],
        "step": str(Duration(settings["step_seconds"])),
        "segment_every": str(Duration(settings["segment_every_seconds"])),
    }
