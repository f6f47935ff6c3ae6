"""Hover: what the name under the cursor is, in Markdown; for a step's timing, a worked example; for a rule code in
a suppression comment, the rule (in the language the findings speak) and its page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lsprotocol import types

from ecrm_dsl.docs.links import rule_page_uri
from ecrm_dsl.docs.wording import severity_line
from ecrm_dsl.language import ast, catalog
from ecrm_dsl.language.business_calendar import BusinessCalendar
from ecrm_dsl.language.diagnostics import RULES, Rule
from ecrm_dsl.language.i18n import language, lookup, tr
from ecrm_dsl.language.placeholders import PLACEHOLDER, PRODUCT_FIELDS
from ecrm_dsl.language.timing import due_at
from ecrm_dsl.language.values import ANCHORS
from ecrm_dsl.lsp import yaml_keys
from ecrm_dsl.lsp.names import described, signature, word_at
from ecrm_dsl.lsp.positions import offset_at, text_lines
from ecrm_dsl.lsp.snapshot import Snapshot
from ecrm_dsl.plan import lower, text
from ecrm_dsl.project.resources import Policies, Segment, Template
from ecrm_dsl.project.workspace import Workspace
from ecrm_dsl.syntax.text_printer import timing_text

_KEY = re.compile(r"^(\s*)((?:-\s+)*)([\w$]+)\s*:")
# An example entry for timings, and what the entry order's dates are assumed to be.
EXAMPLE_ENTRY = dt.datetime(2026, 12, 1, 14, 0)
_ANCHOR_EXAMPLES = {
    "order_placed": dt.timedelta(0),
    "payment": dt.timedelta(hours=1),
    "shipment": dt.timedelta(days=2),
    "delivery_date": dt.timedelta(days=4),
    "next_shipment": dt.timedelta(days=30),
}
_DATE_ANCHORS = ("delivery_date", "next_shipment")
# Sample values a template preview fills in: a customer, the shop, and what is drawn at the send.
_SAMPLES = {
    "customer.name": "山田 花子",
    "customer.first_name": "花子",
    "shop.name": "サンプルショップ",
    "shop.url": "https://shop.example.jp",
    "shop.support_email": "support@shop.example.jp",
    "unsubscribe_url": "https://shop.example.jp/unsubscribe/…",
    "coupon.code": "⟨クーポンコード: プールから1つ⟩",
    "coupon.expires_on": "⟨有効期限⟩",
}


def hover(source: str, path: Path, pos: types.Position, encoding: str, snapshot: Snapshot) -> types.Hover | None:
    ws = snapshot.workspace
    if ws is None:
        return None
    lines = text_lines(source)
    line_no, column = offset_at(lines, pos, encoding)
    line = lines[line_no - 1] if line_no <= len(lines) else ""
    _, end, word = word_at(line, column - 1)
    file = snapshot.config.display(path)
    markdown: str | None
    if word in RULES and "ecrm:" in line[: column - 1]:  # a code in a suppression comment
        markdown = rule_text(RULES[word])
    elif word in ws.templates:  # a send's own params fill the preview
        markdown = template_text(ws.templates[word], _params_here(ws, file, line_no, column, word))
    else:
        markdown = _about(ws, word, line[end:].lstrip().startswith("(")) if word else None
    if markdown is None:
        markdown = _timing_here(ws, file, line_no, column)
    if markdown is None and path.suffix in (".yaml", ".yml"):
        markdown = _yaml_key(lines, line_no, column)
    if markdown is None:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown))


def rule_text(rule: Rule) -> str:
    """A rule: its code and name, severity and summary, and a link to its page, in the current language."""
    page = tr("[The rule's page]({uri}) · `ecrm rule {code}`", uri=rule_page_uri(rule.code, language()), code=rule.code)
    return f"**{rule.code} {rule.name}**\n\n{severity_line(rule)}\n\n{page}"


def _about(ws: Workspace, word: str, called: bool) -> str | None:
    if called and word in catalog.FUNCTIONS:
        function = catalog.FUNCTIONS[word]
        return f"```\n{signature(function)}\n```\n{lookup(function.description)}"
    if word in ws.segments:
        return segment_text(ws.segments[word])
    if word in ws.presets:
        preset = ws.presets[word]
        parameters = ", ".join(f"`{p}`" for p in preset.parameters)
        heading = tr("**preset {name}** — {title}", name=preset.name, title=preset.title)
        listed = tr("parameters: {names}", names=parameters)
        return f"{heading}\n\n{preset.description or ''}\n\n{listed}"
    scope, _, name = word.partition(".")
    if scope == "customer" and name in ws.schema.attributes:
        attribute = ws.schema.attributes[name]
        if attribute.derived:
            heading = tr(
                "**customer.{name}**: `{type}` (computed from orders and events)", name=name, type=attribute.type
            )
        else:
            heading = f"**customer.{name}**: `{attribute.type}`"
        values = "\n\n" + tr("values: {values}", values=", ".join(attribute.values)) if attribute.values else ""
        return f"{heading}\n\n{described(attribute)}{values}"
    if scope == "event" and name:
        carried = sorted(f"`{event}`: {props[name]}" for event, props in ws.schema.events.items() if name in props)
        if carried:
            return (
                tr("**event.{name}**, a property of the event being matched", name=name)
                + "\n\n"
                + "\n".join(f"- {line}" for line in carried)
            )
    if word in catalog.ENROLLMENT_METRICS:
        metric = catalog.ENROLLMENT_METRICS[word]
        return f"**{word}**: `{metric.type}`\n\n{described(metric)}"
    if word in ws.schema.events:
        properties = "\n".join(f"- `{p}`: {t}" for p, t in sorted(ws.schema.events[word].items()))
        return tr("**event {name}**", name=word) + f"\n\n{properties}"
    if word in catalog.CHANNELS:
        return tr("**channel {name}**: {description}", name=word, description=lookup(catalog.CHANNELS[word]))
    if word in ANCHORS:
        return tr("**anchor {name}**: {description}", name=word, description=lookup(ANCHORS[word]))
    return None


def _yaml_key(lines: list[str], line_no: int, column: int) -> str | None:
    """A YAML key's description from the file kind's JSON Schema."""
    match = _KEY.match(lines[line_no - 1])
    if match is None or not match.start(3) <= column - 1 <= match.end(3):
        return None
    kind = yaml_keys.kind_of(lines)
    path = yaml_keys.path_at(lines, line_no, match.start(3), bool(match.group(2)))
    described = dict(yaml_keys.keys_at(kind, path)).get(match.group(3))
    return f"**{match.group(3)}**: {described}" if described else None


def segment_text(segment: Segment) -> str:
    condition = text.condition(lower.cond(segment.condition))
    description = f"\n\n{segment.description.strip()}" if segment.description else ""
    heading = tr("**segment {name}** — {title}", name=segment.name, title=segment.title)
    return f"{heading}{description}\n\n```\n{condition}\n```"


def template_text(template: Template, given: Mapping[str, str] | None = None) -> str:
    """The template as a customer would read it, with sample values; a param is the value ``given`` (by the send
    under the cursor), else its default, else its name."""
    heading = tr(
        "**template {name}** — {title} ({category})",
        name=template.name,
        title=template.title,
        category=template.category,
    )
    parts = [heading]
    if template.params:
        listed = ", ".join(f"`{p.name}`: {p.type}" for p in template.params.values())
        parts.append(tr("params: {params}", params=listed))
    for channel, content in template.channels.items():
        parts.append(f"**{channel}**\n\n" + "\n\n".join(_rendered(template, content, given or {})))
    return "\n\n".join(parts)


def _rendered(template: Template, content: Any, given: Mapping[str, str]) -> list[str]:
    found = []
    if isinstance(content, str):
        filled = PLACEHOLDER.sub(lambda m: _sample(template, m.group(1), given), content)
        found.append("> " + filled.strip().replace("\n", "  \n> "))
    elif isinstance(content, dict):
        for value in content.values():
            found.extend(_rendered(template, value, given))
    elif isinstance(content, list):
        for value in content:
            found.extend(_rendered(template, value, given))
    return found


def _sample(template: Template, name: str, given: Mapping[str, str]) -> str:
    if name in _SAMPLES:
        return _SAMPLES[name]
    if name in given:
        return given[name]
    if name in template.params:
        default = template.params[name].default
        return str(default) if default is not None else f"⟨{name}⟩"
    scope, _, field = name.partition(".")
    if scope in PRODUCT_FIELDS:
        return f"⟨{scope}.{field}: 送信時に商品から⟩"
    return f"⟨{name}⟩"


def _params_here(ws: Workspace, file: str, line: int, column: int, template: str) -> dict[str, str]:
    """The params of the send of ``template`` under the cursor, as text (none when the cursor is elsewhere)."""
    for scenario in ws.scenarios:
        if scenario.span.file != file:
            continue
        for step, _ in _with_timings_before(scenario.steps, []):
            send = step.action
            if isinstance(send, ast.Send) and send.template == template and _contains(send.span, line, column, False):
                return {p.name: _param_text(lower.literal(p.value)) for p in send.params}
    return {}


def _param_text(raw: Any) -> str:
    return raw if isinstance(raw, str) else text.param(raw)


# --------------------------------------------------------------------------- timing example


def _contains(span: ast.Span, line: int, column: int, whole_line: bool) -> bool:
    """Whether the cursor is on the timing; in YAML anywhere on its first line (the ``delay:`` key too)."""
    if whole_line and line == span.line:
        return True
    end = (span.end_line, span.end_column) if span.end_line else (span.line, 10**9)
    return (span.line, span.column) <= (line, column) <= end


def _timing_here(ws: Workspace, file: str, line: int, column: int) -> str | None:
    for scenario in ws.scenarios:
        if scenario.span.file != file:
            continue
        for step, before in _with_timings_before(scenario.steps, []):
            if step.delay is not None and _contains(step.delay.span, line, column, not file.endswith(".ecrm")):
                return timing_example(step.delay, ws.policies, before)
    return None


def _with_timings_before(
    steps: tuple[ast.Step, ...], before: list[ast.Timing | None]
) -> list[tuple[ast.Step, list[ast.Timing | None]]]:
    """Every step, nested ones too, with the timings of the steps a customer passes before it (on its path)."""
    found = []
    passed = list(before)
    for step in steps:
        found.append((step, passed))
        inner = [*passed, step.delay]
        action = step.action
        arms: list[tuple[ast.Step, ...]] = []
        if isinstance(action, ast.Branch):
            arms = [arm.steps for arm in action.arms]
        elif isinstance(action, ast.Split):
            arms = [variant.steps for variant in action.variants]
        elif isinstance(action, ast.Wait):
            arms = [action.on_event, action.on_timeout]
        for arm in arms:
            found.extend(_with_timings_before(arm, inner))
        passed = inner
    return found


class _Example:
    """The example customer: entered at :data:`EXAMPLE_ENTRY` in the shop's timezone, with its calendar."""

    def __init__(self, policies: Policies):
        self.policies = policies
        self.zone = ZoneInfo(policies.timezone)
        self.entry = EXAMPLE_ENTRY.replace(tzinfo=self.zone)
        self.calendar = BusinessCalendar(
            national=policies.holidays,
            weekends=policies.weekends,
            shop_holidays=frozenset(dt.date.fromisoformat(d) for d in policies.shop_holidays),
        )
        self.anchors: dict[str, dt.datetime | dt.date | None] = {
            name: (self.entry + delta).date() if name in _DATE_ANCHORS else self.entry + delta
            for name, delta in _ANCHOR_EXAMPLES.items()
        }

    def due(self, timing: ast.Timing | None, previous: dt.datetime) -> dt.datetime | None:
        return due_at(
            lower.timing(timing),
            previous=previous,
            entry=self.entry,
            anchors=self.anchors,
            timezone=self.policies.timezone,
            calendar=self.calendar,
        )


