"""ecrm-dsl: CRM scenarios as code for Japanese e-commerce — as a library.

    import ecrm_dsl

    project = ecrm_dsl.load_project("my-shop")          # a folder, or its ecrm.toml / pyproject.toml
    for finding in ecrm_dsl.lint(project).diagnostics:  # what `ecrm lint` reports
        print(finding.span, finding.code, finding.message)
    result = ecrm_dsl.build_plan(project)               # what `ecrm compile` makes, through the same gate
    if result.plan is not None:
        text = ecrm_dsl.canonical_json(result.plan)
    tidy = ecrm_dsl.format_source(source_text, "f2.ecrm")  # what `ecrm fmt` writes

Names are loaded on first use, so ``import ecrm_dsl`` stays cheap for the command line.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecrm_dsl.api import (
        Build,
        LintResult,
        ProjectConfig,
        build_plan,
        canonical_json,
        format_source,
        lint,
        load_project,
    )
    from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError, Severity

_EXPORTS = {
    "Build": "ecrm_dsl.api",
    "LintResult": "ecrm_dsl.api",
    "ProjectConfig": "ecrm_dsl.api",
    "build_plan": "ecrm_dsl.api",
    "canonical_json": "ecrm_dsl.api",
    "format_source": "ecrm_dsl.api",
    "lint": "ecrm_dsl.api",
    "load_project": "ecrm_dsl.api",
    "Diagnostic": "ecrm_dsl.language.diagnostics",
    "DiagnosticError": "ecrm_dsl.language.diagnostics",
    "Severity": "ecrm_dsl.language.diagnostics",
}

__all__ = [
    "Build",
    "Diagnostic",
    "DiagnosticError",
    "LintResult",
    "ProjectConfig",
    "Severity",
    "build_plan",
    "canonical_json",
    "format_source",
    "lint",
    "load_project",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ecrm_dsl' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
