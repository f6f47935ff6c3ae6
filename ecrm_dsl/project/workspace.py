"""Loading a whole project into one compilation unit: every source parsed, every finding collected.

Nothing here stops at the first error: a broken file contributes its findings and the rest still loads, so one
lint run reports everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ecrm_dsl.language import ast
from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.project.config import SCENARIO_SUFFIXES, ProjectConfig
from ecrm_dsl.project.presets import BUILTIN_PRESETS, Preset, build_preset, expand
from ecrm_dsl.project.resources import (
    CustomerSchema,
    Policies,
    Segment,
    Template,
    build_customer_schema,
    build_policies,
    build_segment,
    build_template,
)
from ecrm_dsl.syntax.source import read_source
from ecrm_dsl.syntax.text import parse_text
from ecrm_dsl.syntax.yaml_frontend import parse_yaml_scenarios
from ecrm_dsl.syntax.yaml_schema import validate_document
from ecrm_dsl.syntax.yaml_source import YamlDocument, load_yaml

T = TypeVar("T")


@dataclass
class Workspace:
    config: ProjectConfig
    schema: CustomerSchema
    policies: Policies
    segments: dict[str, Segment] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    presets: dict[str, Preset] = field(default_factory=dict)
    scenarios: list[ast.Scenario] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # display names of every file read


def parse_scenario_file(path: Path, display: str) -> tuple[list[ast.SourceItem], list[Diagnostic]]:
    """Parse one scenario file in either syntax (by its suffix); errors come back as findings."""
    try:
        source = read_source(path, display)
        if path.suffix == ".ecrm":
            return parse_text(source.text, display)
        return parse_yaml_scenarios(source.text, display)
    except DiagnosticError as exc:
        return [], exc.diagnostics


def _documents(path: Path, display: str, kind: str, findings: list[Diagnostic]) -> list[YamlDocument]:
    try:
        docs = load_yaml(read_source(path, display).text, display)
    except DiagnosticError as exc:
        findings.extend(exc.diagnostics)
        return []
    valid = []
    for doc in docs:
        shape = validate_document(doc, kind)
        findings.extend(shape)
        if not shape:
            valid.append(doc)
    return valid


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))


def _escapes(config: ProjectConfig, root: Path, path: Path) -> Diagnostic | None:
    """A finding for a file of the project's folders (``root`` resolved) that is a link to a file outside the
    project and the shipped presets: it is not read, so its content is never echoed."""
    resolved = path.resolve()
    if resolved.is_relative_to(root) or resolved.is_relative_to(BUILTIN_PRESETS):
        return None
    return Diagnostic(
        "E001",
        tr("this file is a link to a file outside the project; it is not read"),
        Span(config.display(path), 1, 1),
        hint=tr("copy the file into the project, or remove the link"),
    )


def load_workspace(config: ProjectConfig, extra_scenario_files: Iterable[Path] = ()) -> Workspace:
    findings: list[Diagnostic] = []
    files: list[str] = []
    root = config.root.resolve()

    def read(path: Path, kind: str) -> list[YamlDocument]:
        display = config.display(path)
        escape = _escapes(config, root, path)
        if escape is not None:  # not listed among the files read either: nothing reads it for comments
            findings.append(escape)
            return []
        if not path.resolve().is_relative_to(BUILTIN_PRESETS):  # shipped presets are not the project's files
            files.append(display)
        return _documents(path, display, kind, findings)

    schema = CustomerSchema.builtin()
    if config.customer_schema.is_file():
        for doc in read(config.customer_schema, "customer_schema")[:1]:
            schema = build_customer_schema(doc, findings)

    policies = Policies()
    if config.policies.is_file():
        for doc in read(config.policies, "policies")[:1]:
            policies = build_policies(doc, schema, findings)

    segments = _named(
        (build_segment(doc, findings) for path in _yaml_files(config.segments) for doc in read(path, "segment")),
        lambda s: s.name,
        lambda s: s.span,
        "segment",
        findings,
    )
    templates = _named(
        (build_template(doc) for path in _yaml_files(config.templates) for doc in read(path, "template")),
        lambda t: t.name,
        lambda t: t.span,
        "template",
        findings,
    )

    # The project's presets override shipped ones of the same name.
    presets: dict[str, Preset] = {}
    for folder in (BUILTIN_PRESETS, *config.presets):
        local = _named(
            (build_preset(doc) for path in _yaml_files(folder) for doc in read(path, "preset")),
            lambda p: p.name,
            lambda p: p.span,
            "preset",
            findings,
        )
        presets.update(local)

    listed = config.scenario_files(with_links_outside=True)
    known = {p.resolve() for p in listed}
    named = [p for p in extra_scenario_files if p.resolve() not in known and p.suffix in SCENARIO_SUFFIXES]
    scenarios: list[ast.Scenario] = []
    chosen = set(named)  # named on the command line: read wherever they are
    for path in listed + named:
        display = config.display(path)
        escape = _escapes(config, root, path) if path not in chosen else None
        if escape is not None:
            findings.append(escape)
            continue
        files.append(display)
        parsed, found = parse_scenario_file(path, display)
        findings.extend(found)
        for item in parsed:
            if isinstance(item, ast.Scenario):
                scenarios.append(item)
                continue
            preset = presets.get(item.preset)
            if preset is None:
                findings.append(
                    Diagnostic(
                        "E601",
                        tr("unknown preset '{name}'", name=item.preset),
                        item.span,
                        hint=tr("presets: {names}", names=", ".join(sorted(presets))),
                    )
                )
                continue
            expanded, problems = expand(item, preset)
            findings.extend(problems)
            if expanded is not None:
                scenarios.append(expanded)
    return Workspace(config, schema, policies, segments, templates, presets, scenarios, findings, files)


def _defined_twice(kind: str, name: str, first: str) -> tuple[str, str]:
    """E409's message and hint, a whole sentence per kind so each language can word it."""
    if kind == "segment":
        return tr("segment '{name}' is defined twice (first in {first})", name=name, first=first), tr(
            "rename one of the segments"
        )
    return tr("template '{name}' is defined twice (first in {first})", name=name, first=first), tr(
        "rename one of the templates"
    )


def _named(
    items: Iterable[T], name: Callable[[T], str], span: Callable[[T], ast.Span], kind: str, findings: list[Diagnostic]
) -> dict[str, T]:
    """Index definitions by name, reporting a second definition of the same name."""
    table: dict[str, T] = {}
    for item in items:
        key = name(item)
        if key in table:
            first = span(table[key])
            message, hint = _defined_twice(kind, key, f"{first.file}:{first.line}")
            findings.append(Diagnostic("E409", message, span(item), hint=hint))
            continue
        table[key] = item
    return table
