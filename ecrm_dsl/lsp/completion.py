"""Completion: keywords the text syntax accepts at the cursor (asked of the Lark parser, not listed by hand),
keys the JSON Schemas allow in YAML, and the project's names where a name goes."""

from __future__ import annotations

import re
from pathlib import Path

from lark.exceptions import LarkError
from lsprotocol import types

from ecrm_dsl.language import catalog
from ecrm_dsl.lsp import names, yaml_keys
from ecrm_dsl.lsp.names import TOKEN, Name
from ecrm_dsl.lsp.positions import offset_at, text_lines, to_units
from ecrm_dsl.project.workspace import Workspace
from ecrm_dsl.syntax.text import parser

_KINDS = {
    "attribute": types.CompletionItemKind.Field,
    "property": types.CompletionItemKind.Property,
    "event": types.CompletionItemKind.Event,
    "segment": types.CompletionItemKind.Reference,
    "template": types.CompletionItemKind.File,
    "preset": types.CompletionItemKind.Module,
    "channel": types.CompletionItemKind.EnumMember,
    "anchor": types.CompletionItemKind.EnumMember,
    "function": types.CompletionItemKind.Function,
    "keyword": types.CompletionItemKind.Keyword,
    "key": types.CompletionItemKind.Property,
    "value": types.CompletionItemKind.Value,
}
_ENTRY_EVENT = re.compile(r"^\s*(?:when|event:)\s+([\w.]+)", re.MULTILINE)
_KEYWORD_CALL = re.compile(r"\b(\w+)\(([^()]*)$")
_KEYWORD_VALUE = re.compile(r"^[a-z_]+$")
_SCENARIO_OPENING = re.compile(r"^scenario\b[^\n]*\{[ \t]*$", re.MULTILINE)


def complete(
    text: str, path: Path, pos: types.Position, encoding: str, ws: Workspace | None, snippets: bool = True
) -> types.CompletionList:
    """The candidates at ``pos``; ``snippets`` when the client takes snippet syntax (tab stops)."""
    lines = text_lines(text)
    line_no, column = offset_at(lines, pos, encoding)
    line = lines[line_no - 1][: column - 1] if line_no <= len(lines) else ""
    typed = TOKEN.search(line)
    start = typed.start() if typed else len(line)
    token = line[start:]
    before = "\n".join([*lines[: line_no - 1], line[:start]])
    event = _entry_event(text)
    if path.suffix == ".ecrm":
        candidates = _text_candidates(before, token, ws, event)
    else:
        candidates = _yaml_candidates(lines, line_no, line, start, token, ws, event)
    replace = types.Range(
        types.Position(line_no - 1, to_units(line, start, encoding)),
        types.Position(line_no - 1, to_units(line, len(line), encoding)),
    )
    return types.CompletionList(
        is_incomplete=False, items=[_item(name, replace, snippets) for name in _unique(candidates)]
    )


def _item(name: Name, replace: types.Range, snippets: bool) -> types.CompletionItem:
    label = name.text.rsplit(".", 1)[-1] if name.kind in ("attribute", "property") else name.text
    snippet = snippets and name.snippet is not None
    return types.CompletionItem(
        label=label,
        kind=_KINDS.get(name.kind, types.CompletionItemKind.Text),
        detail=name.detail or None,
        filter_text=name.text,
        text_edit=types.TextEdit(replace, name.snippet if snippet and name.snippet is not None else name.text),
        insert_text_format=types.InsertTextFormat.Snippet if snippet else types.InsertTextFormat.PlainText,
    )


def _unique(candidates: list[Name]) -> list[Name]:
    seen, kept = set(), []
    for name in candidates:
        if name.text not in seen:
            seen.add(name.text)
            kept.append(name)
    return kept


def _entry_event(text: str) -> str | None:
    match = _ENTRY_EVENT.search(text)
    return match.group(1) if match else None


def _dotted(token: str, ws: Workspace | None, event: str | None) -> list[Name] | None:
    """After ``customer.`` the attributes, after ``event.`` the entry event's properties."""
    if token.startswith("customer."):
        return names.attributes(ws)
    if token.startswith("event."):
        return names.event_properties(ws, event)
    return None


def _call_arguments(before: str, token: str, ws: Workspace | None, event: str | None) -> list[Name] | None:
    """Inside a function's parentheses: its keyword arguments not given yet (``bought(``), or the names its
    argument at the cursor takes (a channel for ``opened(``, an event for ``count(``, a segment for
    ``in_segment(``); None outside a call."""
    call = _KEYWORD_CALL.search(before.rsplit("\n", 1)[-1])
    if call is None or call.group(1) not in catalog.FUNCTIONS or "." in token:
        return None
    function = catalog.FUNCTIONS[call.group(1)]
    if function.keywords:
        given = set(re.findall(r"(\w+)\s*:", call.group(2)))
        keywords = [
            Name(f"{k}: ", "keyword", t, f"{k}: $1")
            for k, t in zip(function.keywords, function.params, strict=True)
            if k not in given
        ]
        return keywords + names.condition_names(ws, event)
    index = call.group(2).count(",")
    kind = function.params[index] if index < len(function.params) else None
    if kind == "channel":
        return names.channels()
    if kind == "event":
        return names.events(ws)
    if kind == "segment":
        return names.segments(ws)
    return names.condition_names(ws, event)


