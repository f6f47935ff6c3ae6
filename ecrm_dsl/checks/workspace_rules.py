"""Checks across files: unique scenario ids, segment cycles, and policies that name what exists."""

from __future__ import annotations

from ecrm_dsl.language import ast
from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.project.workspace import Workspace


def check_workspace(ws: Workspace) -> list[Diagnostic]:
    findings: list[Diagnostic] = []
    seen: dict[str, ast.Scenario] = {}
    for scenario in ws.scenarios:
        first = seen.setdefault(scenario.id, scenario)
        if first is not scenario:
            findings.append(
                Diagnostic(
                    "E402",
                    tr(
                        "scenario id '{scenario}' is already used in {file}:{line}",
                        scenario=scenario.id,
                        file=first.span.file,
                        line=first.span.line,
                    ),
                    scenario.span,
                    hint=tr("scenario ids are unique across the project; rename one"),
                )
            )
    ids = set(seen)
    for name, span in zip(ws.policies.priority, ws.policies.priority_spans, strict=True):
        if name not in ids:
            findings.append(
                Diagnostic(
                    "E509",
                    tr("the priority list names scenario '{scenario}', which does not exist", scenario=name),
                    span,
                    hint=tr("remove it or fix the id"),
                )
            )
    for name, span in zip(ws.policies.nurture_only, ws.policies.nurture_only_spans, strict=True):
        if name not in ws.segments:
            findings.append(
                Diagnostic(
                    "E201",
                    tr("nurture_only names unknown segment '{segment}'", segment=name),
                    span,
                    hint=tr("nurture_only lists segment names"),
                )
            )
    findings.extend(_segment_cycles(ws))
    return findings


def _segment_cycles(ws: Workspace) -> list[Diagnostic]:
    uses = {
        name: sorted(
            {
                e.args[0].dotted
                for e in ast.walk_exprs(seg.condition)
                if isinstance(e, ast.Call)
                and e.name == "in_segment"
                and e.args
                and isinstance(e.args[0], ast.Ref)
                and e.args[0].dotted in ws.segments
            }
        )
        for name, seg in ws.segments.items()
    }
    findings = []
    reported: set[frozenset[str]] = set()
    for start in sorted(uses):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in uses[node]:
                if nxt == start:
                    cycle = frozenset(path)
                    if cycle not in reported:
                        reported.add(cycle)
                        findings.append(
                            Diagnostic(
                                "E411",
                                tr(
                                    "segments refer to each other in a cycle: {cycle}",
                                    cycle=" → ".join([*path, start]),
                                ),
                                ws.segments[start].span,
                                hint=tr("break the cycle; a segment cannot contain itself"),
                            )
                        )
                elif nxt not in path:
                    stack.append((nxt, [*path, nxt]))
    return findings
