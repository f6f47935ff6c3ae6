"""Safe, positioned YAML: plain data for the JSON Schema plus the source span of every value.

PyYAML composes the node graph (with marks) in C; we then convert it ourselves, which lets us refuse what a
scenario file must never contain: aliases (the shape of alias bombs), explicit tags (object construction),
duplicate keys (silently dropped by PyYAML). YAML 1.1 quirks that bite planners are undone: ``10:00`` stays the
string "10:00" instead of the base-60 integer 600.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError
from ecrm_dsl.language.i18n import tr, trn
from ecrm_dsl.language.values import MAX_INTEGER
from ecrm_dsl.syntax.limits import MAX_YAML_NESTING, MAX_YAML_VALUES

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCTOR = yaml.SafeLoader("")  # only its scalar constructors are used

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}

Path_ = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """One YAML document: its data and where each path's key and value sit in the file."""

    data: Any
    file: str
    value_spans: dict[Path_, Span] = field(default_factory=dict)
    key_spans: dict[Path_, Span] = field(default_factory=dict)
    styles: dict[Path_, str | None] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def span(self, path: Path_) -> Span:
        """The span of the value at ``path``, or of its nearest ancestor that has one."""
        for depth in range(len(path), -1, -1):
            found = self.value_spans.get(tuple(path[:depth]))
            if found is not None:
                return found
        return Span(self.file, 1, 1)

    def data_at(self, path: Path_) -> Any:
        value = self.data
        for part in path:
            value = value[part]
        return value

    def key_span(self, path: Path_) -> Span:
        return self.key_spans.get(tuple(path)) or self.span(path)

    def string_locator(self, path: Path_) -> Callable[[int], tuple[int, int]]:
        """Maps a character offset in the string scalar at ``path`` to its line and column in the file.

        YAML changes text on the way in (quotes and escapes, block indentation, folded line breaks), so the
        value is aligned with the raw source: each character is found at the next place in the source that
        can have produced it.
        """
        return _align(self.data_at(path), self._raw(path))

    def position_in_string(self, path: Path_, offset: int) -> Span:
        """The file position of character ``offset`` of the string scalar at ``path``."""
        return Span(self.file, *self.string_locator(path)(offset))

    def _raw(self, path: Path_) -> list[tuple[str, int, int]]:
        """The source characters of a scalar with their (line, column), without its quotes or block header."""
        span = self.span(path)
        style = self.styles.get(tuple(path))
        raw: list[tuple[str, int, int]] = []
        for line in range(span.line, (span.end_line or span.line) + 1):
            text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
            first = span.column if line == span.line else 1
            last = span.end_column if line == span.end_line else len(text) + 1
            raw.extend((char, line, column) for column, char in enumerate(text[first - 1 : last - 1], first))
            raw.append(("\n", line, len(text) + 1))
        if style in ("|", ">"):
            raw = [r for r in raw if r[1] > span.line]
        elif style in ('"', "'") and raw:
            raw = raw[1:]
        return raw


_SKIP_LIMIT = 16  # how far alignment looks ahead before giving up on a character


def _align(value: str, raw: list[tuple[str, int, int]]) -> Callable[[int], tuple[int, int]]:
    positions: list[tuple[int, int]] = []
    j = 0
    for char in value:
        k = j
        while k < len(raw) and k - j < _SKIP_LIMIT:
            source = raw[k][0]
            if source == char or (char.isspace() and source.isspace()):
                break
            k += 1
        if k >= len(raw) or k - j >= _SKIP_LIMIT:
            # The value is not the source's text (an escape we do not follow, or a preset's substitution):
            # point at the start of the value rather than somewhere misleading inside it.
            start = (raw[0][1], raw[0][2]) if raw else (1, 1)
            return lambda offset: start
        j = k
        where = raw[min(j, len(raw) - 1)] if raw else ("", 1, 1)
        positions.append((where[1], where[2]))
        j += 1
    end = raw[min(j, len(raw) - 1)] if raw else ("", 1, 1)

    def locate(offset: int) -> tuple[int, int]:
        if 0 <= offset < len(positions):
            return positions[offset]
        return (end[1], end[2])

    return locate