# --------------------------------------------------------------------------- text syntax


def accepted_keywords(before: str) -> tuple[list[str], bool]:
    """The keywords the parser accepts after ``before``, and whether it also accepts a name there.

    When the text so far has a mistake in an earlier line, the parser is asked about the current line alone,
    as if it came right after its scenario's opening line; nothing when that does not parse either."""
    lark = parser()
    try:
        accepted = _accepts(before)
    except LarkError:
        opening = _SCENARIO_OPENING.findall(before)
        if not opening:
            return [], True
        try:
            accepted = _accepts(opening[-1] + "\n" + before.rsplit("\n", 1)[-1])
        except LarkError:
            return [], True
    words = {t.name: t.pattern.value for t in lark.terminals if t.pattern.type == "str"}
    keywords = sorted(words[name] for name in accepted if name in words and _KEYWORD_VALUE.match(words[name]))
    return keywords, "NAME" in accepted


def _accepts(before: str) -> set[str]:
    interactive = parser().parse_interactive(before, start="file")
    interactive.exhaust_lexer()
    return set(interactive.accepts())


def _text_candidates(before: str, token: str, ws: Workspace | None, event: str | None) -> list[Name]:
    dotted = _dotted(token, ws, event)
    if dotted is not None:
        return dotted
    arguments = _call_arguments(before, token, ws, event)
    if arguments is not None:
        return arguments
    keywords, takes_name = accepted_keywords(before)
    found = [Name(k, "keyword") for k in keywords]
    if takes_name:
        found.extend(_text_names(before, ws, event))
    return found


def _text_names(before: str, ws: Workspace | None, event: str | None) -> list[Name]:
    """Which names fit after the words before the cursor."""
    words = re.findall(r"[\w.]+|[^\s\w]", before)
    last = words[-1] if words else ""
    second = words[-2] if len(words) > 1 else ""
    if last in ("send", "fallback") or (last == "," and "fallback" in words[-4:]):
        return names.channels()
    if second == "send":
        return names.templates(ws)
    if last in ("segment", "audience"):
        return names.segments(ws)
    if last in ("when", "goal", "for", "stop", "on"):
        return names.events(ws)
    if last in ("after", "before") and re.search(r"\d[wdhm]$", second):
        return names.anchors()
    if last == "hypothesis":
        return names.kpis()
    if last == "preset":
        return names.presets(ws)
    return names.condition_names(ws, event)


# --------------------------------------------------------------------------- YAML

_VALUE_NAMES = {
    "segment": names.segments,
    "audience": names.segments,
    "template": names.templates,
    "preset": names.presets,
    "use": names.presets,
}
_CONDITION_KEYS = ("where", "if", "condition")
_KEY_LINE = re.compile(r"^(\s*)((?:-\s+)*)([\w$]*)$")
_VALUE_AT = re.compile(r"(?:^|[{,\s])([\w$]+):\s+(?:\[[^\]]*)?['\"]?([^:{}]*)$")


def _yaml_candidates(
    lines: list[str], line_no: int, line: str, start: int, token: str, ws: Workspace | None, event: str | None
) -> list[Name]:
    key_line = _KEY_LINE.match(line)
    if key_line is not None:
        kind = yaml_keys.kind_of(lines)
        column = len(key_line.group(1)) + len(key_line.group(2))
        path = yaml_keys.path_at(lines, line_no, column, bool(key_line.group(2)))
        written = yaml_keys.siblings(lines, line_no, column) if not key_line.group(2) else set()
        return [
            Name(key + ": ", "key", description)
            for key, description in yaml_keys.keys_at(kind, path)
            if key not in written
        ]
    value = _VALUE_AT.search(line[:start] + token)
    if value is None:
        return []
    key = value.group(1)
    dotted = _dotted(token, ws, event)
    if dotted is not None:
        return dotted
    if key in _CONDITION_KEYS:
        return _call_arguments(line[:start], token, ws, event) or names.condition_names(ws, event)
    if key in _VALUE_NAMES:
        return _VALUE_NAMES[key](ws)
    if key in ("channel", "fallback"):
        return names.channels()
    if key in ("event", "on"):
        return names.events(ws)
    if key == "from":
        return names.anchors()
    if key == "kpi":
        return names.kpis()
    kind = yaml_keys.kind_of(lines)
    path = yaml_keys.path_at(lines, line_no, len(line) - len(line.lstrip(" -")), line.lstrip().startswith("-"))
    return [Name(v, "value") for v in yaml_keys.values_at(kind, [*path, key])]
