"""``ecrm demo``: see the whole thing work on a generated shop, with nothing to set up."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from ecrm_dsl.cli.common import built_plan
from ecrm_dsl.cli.progress import Bar
from ecrm_dsl.demo.run import NotADemoStore, run_demo
from ecrm_dsl.demo.summary import sample_timelines, scenario_table
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.project.config import find_config, load_config

STARTER = Path(__file__).resolve().parent.parent / "starter"


@click.command("demo")
@click.option("--customers", type=click.IntRange(min=10), default=2000, show_default=True)
@click.option("--days", type=click.IntRange(min=1, max=366), default=30, show_default=True)
@click.option("--start", "start_text", default="2025-03-01", show_default=True, help="First day (shop time).")
@click.option("--tick-hours", type=click.FloatRange(min=0.25), default=1.0, show_default=True)
@click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("ecrm-demo.db"),
    show_default=True,
    help="The demo store (an earlier demo store there is replaced).",
)
@click.option(
    "--outbox",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("ecrm-demo-outbox"),
    show_default=True,
    help="Where the demo's messages are written, one JSON line each.",
)
@click.pass_context
def demo_command(
    ctx: click.Context, customers: int, days: int, start_text: str, tick_hours: float, store: Path, outbox: Path
) -> None:
    """Generate a demo shop, deploy the project's scenarios (the examples in this repository, or a starter
    project), run a simulated month of ticks and print what happened."""
    config_path = ctx.obj.get("config_path") if ctx.obj else None
    found = Path(config_path) if config_path else find_config(Path.cwd())
    config = load_config(found if found else STARTER / "ecrm.toml")
    compiled = built_plan(ctx, "demo", config=config).plan
    assert compiled is not None
    plan = Plan.from_json(compiled)
    zone = ZoneInfo(plan.timezone)
    try:
        start = datetime.fromisoformat(start_text).replace(tzinfo=zone)
    except ValueError:
        raise click.BadParameter(tr("'{text}' is not a date; write YYYY-MM-DD", text=start_text)) from None
    click.echo(
        tr(
            "ecrm demo: {count} scenarios from {folder}",
            count=len(plan.scenarios),
            folder=config.display(config.scenarios),
        )
    )
    began = time.perf_counter()
    try:
        with Bar(tr("generating a shop of {customers} customers", customers=f"{customers:,}")) as bar:

            def ticked(done: int, total: int) -> None:
                detail = tr("day {done} of {total}", done=f"{done:,}", total=f"{total:,}")
                bar.update(done, total, detail=detail, description=tr("ticking"))

            outcome = run_demo(
                plan,
                store,
                outbox,
                customers=customers,
                start=start,
                days=days,
                tick=timedelta(hours=tick_hours),
                progress=bar.echo,
                ticked=ticked if bar.live else None,
            )
    except NotADemoStore as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        "\n"
        + tr(
            "{ticks} ticks in {seconds}s; {messages} messages written to {outbox}/",
            ticks=outcome.ticks,
            seconds=f"{time.perf_counter() - began:.1f}",
            messages=f"{outcome.deliveries['delivered']:,}",
            outbox=outbox,
        )
        + "\n"
    )
    with outcome.engine.connect() as conn:
        click.echo(scenario_table(conn))
        click.echo(tr("Two customers' timelines (ecrm explain CUSTOMER_ID --store {store}):", store=store) + "\n")
        click.echo(sample_timelines(conn, plan.timezone), nl=False)
