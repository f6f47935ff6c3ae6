"""Presets: a proven scenario written once with parameters, instantiated for other segments and products.

A preset is a YAML file (``preset.schema.json``) whose ``scenario`` body holds ``{{ parameter }}`` placeholders.
Expansion never pastes raw text into code: every argument is type-checked first, a condition argument must
parse on its own and is substituted in parentheses, text inside a condition is substituted as a quoted string,
and the expanded scenario then goes through the same schema and checks as a hand-written one.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecrm_dsl.language import ast
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError, Fix
from ecrm_dsl.language.fixes import replace_exact, replace_head
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.language.values import Duration, TimeOfDay, ValueError_, parse_percent
from ecrm_dsl.syntax.common import literal_value_text
from ecrm_dsl.syntax.text import parse_condition
from ecrm_dsl.syntax.yaml_frontend import ScenarioBuilder
from ecrm_dsl.syntax.yaml_schema import validate_document
from ecrm_dsl.syntax.yaml_source import YamlDocument

BUILTIN_PRESETS = Path(__file__).resolve().parent.parent / "presets"
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_NAME = re.compile(r"^(?!\d)\w+$")
_EVENT = re.compile(r"^(?!\d)\w+(\.(?!\d)\w+)+$")
_CONDITION_KEYS = {"where", "if", "when"}


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str | None
    parameters: dict[str, dict[str, Any]]
    doc: YamlDocument

    @property
    def span(self) -> ast.Span:
        return self.doc.span(())


def build_preset(doc: YamlDocument) -> Preset:
    data = doc.data
    return Preset(
        data["preset"],
        data.get("title", data["preset"]),
        data.get("description"),
        dict(data.get("parameters") or {}),
        doc,
    )


def expand(use: ast.PresetUse, preset: Preset) -> tuple[ast.Scenario | None, list[Diagnostic]]:
    """The scenario ``use`` makes of ``preset``; every finding is placed at the use site."""
    findings: list[Diagnostic] = []
    values = _arguments(use, preset, findings)
    if findings:
        return None, findings
    body = _substitute(copy.deepcopy(preset.doc.data["scenario"]), values, key=None)
    data = {"scenario": use.id, "title": use.title, **body}
    doc = _shifted(preset.doc, data)
    inner = validate_document(doc, "scenario")
    scenario = None
    if not inner:
        builder = ScenarioBuilder(doc)
        scenario = dataclasses.replace(builder.scenario(), span=use.span, origin=use)
        inner = builder.diagnostics
    return scenario, [rehome(d, use) for d in inner]


def rehome(finding: Diagnostic, use: ast.PresetUse) -> Diagnostic:
    """Move a finding inside a preset to the line that uses the preset, saying where in the preset it was."""
    if finding.span.file == use.span.file:
        return finding
    where = f"{finding.span.file}:{finding.span.line}:{finding.span.column}"
    message = tr("{message} (in preset {preset}, {where})", message=finding.message, preset=use.preset, where=where)
    return dataclasses.replace(finding, span=use.span, message=message)


def _shifted(doc: YamlDocument, data: dict[str, Any]) -> YamlDocument:
    """A document for the expanded body, keeping the preset's positions (the body sat under ``scenario:``)."""

    def strip(table: dict[Any, Any]) -> dict[Any, Any]:
        return {path[1:]: value for path, value in table.items() if path[:1] == ("scenario",)}

    return YamlDocument(data, doc.file, strip(doc.value_spans), strip(doc.key_spans), strip(doc.styles), doc.lines)


def _rename_argument(span: ast.Span, name: str, replacement: str) -> Fix | None:
    """In text the argument's span starts with its name (``coupon_days = 5``); in YAML it is the key itself."""
    if span.file.endswith(".ecrm"):
        return replace_head(span, name, replacement)
    return replace_exact(span, name, replacement)


