"""Semantic checks, one module per rule family; :func:`run_checks` runs them all over a workspace."""

from __future__ import annotations

from ecrm_dsl.checks.consent import check_consent, check_templates
from ecrm_dsl.checks.cross_scenario import check_across_scenarios
from ecrm_dsl.checks.editor_files import check_schema_copies
from ecrm_dsl.checks.line_messages import check_line_templates
from ecrm_dsl.checks.practice import check_practice
from ecrm_dsl.checks.references import check_references
from ecrm_dsl.checks.satisfiable import SatisfiabilityChecker
from ecrm_dsl.checks.scope import Scope, scenario_conditions, segment_scope
from ecrm_dsl.checks.structure import check_structure
from ecrm_dsl.checks.types import TypeChecker
from ecrm_dsl.checks.workspace_rules import check_workspace
from ecrm_dsl.language import ast
from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.project.presets import rehome
from ecrm_dsl.project.workspace import Workspace

__all__ = ["run_checks"]


def run_checks(ws: Workspace) -> list[Diagnostic]:
    """Every semantic finding for the workspace (parse and shape findings are already in ``ws.diagnostics``)."""
    findings: list[Diagnostic] = []
    segment_names = frozenset(ws.segments)
    for segment in ws.segments.values():
        scope = segment_scope(ws.schema, segment_names)
        _condition(segment.condition, scope, findings)
    findings.extend(check_templates(ws))
    findings.extend(check_line_templates(ws))
    for scenario in ws.scenarios:
        found: list[Diagnostic] = []
        for expr, scope in scenario_conditions(scenario, ws.schema, segment_names):
            _condition(expr, scope, found)
        found.extend(check_references(ws, scenario))
        found.extend(check_structure(scenario))
        found.extend(check_consent(ws, scenario))
        found.extend(check_practice(scenario, ws.segments))
        if scenario.origin is not None:
            found = [rehome(d, scenario.origin) for d in found]
        findings.extend(found)
    findings.extend(check_workspace(ws))
    findings.extend(check_across_scenarios(ws))
    findings.extend(check_schema_copies(ws.config))
    return findings


def _condition(expr: ast.Expr, scope: Scope, findings: list[Diagnostic]) -> None:
    typed: list[Diagnostic] = []
    TypeChecker(scope, typed).check_condition(expr)
    findings.extend(typed)
    if not typed:  # reasoning about values only makes sense once the names and types are right
        SatisfiabilityChecker(scope, findings).check(expr)
