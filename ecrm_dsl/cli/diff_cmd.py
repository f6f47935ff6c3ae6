"""``ecrm diff BASE [HEAD]``: what changed between two versions of the scenarios, in words, for review and CI."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import click
from sqlalchemy import Engine

from ecrm_dsl.cli import paint
from ecrm_dsl.cli.common import ExitCode, in_english, print_findings
from ecrm_dsl.cli.git_changes import renamed_files
from ecrm_dsl.cli.redact import display_location, redact
from ecrm_dsl.cli.runtime_cmds import plan_errors
from ecrm_dsl.cli.simulate_cmd import parse_duration, parse_points
from ecrm_dsl.cli.terminal import echo_painted
from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.language.values import Duration
from ecrm_dsl.project.config import ProjectConfig
from ecrm_dsl.review.diff_impact import StoreError, check_store, measure
from ecrm_dsl.review.diff_markdown import DEFAULT_MAX_SIZE, MIN_MAX_SIZE, render_markdown
from ecrm_dsl.review.diff_model import REMOVED, Impact, PlanDiff, ScenarioImpact
from ecrm_dsl.review.diff_plans import diff_plans
from ecrm_dsl.review.diff_power import replayed_power
from ecrm_dsl.review.diff_render import render_json, render_text
from ecrm_dsl.review.diff_sources import WORKING_TREE, Context, Side, SourceError, resolve, working_tree
from ecrm_dsl.store.database import open_store


class DiffCommand(click.Command):
    """Click's own usage errors follow the exit-code mapping too: 1 with ``--detailed-exitcode``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        detailed = "--detailed-exitcode" in args
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if detailed:
                raise _DetailedUsageError(exc.format_message(), exc.ctx) from None
            raise


class _DetailedUsageError(click.UsageError):
    exit_code = 1  # DETAILED.error


@dataclass(frozen=True)
class ExitCodes:
    """What the exit status says: nothing changed, something changed, the diff could not be made."""

    same: int
    changed: int
    error: int


STANDARD = ExitCodes(same=int(ExitCode.OK), changed=int(ExitCode.FINDINGS), error=int(ExitCode.USAGE))
DETAILED = ExitCodes(same=0, changed=2, error=1)  # terraform plan -detailed-exitcode


@click.command("diff", cls=DiffCommand)
@click.argument("base")
@click.argument("head", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for terminals and CI logs, json for scripts, markdown for a pull-request comment.",
)
@click.option(
    "--store",
    envvar="ECRM_STORE",
    default=None,
    help="SQLite file or database URL to count the impact in (read only; default: $ECRM_STORE, else none).",
)
@click.option("--now", "now_text", help="Moment audiences are counted at, e.g. 2025-03-01T10:00+09:00 (default: now).")
@click.option("--mermaid/--no-mermaid", default=True, show_default=True, help="Markdown: flow diagrams when available.")
@click.option(
    "--power",
    "power_text",
    default=None,
    help="With --store: replay this many recent weeks (e.g. 4w) to estimate each added or changed scenario's power.",
)
@click.option(
    "--uplift", "uplift_text", default="2pt", show_default=True, help="With --power: the uplift to detect, in points."
)
@click.option(
    "--max-size",
    type=int,
    default=DEFAULT_MAX_SIZE,
    show_default=True,
    help="Markdown: at most this many characters (GitHub refuses comments over 65,536); diagrams, then details "
    "are left out to fit, with a note. 0: no limit.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit as terraform plan -detailed-exitcode does: 0 no changes, 1 error, 2 changes.",
)
@click.pass_context
def diff_command(
    ctx: click.Context,
    base: str,
    head: str | None,
    fmt: str,
    store: str | None,
    now_text: str | None,
    mermaid: bool,
    power_text: str | None,
    uplift_text: str,
    max_size: int,
    detailed_exitcode: bool,
) -> None:
    """Compare two versions of the scenarios: BASE and HEAD are each a plan file (.json), a project folder or a
    git revision; HEAD defaults to the working tree (the current project).

    Prints a one-line summary, then every change in words: scenarios and steps added, removed or moved, timing,
    conditions, channels, templates, segments and policies. With --store, also the customers enrolled at the
    changed steps and the audience size before and after.

    Exit status: 0 no changes, 1 changes, 2 usage or configuration error; with --detailed-exitcode, terraform's
    0 no changes, 1 error, 2 changes.
    """
    codes = DETAILED if detailed_exitcode else STANDARD
    try:
        if max_size and max_size < MIN_MAX_SIZE:
            _fail(
                tr(
                    "--max-size {size}: give at least {least} characters, or 0 for no limit",
                    size=max_size,
                    least=f"{MIN_MAX_SIZE:,}",
                )
            )
        changed = _diff(ctx, base, head, fmt, store, now_text, mermaid, power_text, uplift_text, max_size)
    except SystemExit as exc:  # every refusal below exits 2 (ExitCode.USAGE); said in this mode's number
        if exc.code == int(ExitCode.USAGE):
            raise SystemExit(codes.error) from None
        raise
    ctx.exit(codes.changed if changed else codes.same)