def _arguments(use: ast.PresetUse, preset: Preset, findings: list[Diagnostic]) -> dict[str, tuple[Any, str]]:
    """Each parameter's value as (plain value, spelling inside a condition)."""
    given = {a.name: a for a in use.args}
    values: dict[str, tuple[Any, str]] = {}
    for placeholder in sorted(set(_PLACEHOLDER.findall(json.dumps(preset.doc.data["scenario"], ensure_ascii=False)))):
        if placeholder not in preset.parameters:
            findings.append(
                Diagnostic(
                    "E602",
                    tr(
                        "preset {preset} uses {{{{ {placeholder} }}}}, which is not one of its parameters",
                        preset=preset.name,
                        placeholder=placeholder,
                    ),
                    preset.span,
                    hint=tr("declare it under parameters"),
                )
            )
    for name in given:
        if name not in preset.parameters:
            close = difflib.get_close_matches(name, sorted(preset.parameters), n=1)
            findings.append(
                Diagnostic(
                    "E602",
                    tr("preset {preset} has no parameter '{name}'", preset=preset.name, name=name),
                    given[name].span,
                    hint=tr("did you mean '{value}'?", value=close[0])
                    if close
                    else tr("parameters: {names}", names=", ".join(sorted(preset.parameters))),
                    fix=_rename_argument(given[name].span, name, close[0]) if close and close[0] not in given else None,
                )
            )
    for name, spec in preset.parameters.items():
        arg = given.get(name)
        if arg is None:
            if "default" not in spec:
                findings.append(
                    Diagnostic(
                        "E602",
                        tr(
                            "preset {preset} needs parameter '{name}' ({type})",
                            preset=preset.name,
                            name=name,
                            type=spec["type"],
                        ),
                        use.span,
                        hint=spec.get("description"),
                    )
                )
                continue
            literal = ast.Literal(
                spec["default"],
                "string"
                if isinstance(spec["default"], str)
                else ("bool" if isinstance(spec["default"], bool) else "int"),
                use.span,
            )
        else:
            literal = arg.value
        try:
            values[name] = _typed(literal, spec["type"])
        except ValueError_ as exc:
            findings.append(
                Diagnostic(
                    "E602",
                    tr("parameter '{name}' of preset {preset}: {problem}", name=name, preset=preset.name, problem=exc),
                    arg.span if arg else use.span,
                    hint=spec.get("description"),
                )
            )
    return values


def _typed(literal: ast.Literal, kind: str) -> tuple[Any, str]:
    value = literal.value
    text = str(value) if literal.type not in ("string",) else value
    if kind == "string":
        if literal.type != "string":
            raise ValueError_(tr("expected text, got {value}", value=literal_value_text(literal)))
        return value, json.dumps(value, ensure_ascii=False)
    if kind == "int":
        if literal.type != "int":
            raise ValueError_(tr("expected a whole number, got {value}", value=literal_value_text(literal)))
        return value, str(value)
    if kind == "money":
        if literal.type != "money":
            raise ValueError_(tr("expected an amount such as 500円, got {value}", value=literal_value_text(literal)))
        return str(value), str(value)
    if kind == "duration":
        duration = value if isinstance(value, Duration) else Duration.parse(str(text))
        return str(duration), str(duration)
    if kind == "time":
        time = value if isinstance(value, TimeOfDay) else TimeOfDay.parse(str(text))
        return str(time), str(time)
    if kind == "percent":
        percent = parse_percent(str(text))
        return percent, str(percent)
    if kind == "condition":
        if literal.type != "string":
            raise ValueError_(tr("expected a condition written as text"))
        try:
            _, problems = parse_condition(str(value), "<argument>")
        except DiagnosticError as exc:
            raise ValueError_(
                tr("the condition does not parse: {problem}", problem=exc.diagnostics[0].message)
            ) from None
        if problems:
            raise ValueError_(tr("the condition does not parse: {problem}", problem=problems[0].message))
        return value, f"({value})"
    pattern = _EVENT if kind == "event" else _NAME
    if literal.type != "string" or not pattern.match(str(value)):
        raise ValueError_(_not_a_name(kind, literal_value_text(literal)))
    return value, str(value)


def _not_a_name(kind: str, shown: str) -> str:
    """The argument of a name parameter (``template``, ``segment``, ``channel``, ``event``) is not such a name."""
    if kind == "template":
        return tr("expected a template name, got {value}", value=shown)
    if kind == "segment":
        return tr("expected a segment name, got {value}", value=shown)
    if kind == "channel":
        return tr("expected a channel name, got {value}", value=shown)
    if kind == "event":
        return tr("expected a event name, got {value}", value=shown)  # sic: the English as it always was
    return tr("expected a {kind} name, got {value}", kind=kind, value=shown)


def _substitute(node: Any, values: dict[str, tuple[Any, str]], key: str | None) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, values, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, values, key) for v in node]
    if not isinstance(node, str):
        return node
    in_condition = key in _CONDITION_KEYS
    whole = _PLACEHOLDER.fullmatch(node.strip())
    if whole and whole.group(1) in values:
        plain, spelled = values[whole.group(1)]
        return spelled if in_condition else plain

    def replace(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            return match.group(0)
        plain, spelled = values[match.group(1)]
        return spelled if in_condition else str(plain)

    return _PLACEHOLDER.sub(replace, node)
