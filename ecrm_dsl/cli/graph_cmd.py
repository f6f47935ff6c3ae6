"""``ecrm graph``: one scenario as a diagram — Mermaid (GitHub Markdown), Graphviz DOT, or SVG through ``dot``."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, NoReturn

import click

from ecrm_dsl.cli.common import ExitCode, alternatives, built_plan
from ecrm_dsl.language.i18n import n_, tr
from ecrm_dsl.plan.document import PLAN_FORMAT
from ecrm_dsl.review.graph import (
    GraphvizError,
    GraphvizMissing,
    PlanShapeError,
    dot,
    mermaid,
    mermaid_markdown,
    svg,
)

Json = dict[str, Any]
FORMATS = ("mermaid", "markdown", "dot", "svg")
_SUFFIX_FORMATS = {".mmd": "mermaid", ".md": "markdown", ".dot": "dot", ".gv": "dot", ".svg": "svg"}


@click.command("graph")
@click.argument("scenario")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="mermaid (default), markdown (Mermaid in a ```mermaid fence), dot, or svg (runs Graphviz's dot). "
    "Without it, -o's suffix decides (.mmd .md .dot .svg).",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: standard output)."
)
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Draw from this compiled plan (default: compile the current project).",
)
@click.pass_context
def graph_command(
    ctx: click.Context, scenario: str, fmt: str | None, output: Path | None, plan_path: Path | None
) -> None:
    """Draw SCENARIO (a scenario id) as a diagram: its trigger, steps, timings, guards, branches and ends.

    Refuses (exit 1) while the project has errors; an unknown scenario or a missing Graphviz exits 2.
    """
    plan = _read_plan(plan_path) if plan_path else _compile_project(ctx)
    entry = _find(plan, scenario)
    fmt = fmt or _SUFFIX_FORMATS.get(output.suffix.lower() if output else "", "mermaid")
    data = _render(entry, fmt)
    if output is None:
        click.echo(data, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    click.echo(tr("wrote {path}", path=output), err=True)


def _fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    click.echo(f"ecrm graph: {message}", err=True)
    raise SystemExit(int(code))


def _compile_project(ctx: click.Context) -> Json:
    plan = built_plan(ctx, "graph", refused=n_("the project has errors (see above); fix them or pass --plan")).plan
    assert plan is not None
    return plan


def _read_plan(path: Path) -> Json:
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(tr("{path}: cannot read the plan: {error}", path=path, error=exc))
    if not isinstance(plan, dict) or plan.get("format") != PLAN_FORMAT or not isinstance(plan.get("scenarios"), list):
        _fail(tr("{path}: not an execution plan (write one with 'ecrm compile -o plan.json')", path=path))
    return plan


def _find(plan: Json, name: str) -> Json:
    scenarios = [s for s in plan["scenarios"] if isinstance(s, dict)]
    for scenario in scenarios:
        if scenario.get("id") == name:
            return scenario
    ids = sorted(str(s.get("id")) for s in scenarios)
    close = difflib.get_close_matches(name, ids, n=3, cutoff=0.6)
    if close:
        message = tr("no scenario '{name}'; did you mean {close}?", name=name, close=alternatives(close))
    else:
        message = tr("no scenario '{name}'", name=name)
    if ids:
        listing = tr("scenarios: {names}", names=", ".join(ids))
    else:
        listing = tr("the plan has no scenarios")
    _fail(f"{message}\n  {listing}")


def _render(scenario: Json, fmt: str) -> str | bytes:
    try:
        if fmt == "mermaid":
            return mermaid(scenario)
        if fmt == "markdown":
            return mermaid_markdown(scenario)
        source = dot(scenario)
        return source if fmt == "dot" else svg(source)
    except PlanShapeError as exc:
        _fail(str(exc))
    except GraphvizMissing:
        _fail(tr("Graphviz's dot was not found: install Graphviz (dot) or use --format dot"))
    except GraphvizError as exc:
        _fail(str(exc), ExitCode.INTERNAL)
