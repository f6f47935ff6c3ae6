"""Findings as LSP diagnostics, and the findings of a file that belongs to no project (syntax and shape only)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from lsprotocol import types

from ecrm_dsl.docs.links import rule_page_uri
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError, Severity
from ecrm_dsl.language.i18n import language
from ecrm_dsl.lsp.positions import span_range
from ecrm_dsl.syntax.source import decode_source
from ecrm_dsl.syntax.text import parse_text
from ecrm_dsl.syntax.yaml_frontend import parse_yaml_scenarios
from ecrm_dsl.syntax.yaml_schema import SCHEMA_KINDS, validate_document
from ecrm_dsl.syntax.yaml_source import load_yaml

SOURCE = "ecrm"


def to_lsp(finding: Diagnostic, lines: Sequence[str], encoding: str) -> types.Diagnostic:
    """One finding as the editor shows it: the message with its hint, the rule code and name, and the code linked
    to the rule's page in the language the findings speak."""
    severity = finding.effective_severity
    message = finding.message if finding.hint is None else f"{finding.message}\n{finding.hint}"
    return types.Diagnostic(
        range=span_range(lines, finding.span, encoding),
        message=message,
        severity=types.DiagnosticSeverity.Error if severity == Severity.ERROR else types.DiagnosticSeverity.Warning,
        code=finding.code,
        code_description=types.CodeDescription(href=rule_page_uri(finding.code, language())),
        source=SOURCE,
        data={"rule": finding.rule.name},
    )


def standalone(text: str, path: Path) -> list[Diagnostic]:
    """Syntax and schema findings of a file outside any project (no names to resolve against)."""
    name = path.name
    try:
        source = decode_source(text.encode("utf-8"), name)
        if path.suffix == ".ecrm":
            return parse_text(source.text, name)[1]
        documents = load_yaml(source.text, name)
    except DiagnosticError as exc:
        return exc.diagnostics
    kind = _kind(documents[0].data) if documents else "scenario"
    if kind == "scenario":
        return parse_yaml_scenarios(source.text, name)[1]
    return [finding for doc in documents for finding in validate_document(doc, kind)]


_OUR_KEYS = re.compile(r"^(?:" + "|".join((*SCHEMA_KINDS, "use")) + r")\s*:", re.MULTILINE)


def looks_like_ours(text: str, path: Path) -> bool:
    """Whether a file that is none of a project's sources is one of ours: any ``.ecrm`` file, and YAML with a
    scenario's, segment's, template's … top-level key (a CI workflow or a compose file is left alone)."""
    return path.suffix == ".ecrm" or (path.suffix in (".yaml", ".yml") and _OUR_KEYS.search(text) is not None)


def _kind(data: object) -> str:
    """Which file kind a YAML document is, from its top-level key (each kind's schema requires its own)."""
    if isinstance(data, dict):
        for kind in SCHEMA_KINDS:
            if kind in data:
                return kind
    return "scenario"
