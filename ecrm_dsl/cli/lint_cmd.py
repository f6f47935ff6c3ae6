"""``ecrm lint``: check scenario sources and report every finding (text, JSON, GitHub annotations or SARIF)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click

from ecrm_dsl.cli import paint
from ecrm_dsl.cli.common import ExitCode, print_findings, project_config
from ecrm_dsl.cli.git_changes import deleted_files
from ecrm_dsl.cli.render import SourceLines, render_text, summary
from ecrm_dsl.cli.terminal import echo_painted
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError, Severity
from ecrm_dsl.language.i18n import tr, trn
from ecrm_dsl.project.config import ProjectConfig, find_config, load_config
from ecrm_dsl.project.lint import LintResult, expand_paths, is_project_file, lint
from ecrm_dsl.project.rule_selection import ALWAYS_REPORTED, RuleSelection, selector_problem, split_selectors

FORMATS = ["text", "json", "github", "sarif"]


def _selectors(values: Iterable[str], option: str, switching_off: bool) -> list[str]:
    selectors = split_selectors(values)
    for selector in selectors:
        problem = selector_problem(selector)
        if problem:
            raise click.BadParameter(f"{problem[0]}; {problem[1]}", param_hint=option)
        if switching_off and selector in ALWAYS_REPORTED:
            message = tr("{code} cannot be switched off (a file with this error is not loaded)", code=selector)
            raise click.BadParameter(message, param_hint=option)
    return selectors


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for people, json for tools, github for Actions annotations, sarif for code scanning.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["warning", "error"]),
    default="warning",
    show_default=True,
    help="The least severe finding that makes the exit code 1.",
)
@click.option(
    "--select",
    "select",
    multiple=True,
    metavar="CODES",
    help="Report only these rules (codes or prefixes, comma-separated, or ALL); replaces [rules] select.",
)
@click.option(
    "--ignore",
    "ignore",
    multiple=True,
    metavar="CODES",
    help="Do not report these rules (codes or prefixes, comma-separated); adds to [rules] ignore.",
)
@click.option(
    "--only-project-files",
    is_flag=True,
    help="Skip named files that are not the project's sources (for pre-commit, which passes every YAML file).",
)
@click.option(
    "--if-project-changed",
    is_flag=True,
    help="For pre-commit: lint the whole project if a named file is one of its sources or its configuration, or "
    "git shows a source deleted (staged, or between $PRE_COMMIT_FROM_REF and $PRE_COMMIT_TO_REF); "
    "otherwise check nothing.",
)
@click.option(
    "--fix",
    "fix",
    is_flag=True,
    help="Apply the safe fixes (a close spelling, a missing 円) in place, lint again until nothing more is "
    "fixable, then report what remains.",
)
@click.option(
    "--diff",
    "diff",
    is_flag=True,
    help="Print the unified diff of what --fix would change and write nothing (exit 1 when there is something to fix).",
)
@click.option(
    "--store",
    default=None,
    help="Also check the project against this store (SQLite file or URL; read only): replays its last weeks "
    "to warn of coupon pools that would run out (W530).",
)
@click.option(
    "--replay",
    default="4w",
    show_default=True,
    help="With --store: how many recent weeks to replay for the pace.",
)
@click.option(
    "--now", "now_text", help="With --store: the end of the replay, e.g. 2025-03-01T10:00+09:00 (default: now)."
)
@click.pass_context
def lint_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    fmt: str,
    fail_on: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    only_project_files: bool,
    if_project_changed: bool,
    fix: bool,
    diff: bool,
    store: str | None,
    replay: str,
    now_text: str | None,
) -> None:
    """Check scenarios (and the segments, templates, schema and policies they use).

    With PATHS, report findings in those files or folders only; without, lint the whole project.
    Exit status: 0 clean, 1 findings, 2 usage or configuration error. With --diff: 0 nothing to fix, 1 some.
    """
    if fix and diff:
        raise click.UsageError(tr("use --fix to apply the fixes or --diff to see them, not both"))
    selected = _selectors(select, "--select", False) if select else None
    ignored = _selectors(ignore, "--ignore", True)
    config = _config(ctx, _start(paths), fmt)
    rules = config.rules.overridden(selected, ignored)
    named = list(paths)
    if if_project_changed:
        if not _project_changed(config, named):
            _report(fmt, [], [], config.root, 0)
            ctx.exit(int(ExitCode.OK))
        named = []  # a change anywhere can break a scenario elsewhere (a deleted template): lint everything
    elif only_project_files and named:
        named = [p for p in expand_paths(named) if is_project_file(config, p)]
        if not named:  # nothing of this project among the files: nothing to say
            _report(fmt, [], [], config.root, 0)
            ctx.exit(int(ExitCode.OK))
    if diff:
        ctx.exit(_show_fixes(config, named, rules))
    if fix:
        _apply_fixes(config, named, rules, fmt)
    result: LintResult = lint(config, named or None, rules)
    findings = result.diagnostics
    if store is not None:
        from ecrm_dsl.cli.lint_store import store_findings

        findings = sorted(
            findings + store_findings(ctx, result, rules, store, now_text, replay), key=Diagnostic.sort_key
        )
    _report(fmt, findings, result.suppressed, config.root, len(result.files))
    errors = sum(d.effective_severity == Severity.ERROR for d in findings)
    failing = errors if fail_on == "error" else len(findings)
    ctx.exit(int(ExitCode.FINDINGS if failing else ExitCode.OK))


def _show_fixes(config: ProjectConfig, named: list[Path], rules: RuleSelection) -> int:
    """--diff: the diff on standard output, the count on standard error; the exit code says whether any."""
    from ecrm_dsl.project.autofix import plan_fixes

    outcome = plan_fixes(config, named or None, rules)
    click.echo(outcome.diff(), nl=False)
    click.echo(
        tr("would fix {findings} in {files}", findings=_findings(len(outcome.fixed)), files=_files(len(outcome.files))),
        err=True,
    )
    return int(ExitCode.FINDINGS if outcome.files else ExitCode.OK)


def _apply_fixes(config: ProjectConfig, named: list[Path], rules: RuleSelection, fmt: str) -> None:
    """--fix: write the fixes and say how many; a file edited meanwhile is left alone and named."""
    from ecrm_dsl.project.autofix import plan_fixes, write_fixes

    outcome = plan_fixes(config, named or None, rules)
    write_fixes(outcome)
    skipped = set(outcome.not_written) | set(outcome.unwritable)
    for name in sorted(outcome.not_written):
        message = tr("{file} changed while it was being fixed; not overwritten (run again)", file=name)
        click.echo(f"ecrm lint --fix: {message}", err=True)
    for name, reason in sorted(outcome.unwritable.items()):
        message = tr("{file} could not be written: {reason}", file=name, reason=reason)
        click.echo(f"ecrm lint --fix: {message}", err=True)
    written = [f for f in outcome.files if f.name not in skipped]
    fixed = [d for d in outcome.fixed if d.fix is not None and d.fix.span.file not in skipped]
    line = tr("fixed {findings} in {files}", findings=_findings(len(fixed)), files=_files(len(written)))
    click.echo(line, err=fmt != "text")  # machine-readable formats keep standard output to themselves


def _findings(number: int) -> str:
    return trn("{count} finding", "{count} findings", number, count=number)


def _files(number: int) -> str:
    return trn("{count} file", "{count} files", number, count=number)


def _project_changed(config: ProjectConfig, named: list[Path]) -> bool:
    """Whether a named file, or a file git shows deleted, is one of the project's sources or its configuration."""
    settings = config.source.resolve() if config.source is not None else None

    def ours(path: Path) -> bool:
        return path.resolve() == settings or is_project_file(config, path)

    return any(ours(p) for p in expand_paths(named)) or any(ours(p) for p in deleted_files(config.root))


