"""What a project names, for completion and hover: attributes, events, segments, templates, functions …"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ecrm_dsl.language import catalog
from ecrm_dsl.language.i18n import lookup
from ecrm_dsl.language.values import ANCHORS, KPIS
from ecrm_dsl.project.workspace import Workspace

TOKEN = re.compile(r"[\w.]*$")
WORD = re.compile(r"[\w.]+")


@dataclass(frozen=True)
class Name:
    """A completion candidate: the text to insert, its kind, and one line of detail."""

    text: str
    kind: str  # attribute | event | property | segment | template | channel | preset | anchor | function | keyword
    detail: str = ""
    snippet: str | None = None  # an LSP snippet to insert instead of ``text``


def word_at(line: str, index: int) -> tuple[int, int, str]:
    """The dotted word of ``line`` around code-point ``index``: its start, end and text ('' when none)."""
    for match in WORD.finditer(line):
        if match.start() <= index <= match.end():
            return match.start(), match.end(), match.group()
    return index, index, ""


def signature(function: catalog.Function) -> str:
    """``opened(channel, duration) → bool``; keyword functions show their keywords."""
    if function.keywords:
        arguments = ", ".join(f"{k}: {t}" for k, t in zip(function.keywords, function.params, strict=True))
    else:
        arguments = ", ".join(function.params)
    return f"{function.name}({arguments}) → {function.returns}"


def described(attribute: catalog.Attribute) -> str:
    """An attribute's description: a built-in one's in the current language, a project's own as written."""
    built_in = catalog.CUSTOMER_ATTRIBUTES.get(attribute.name) or catalog.ENROLLMENT_METRICS.get(attribute.name)
    if built_in is not None and built_in.description and built_in.description == attribute.description:
        return lookup(attribute.description)
    return attribute.description


def attributes(ws: Workspace | None) -> list[Name]:
    table = ws.schema.attributes if ws is not None else catalog.CUSTOMER_ATTRIBUTES
    return [Name(f"customer.{a.name}", "attribute", f"{a.type} — {described(a)}") for a in table.values()]


def events(ws: Workspace | None) -> list[Name]:
    table = ws.schema.events if ws is not None else catalog.EVENTS
    return [Name(event, "event", ", ".join(sorted(props))) for event, props in sorted(table.items())]


def event_properties(ws: Workspace | None, event: str | None) -> list[Name]:
    table = ws.schema.events if ws is not None else catalog.EVENTS
    chosen = [table[event]] if event in table else list(table.values())
    merged: dict[str, str] = {}
    for props in chosen:
        merged.update(props)
    return [Name(f"event.{p}", "property", t) for p, t in sorted(merged.items())]


def functions() -> list[Name]:
    found = []
    for function in catalog.FUNCTIONS.values():
        if function.keywords:
            snippet = f"{function.name}({function.keywords[0]}: $1)"
        else:
            snippet = f"{function.name}($1)"
        found.append(
            Name(function.name, "function", f"{signature(function)} — {lookup(function.description)}", snippet)
        )
    return found


def metrics() -> list[Name]:
    return [Name(m.name, "attribute", f"{m.type} — {described(m)}") for m in catalog.ENROLLMENT_METRICS.values()]


def condition_names(ws: Workspace | None, event: str | None) -> list[Name]:
    """Everything a condition may name."""
    return attributes(ws) + event_properties(ws, event) + metrics() + functions()


def segments(ws: Workspace | None) -> list[Name]:
    table = ws.segments if ws is not None else {}
    return [Name(name, "segment", segment.title) for name, segment in sorted(table.items())]


def templates(ws: Workspace | None) -> list[Name]:
    table = ws.templates if ws is not None else {}
    return [Name(name, "template", f"{t.title} ({', '.join(t.channels)})") for name, t in sorted(table.items())]


def presets(ws: Workspace | None) -> list[Name]:
    table = ws.presets if ws is not None else {}
    return [Name(name, "preset", preset.title) for name, preset in sorted(table.items())]


def channels() -> list[Name]:
    return [Name(name, "channel", lookup(text)) for name, text in catalog.CHANNELS.items()]


def anchors() -> list[Name]:
    return [Name(name, "anchor", lookup(text)) for name, text in ANCHORS.items()]


def kpis() -> list[Name]:
    return [Name(name, "keyword", "KPI") for name in KPIS]
