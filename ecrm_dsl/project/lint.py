"""Linting: load the project, run every check, keep the findings for the files asked about, in a stable order.

Then the rule selection (``[rules]`` in the configuration, ``--select`` / ``--ignore``) and the suppression
comments in the sources (:mod:`ecrm_dsl.project.suppress`) decide which of them are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ecrm_dsl.checks import run_checks
from ecrm_dsl.language.diagnostics import Diagnostic, Severity
from ecrm_dsl.project.config import SCENARIO_SUFFIXES, ProjectConfig
from ecrm_dsl.project.rule_selection import RuleSelection
from ecrm_dsl.project.suppress import apply_suppressions
from ecrm_dsl.project.workspace import Workspace, load_workspace
from ecrm_dsl.syntax.source import read_bounded


@dataclass
class LintResult:
    workspace: Workspace
    diagnostics: list[Diagnostic]
    files: list[str]  # the files the findings were restricted to
    suppressed: list[Diagnostic] = field(default_factory=list)  # covered by a suppression comment
    found: list[Diagnostic] = field(default_factory=list)  # everything found, before selection and suppressions

    @property
    def errors(self) -> int:
        return sum(d.effective_severity == Severity.ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.effective_severity == Severity.WARNING for d in self.diagnostics)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files named, and the source files inside folders named, sorted."""
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(p for p in path.rglob("*") if p.is_file() and p.suffix in SCENARIO_SUFFIXES)
        else:
            found.add(path)
    return sorted(found)


def lint(config: ProjectConfig, paths: list[Path] | None = None, rules: RuleSelection | None = None) -> LintResult:
    """Lint the project; with ``paths``, report only findings in those files (the project still gives context).

    ``rules`` replaces the configuration's rule selection (the command line's ``--select`` / ``--ignore``).
    """
    rules = rules if rules is not None else config.rules
    files = expand_paths(paths) if paths else []
    workspace = load_workspace(config, extra_scenario_files=_outside_resources(config, files))
    findings = workspace.diagnostics + run_checks(workspace)
    found = sorted(set(findings), key=Diagnostic.sort_key)
    if files:
        wanted = {config.display(p) for p in files}
        findings = [d for d in findings if d.span.file in wanted]
        shown = sorted(wanted)
    else:
        shown = sorted(set(workspace.files))
    findings = [d for d in set(findings) if rules.enabled(d.code, d.span.file)]
    outcome = apply_suppressions(findings, shown, lambda name: read_text(config, name), rules.enabled)
    reported = outcome.kept + [d for d in outcome.problems if rules.enabled(d.code, d.span.file)]
    return LintResult(
        workspace,
        sorted(set(reported), key=Diagnostic.sort_key),
        shown,
        sorted(outcome.suppressed, key=Diagnostic.sort_key),
        found,
    )


def source_path(config: ProjectConfig, name: str) -> Path:
    """The file behind a name that findings use (relative to the project root, or as it was given)."""
    path = Path(name)
    if path.is_absolute():
        return path
    inside = config.root / path
    return inside if inside.exists() or not path.exists() else path


def read_text(config: ProjectConfig, name: str) -> str | None:
    """A source file's text for the suppression comments; None if it cannot be read (that is reported already)."""
    path = source_path(config, name)
    try:
        raw = read_bounded(path)
        return raw.decode("utf-8-sig") if raw is not None else None
    except (OSError, UnicodeDecodeError):
        return None


def is_project_file(config: ProjectConfig, path: Path) -> bool:
    """Whether ``path`` is one of the project's sources: a scenario, segment, template, preset, schema or policies."""
    resolved = path.resolve()
    if resolved in {config.customer_schema.resolve(), config.policies.resolve()}:
        return True
    if resolved.suffix not in SCENARIO_SUFFIXES:
        return False
    if resolved.parent == config.scenarios.resolve():
        return True
    folders = [config.segments, config.templates, *config.presets]
    return resolved.suffix != ".ecrm" and any(resolved.is_relative_to(f.resolve()) for f in folders)


def _outside_resources(config: ProjectConfig, files: list[Path]) -> list[Path]:
    """Named files that are not segments, templates, presets, schema or policies: they are scenarios."""
    resource_dirs = [folder.resolve() for folder in (config.segments, config.templates, *config.presets)]
    special = {config.customer_schema.resolve(), config.policies.resolve()}
    outside = []
    for path in files:
        resolved = path.resolve()
        if resolved in special or any(resolved.is_relative_to(d) for d in resource_dirs):
            continue
        outside.append(path)
    return outside