def load_yaml(text: str, file: str) -> list[YamlDocument]:
    """Parse every document of a YAML stream, or raise :class:`DiagnosticError` with positions."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        raise DiagnosticError([_syntax_finding(exc, text, file)]) from None
    except yaml.YAMLError as exc:
        raise DiagnosticError(
            [Diagnostic("E003", tr("YAML syntax error: {problem}", problem=exc), Span(file, 1, 1))]
        ) from None
    documents = []
    lines = text.split("\n")
    for node in nodes:
        if node is None:
            continue
        converter = _Converter(file)
        data = converter.convert(node, ())
        if converter.aliased:
            raise DiagnosticError(_alias_findings(text, file) + converter.diagnostics)
        if converter.diagnostics:
            raise DiagnosticError(converter.diagnostics)
        documents.append(YamlDocument(data, file, converter.value_spans, converter.key_spans, converter.styles, lines))
    return documents


def _syntax_finding(exc: yaml.MarkedYAMLError, text: str, file: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    span = Span(file, mark.line + 1, mark.column + 1) if mark else Span(file, 1, 1)
    problem = exc.problem or tr("malformed YAML")
    if "maximum nesting depth" in problem:
        # libyaml's own guard (1,000 levels) fires before ours can: the same finding as from the converter.
        return _nesting_finding(span)
    lines = text.split("\n", mark.line + 1) if mark else []
    line = lines[mark.line] if mark and mark.line < len(lines) else ""  # YAML also breaks lines at \r, \x85 …
    if "\t" in line[: len(line) - len(line.lstrip(" \t"))] or "tab" in problem:
        return Diagnostic(
            "E003",
            tr("YAML syntax error: {problem}", problem=problem),
            span,
            hint=tr("YAML does not allow tabs for indentation; indent with spaces"),
        )
    return Diagnostic("E003", tr("YAML syntax error: {problem}", problem=problem), span, hint=_yaml_hint(problem))


def _nesting_finding(span: Span) -> Diagnostic:
    return Diagnostic(
        "E008",
        tr(
            "the YAML is nested more than {limit} levels deep (lists and mappings inside each other)",
            limit=MAX_YAML_NESTING,
        ),
        span,
        hint=tr("flatten it: move deep branches into scenarios or segments of their own"),
    )


def _alias_findings(text: str, file: str) -> list[Diagnostic]:
    """One finding for the file, at its first alias (``*name``), counting the others. The composed graph only
    knows the anchored node, so the positions come from the event stream, which never expands anything."""
    aliases = [event for event in yaml.parse(text, Loader=_Loader) if isinstance(event, yaml.AliasEvent)]
    if not aliases:
        return []
    first, more = aliases[0], len(aliases) - 1
    start, end = first.start_mark, first.end_mark
    span = (
        Span(file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)
        if start is not None and end is not None
        else Span(file, 1, 1)
    )
    if more:
        message = trn(
            "YAML aliases (*name) are not allowed in ecrm-dsl files (and {more} more alias)",
            "YAML aliases (*name) are not allowed in ecrm-dsl files (and {more} more aliases)",
            more,
            more=more,
        )
    else:
        message = tr("YAML aliases (*name) are not allowed in ecrm-dsl files")
    return [
        Diagnostic(
            "E004",
            message,
            span,
            hint=tr("write the value out; for reuse, use a segment, a template or a preset"),
        )
    ]


def _yaml_hint(problem: str) -> str | None:
    if "mapping values are not allowed" in problem:
        return tr("quote values that contain ': ' (a colon and a space), e.g. where: \"a: b\"")
    if "found character" in problem:
        return tr("quote the value")
    return None


class _Converter:
    def __init__(self, file: str):
        self.file = file
        self.value_spans: dict[Path_, Span] = {}
        self.key_spans: dict[Path_, Span] = {}
        self.styles: dict[Path_, str | None] = {}
        self.diagnostics: list[Diagnostic] = []
        self.seen: set[int] = set()
        self.aliased = False

    def _span(self, node: Node) -> Span:
        start, end = node.start_mark, node.end_mark
        return Span(self.file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)

    def convert(self, node: Node, path: Path_) -> Any:
        if len(path) > MAX_YAML_NESTING:
            # Checked before recursing: the conversion and the schema validation after it recurse per level.
            raise DiagnosticError(
                [_nesting_finding(Span(self.file, node.start_mark.line + 1, node.start_mark.column + 1))]
            )
        if id(node) in self.seen:
            # The same node reached twice: an alias. Refusing it blocks alias bombs outright.
            self.aliased = True
            return None
        self.seen.add(id(node))
        if len(self.seen) > MAX_YAML_VALUES:
            raise DiagnosticError(
                [
                    Diagnostic(
                        "E002",
                        tr("the YAML has more than {limit} values", limit=f"{MAX_YAML_VALUES:,}"),
                        self._span(node),
                    )
                ]
            )
        if node.tag not in _STANDARD_TAGS:
            self.diagnostics.append(
                Diagnostic(
                    "E004",
                    tr("YAML tag '{tag}' is not allowed", tag=node.tag),
                    self._span(node),
                    hint=tr("remove the '!tag'; ecrm-dsl files hold plain data only"),
                )
            )
            return None
        self.value_spans[path] = self._span(node)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.convert(item, (*path, index)) for index, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        self.styles[path] = node.style
        return self._scalar(node)

    def _mapping(self, node: MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.diagnostics.append(
                    Diagnostic("E004", tr("YAML merge keys (<<) are not allowed"), self._span(key_node))
                )
                continue
            if not isinstance(key_node, ScalarNode):
                self.diagnostics.append(
                    Diagnostic("E100", tr("a mapping key must be a plain name"), self._span(key_node))
                )
                continue
            key = str(key_node.value) if key_node.tag != "tag:yaml.org,2002:bool" else key_node.value
            if key in result:
                first = self.key_spans[(*path, key)]
                self.diagnostics.append(
                    Diagnostic(
                        "E100",
                        tr("key '{key}' is given twice (first at line {line})", key=key, line=first.line),
                        self._span(key_node),
                        hint=tr("remove one of them; YAML keeps only the last, silently"),
                    )
                )
                continue
            self.key_spans[(*path, key)] = self._span(key_node)
            result[key] = self.convert(value_node, (*path, key))
        return result

    def _scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag == "tag:yaml.org,2002:str":
            return node.value
        if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in node.value:
            return node.value  # YAML 1.1 base-60: 10:00 means ten o'clock here, not 600
        if tag == "tag:yaml.org,2002:int":
            number: int = _CONSTRUCTOR.construct_yaml_int(node)
            if abs(number) > MAX_INTEGER:
                self.diagnostics.append(
                    Diagnostic(
                        "E006",
                        tr("'{text}' is too large (the limit is {limit})", text=node.value, limit=f"{MAX_INTEGER:,}"),
                        self._span(node),
                        hint=tr("write a number up to {limit}", limit=f"{MAX_INTEGER:,}"),
                    )
                )
                return None
            return number
        if tag == "tag:yaml.org,2002:float":
            return _CONSTRUCTOR.construct_yaml_float(node)
        if tag == "tag:yaml.org,2002:bool":
            return _CONSTRUCTOR.construct_yaml_bool(node)
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:timestamp":
            try:
                value = _CONSTRUCTOR.construct_yaml_timestamp(node)
            except (ValueError, OverflowError):
                return node.value  # shaped like a date but not one (2025-02-30): the text, for a positioned E006
            return value.isoformat() if isinstance(value, (datetime.date, datetime.datetime)) else node.value
        return node.value


def iter_paths(data: Any, path: Path_ = ()) -> Iterator[Path_]:
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from iter_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from iter_paths(value, (*path, index))