def _start(paths: tuple[Path, ...]) -> Path | None:
    """Where to look for the configuration: the first named path that has one above it."""
    return next((p for p in paths if find_config(p) is not None), paths[0] if paths else None)


def _config(ctx: click.Context, start: Path | None, fmt: str) -> ProjectConfig:
    """The project configuration; in the CI formats, a broken one is reported in that format (exit 2)."""
    if fmt in ("text", "json"):
        return project_config(ctx, start)
    path = ctx.obj.get("config_path") if ctx.obj else None
    try:
        return load_config(Path(path) if path else None, start)
    except DiagnosticError as exc:
        _report(fmt, exc.diagnostics, [], Path.cwd(), 1)
        raise SystemExit(int(ExitCode.USAGE)) from None


def _report(fmt: str, findings: list[Diagnostic], suppressed: list[Diagnostic], root: Path, files: int) -> None:
    if fmt == "text":
        echo_painted(render_text(findings, SourceLines(root), files, rule_help=True), paint.findings, nl=False)
        return
    if fmt == "json":
        print_findings(findings, root, files, fmt)
        return
    # The CI formats' modules (git, package metadata) are imported only when asked for: most runs print text.
    from ecrm_dsl.cli.render_github import render_github
    from ecrm_dsl.cli.render_sarif import render_sarif
    from ecrm_dsl.cli.repo_paths import RepoPaths

    paths = RepoPaths.discover(root)
    if fmt == "github":
        click.echo(render_github(findings, paths), nl=False)
    else:
        click.echo(render_sarif(findings, paths, SourceLines(root), suppressed), nl=False)
    click.echo(summary(findings, files), err=True)  # GitHub shows it in the log; stdout stays machine-readable
