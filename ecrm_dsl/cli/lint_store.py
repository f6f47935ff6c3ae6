"""``ecrm lint --store``: the findings that need the store as well as the project (W530, a coupon pool running
out), from a replay of the store's recent weeks. The store is only read."""

from __future__ import annotations

import click

from ecrm_dsl.build.compiler import compile_workspace
from ecrm_dsl.build.pipeline import refuses_plan
from ecrm_dsl.cli.runtime_cmds import parse_now, plan_errors
from ecrm_dsl.cli.simulate_cmd import parse_duration
from ecrm_dsl.cli.store_access import existing_store
from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.project.lint import LintResult
from ecrm_dsl.project.rule_selection import RuleSelection


def store_findings(
    ctx: click.Context, result: LintResult, rules: RuleSelection, store: str, now_text: str | None, replay: str
) -> list[Diagnostic]:
    """The store-aware findings the rule selection lets through; none (and a sentence on standard error) when
    the project has errors that refuse a plan, since there is nothing to replay."""
    span = parse_duration(replay, "--replay")
    now = parse_now(now_text)
    if any(refuses_plan(d) for d in result.found) or result.errors:
        click.echo("ecrm lint: " + tr("the store checks need a plan; fix the errors first"), err=True)
        return []
    engine = existing_store(ctx, store, "lint", upgrade=False)
    # Imported here: only a lint with --store replays, and the runtime is not loaded for a plain lint.
    from ecrm_dsl.checks.coupon_capacity import coupon_capacity_findings

    plan, _ = compile_workspace(result.workspace)
    try:
        with plan_errors("lint"):
            found = coupon_capacity_findings(result.workspace, plan, engine, now, span, replay)
    finally:
        engine.dispose()
    return [d for d in found if rules.enabled(d.code, d.span.file)]