def _diff(
    ctx: click.Context,
    base: str,
    head: str | None,
    fmt: str,
    store: str | None,
    now_text: str | None,
    mermaid: bool,
    power_text: str | None,
    uplift_text: str,
    max_size: int,
) -> bool:
    """Print the diff in ``fmt``; whether anything changed."""
    config_path = ctx.obj.get("config_path") if ctx.obj else None
    context = Context(Path.cwd(), Path(config_path).resolve() if config_path else None, _show_findings)
    now = _parse_now(now_text)
    power = _power_request(power_text, uplift_text, store)
    try:
        old = resolve(base, context)
        new = resolve(head, context) if head is not None else working_tree(context)
    except SourceError as exc:
        _fail(str(exc))
    # JSON is for scripts: its summary and sentences are English in every language, as its keys are.
    with in_english() if fmt == "json" else nullcontext():
        return _compared(old, new, fmt, store, now, power, mermaid, max_size)


def _compared(
    old: Side,
    new: Side,
    fmt: str,
    store: str | None,
    now: datetime,
    power: tuple[timedelta, float] | None,
    mermaid: bool,
    max_size: int,
) -> bool:
    """Print the comparison of the two sides in ``fmt`` (and the impact in ``store``); whether anything changed."""
    try:
        projects = (old.project, new.project) if old.project and new.project else None
        result = diff_plans(old.plan, new.plan, old.label, new.label, projects, _renames(old, new))
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        if not (old.from_file or new.from_file):
            raise  # compiled plans are well formed: this is a bug, and main() reports it as one
        _fail(tr("a plan file is not shaped as ecrm compile writes it ({error})", error=f"{type(exc).__name__}: {exc}"))
    if store and result.changed:
        result.impact = _impact(result, old.plan, new.plan, store, now, power)
    if fmt == "json":
        click.echo(render_json(result), nl=False)
    elif fmt == "markdown":
        click.echo(render_markdown(result, old.plan, new.plan, mermaid=mermaid, max_size=max_size), nl=False)
    else:
        echo_painted(render_text(result), paint.diff, nl=False)
    return result.changed


def _renames(old: Side, new: Side) -> dict[str, str]:
    """Files git pairs as renamed, when BASE is a revision and HEAD a revision or the working tree of the same
    project; otherwise a moved file is a removal and an addition."""
    if old.commit is None or old.root_in_repository is None or old.root_in_repository != new.root_in_repository:
        return {}
    if new.commit is None and new.label != WORKING_TREE:
        return {}
    return renamed_files(Path.cwd(), old.commit, new.commit, old.root_in_repository)


def _show_findings(findings: list[Diagnostic], config: ProjectConfig, files: int) -> None:
    print_findings(findings, config.root, files, "text", err=True)


def _fail(message: str) -> NoReturn:
    click.echo(f"ecrm diff: {message}", err=True)
    raise SystemExit(int(ExitCode.USAGE))


def _add_power(
    impact: Impact, result: PlanDiff, new: dict[str, Any], engine: Engine, now: datetime, span: timedelta, uplift: float
) -> None:
    subjects = [subject for subject, state in result.subjects("scenario") if state != REMOVED]
    label = str(Duration(int(span.total_seconds())))
    if span % timedelta(weeks=1) == timedelta(0):
        label = f"{span // timedelta(weeks=1)}w"  # said in weeks, as the figures are
    click.echo("ecrm diff: " + tr("replaying the last {span} for the power estimate", span=label), err=True)
    with plan_errors("diff"):
        estimates, impact.coupons = replayed_power(engine, new, subjects, now, span, uplift)
    impact.power_span = label
    for subject, estimate in estimates.items():
        impact.scenarios.setdefault(subject, ScenarioImpact()).power = estimate


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        _fail(tr("--now '{value}' is not a time; write e.g. 2025-03-01T10:00+09:00", value=value))
    if moment.tzinfo is None:
        _fail(tr("--now '{value}' has no timezone; write e.g. 2025-03-01T10:00+09:00", value=value))
    return moment


def _power_request(span_text: str | None, uplift_text: str, store: str | None) -> tuple[timedelta, float] | None:
    """--power and --uplift, checked before any work: the replayed span and the uplift to detect."""
    if span_text is None:
        return None
    if store is None:
        _fail(tr("--power replays the store's recent history: give --store too"))
    try:
        span = parse_duration(span_text, "--power")
        uplift = parse_points(uplift_text, "--uplift")
    except click.BadParameter as exc:
        _fail(exc.format_message())
    if span < timedelta(weeks=1):
        _fail(tr("--power {span}: replay at least 1w, or the weekly figures mean little", span=span_text))
    return span, uplift


def _impact(
    result: PlanDiff,
    old: dict[str, Any],
    new: dict[str, Any],
    given: str,
    now: datetime,
    power: tuple[timedelta, float] | None = None,
) -> Impact:
    location, store = given, display_location(given)  # the store is named without a URL's password
    if "://" not in given:
        if not Path(given).is_file():
            _fail(tr("store {store} does not exist", store=store))  # opening it would create it; the diff never writes
        # SQLite's own read-only mode: even a bug here could not write to the store.
        location = f"sqlite:///file:{quote(str(Path(given).resolve()), safe='/')}?mode=ro&uri=true"
    try:
        engine = open_store(location, create=False)
    except Exception as exc:  # a bad URL or missing driver is a usage error, not a traceback
        _fail(tr("cannot open the store {store}: {error}", store=store, error=redact(str(exc))))
    try:
        check_store(engine)
        impact = measure(result, old, new, engine, now, store)
        if power is not None:
            _add_power(impact, result, new, engine, now, *power)
        return impact
    except StoreError as exc:
        _fail(tr("store {store}: {error}", store=store, error=redact(str(exc))))
    finally:
        engine.dispose()
