"""Linting: load the project, run every check, keep the findings for the files asked about, in a stable order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ecrm_dsl.checks import run_checks
from ecrm_dsl.diagnostics import Diagnostic, Severity
from ecrm_dsl.project import SCENARIO_SUFFIXES, ProjectConfig
from ecrm_dsl.workspace import Workspace, load_workspace


@dataclass
class LintResult:
    workspace: Workspace
    diagnostics: list[Diagnostic]
    files: list[str]  # the files the findings were restricted to

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


def lint(config: ProjectConfig, paths: list[Path] | None = None) -> LintResult:
    """Lint the project; with ``paths``, report only findings in those files (the project still gives context)."""
    files = expand_paths(paths) if paths else []
    workspace = load_workspace(config, extra_scenario_files=_outside_resources(config, files))
    findings = [d for d in workspace.diagnostics + run_checks(workspace) if d.code not in config.ignore]
    if files:
        wanted = {config.display(p) for p in files}
        findings = [d for d in findings if d.span.file in wanted]
        shown = sorted(wanted)
    else:
        shown = sorted(set(workspace.files))
    findings = sorted(set(findings), key=Diagnostic.sort_key)
    return LintResult(workspace, findings, shown)


def _outside_resources(config: ProjectConfig, files: list[Path]) -> list[Path]:
    """Named files that are not segments, templates, schema or policies: they are scenarios."""
    resource_dirs = [config.segments.resolve(), config.templates.resolve()]
    special = {config.customer_schema.resolve(), config.policies.resolve()}
    outside = []
    for path in files:
        resolved = path.resolve()
        if resolved in special or any(resolved.is_relative_to(d) for d in resource_dirs):
            continue
        outside.append(path)
    return outside