def timing_example(timing: ast.Timing, policies: Policies, before: list[ast.Timing | None]) -> str:
    """``day 7 at 10:00 → for an entry on 2026-12-01 14:00 JST, sent 2026-12-08 10:00 JST``; ``before`` are
    the timings of the steps before it (a timing after the previous step counts from theirs)."""
    example = _Example(policies)
    previous = example.entry
    for earlier in before:
        previous = example.due(earlier, previous) or previous
    due = example.due(timing, previous)
    label = timing_text(timing)
    if due is None:
        return tr("`{timing}`: no due time for this example", timing=label)
    local = due.astimezone(example.zone)
    zone_name = local.tzname() or policies.timezone
    entry = example.entry
    entered, sent = f"{entry:%Y-%m-%d %H:%M}", f"{local:%Y-%m-%d %H:%M}"
    lines = [
        tr(
            "`{timing}` → for an entry on {entry} {zone}, sent {sent} {zone}",
            timing=label,
            entry=entered,
            sent=sent,
            zone=zone_name,
        )
    ]
    if timing.anchor in _ANCHOR_EXAMPLES:
        moment = example.anchors[timing.anchor]
        shown = f"{moment:%Y-%m-%d %H:%M}" if isinstance(moment, dt.datetime) else f"{moment:%Y-%m-%d}"
        lines.append(tr("(assuming {anchor} is {moment})", anchor=timing.anchor, moment=shown))
    elif timing.anchor == "previous" and before:
        due_previous = f"{previous.astimezone(example.zone):%Y-%m-%d %H:%M}"
        lines.append(tr("(the previous step is due {due})", due=due_previous))
    if timing.business_days is not None or timing.business_day:
        start = entry.date()
        skipped = [
            f"{day:%m-%d} {why}"
            for day in (start + dt.timedelta(days=n) for n in range(min((local.date() - start).days, 400) + 1))
            if (why := example.calendar.holiday_name(day)) is not None
        ]
        if skipped:
            lines.append(tr("not business days: {days}", days=", ".join(skipped)))
    return "  \n".join(lines)
