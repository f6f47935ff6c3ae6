"""Names that must resolve: segments, templates, channels, events, anchors, KPIs and template parameters.

A misspelt name with exactly one close spelling carries a fix that replaces just that name (the finding's span
covers the whole construct, so the name is found inside it in the source; where it is not there exactly once, as
after a preset's expansion, there is no fix).
"""

from __future__ import annotations

import difflib
import re

from ecrm_dsl.checks.types import type_words
from ecrm_dsl.language import ast, catalog
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError, Fix
from ecrm_dsl.language.i18n import lookup, n_, tr
from ecrm_dsl.language.targets import target_problem
from ecrm_dsl.language.values import ANCHORS, KPIS
from ecrm_dsl.language.visit import StructureVisitor, entry_event
from ecrm_dsl.project.workspace import Workspace
from ecrm_dsl.syntax.source import read_source


def _closest(name: str, options: list[str]) -> str | None:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return close[0] if close else None


def _did_you_mean(name: str, options: list[str], otherwise: str) -> str:
    close = _closest(name, options)
    return tr("did you mean {name}?", name=close) if close else otherwise


class _Sources:
    """The lines of the files findings point into, read once per check (a fix must match the text exactly)."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self.lines: dict[str, list[str] | None] = {}

    def of(self, file: str) -> list[str] | None:
        if file not in self.lines:
            try:
                text = read_source(self.ws.config.root / file, file).text
                self.lines[file] = text.split("\n")
            except DiagnosticError:
                self.lines[file] = None
        return self.lines[file]

    def name_span(self, span: ast.Span, name: str) -> ast.Span | None:
        """Where ``name`` is written inside ``span``, when it is written there exactly once."""
        lines = self.of(span.file) if span.line > 0 else None
        if not lines or not name:
            return None
        pattern = re.compile(r"(?<![\w.])" + re.escape(name) + r"(?![\w.])")
        last = span.end_line if span.end_line >= span.line else span.line
        found: list[tuple[int, int]] = []
        for number in range(span.line, min(last, len(lines)) + 1):
            text = lines[number - 1]
            begin = span.column - 1 if number == span.line else 0
            end = span.end_column - 1 if number == span.end_line and span.end_line else len(text)
            found.extend((number, m.start() + 1) for m in pattern.finditer(text, begin, max(end, begin)))
        if len(found) != 1:
            return None
        line, column = found[0]
        return ast.Span(span.file, line, column, line, column + len(name))

    def fix(self, span: ast.Span, name: str, options: list[str]) -> Fix | None:
        """Replace a misspelt ``name`` by its one close spelling among ``options``."""
        close = _closest(name, options)
        where = self.name_span(span, name) if close else None
        if close is None or where is None:
            return None
        return Fix(tr("replace '{name}' with '{close}'", name=name, close=close), where, close)


def check_references(ws: Workspace, scenario: ast.Scenario) -> list[Diagnostic]:
    checker = _References(ws, scenario)
    checker.visit(scenario)
    return checker.findings


class _References(StructureVisitor):
    """Resolves every name a scenario's structure uses; conditions are checked with their scope elsewhere."""

    def __init__(self, ws: Workspace, scenario: ast.Scenario):
        self.ws, self.scenario = ws, scenario
        self.findings: list[Diagnostic] = []
        self.sources = _Sources(ws)

    def segment(self, name: str, span: ast.Span) -> None:
        if name not in self.ws.segments:
            config = self.ws.config
            self.findings.append(
                Diagnostic(
                    "E201",
                    tr("unknown segment '{name}'", name=name),
                    span,
                    hint=_did_you_mean(
                        name,
                        sorted(self.ws.segments),
                        tr("add {folder}/{name}.yaml", folder=config.display(config.segments), name=name),
                    ),
                    fix=self.sources.fix(span, name, sorted(self.ws.segments)),
                )
            )

    def event(self, name: str, span: ast.Span, same: str | None = None) -> None:
        if name and name not in self.ws.schema.events:
            self.findings.append(
                Diagnostic(
                    "E205",
                    tr("unknown event '{name}'", name=name),
                    span,
                    hint=_did_you_mean(
                        name, sorted(self.ws.schema.events), tr("declare it in the customer schema's events")
                    ),
                    fix=self.sources.fix(span, name, sorted(self.ws.schema.events)),
                )
            )
        if same:
            _same_property(self.ws, self.scenario, name, same, span, self.findings, self.sources)

    def visit_EventTrigger(self, trigger: ast.EventTrigger) -> None:
        self.event(trigger.event, trigger.span)

    def visit_SegmentTrigger(self, trigger: ast.SegmentTrigger) -> None:
        self.segment(trigger.segment, trigger.span)

    def visit_ScheduleTrigger(self, trigger: ast.ScheduleTrigger) -> None:
        self.segment(trigger.audience, trigger.span)

    def visit_DateTrigger(self, trigger: ast.DateTrigger) -> None:
        _date_attribute(self.ws, trigger, self.findings, self.sources)

    def visit_Goal(self, goal: ast.Goal) -> None:
        self.event(goal.event, goal.span, goal.match.split(":", 1)[1] if goal.match.startswith("same:") else None)

    def visit_ExitRule(self, rule: ast.ExitRule) -> None:
        if rule.event is not None:
            self.event(rule.event, rule.span, rule.same)

    def visit_Hypothesis(self, hypothesis: ast.Hypothesis) -> None:
        if hypothesis.kpi not in KPIS:
            self.findings.append(
                Diagnostic(
                    "E208",
                    tr("unknown KPI '{kpi}'", kpi=hypothesis.kpi),
                    hypothesis.span,
                    hint=_did_you_mean(hypothesis.kpi, list(KPIS), tr("KPIs: {names}", names=", ".join(KPIS))),
                    fix=self.sources.fix(hypothesis.span, hypothesis.kpi, list(KPIS)),
                )
            )
        elif hypothesis.target is not None:
            problem = target_problem(hypothesis.kpi, hypothesis.target.amount, hypothesis.target.within)
            if problem is not None:
                self.findings.append(Diagnostic("E212", problem[0], hypothesis.target.span, hint=problem[1]))

    def visit_Timing(self, timing: ast.Timing) -> None:
        _anchor(self.scenario, timing, self.findings, self.sources)

    def visit_Wait(self, wait: ast.Wait) -> None:
        if wait.event is not None:
            self.event(wait.event, wait.span, wait.same)
        self.generic_visit(wait)

    def visit_Send(self, send: ast.Send) -> None:
        _send(self.ws, send, self.findings, self.sources)

    def visit_Update(self, update: ast.Update) -> None:
        _update(self.ws, update, self.findings, self.sources)


def _date_attribute(ws: Workspace, trigger: ast.DateTrigger, findings: list[Diagnostic], sources: _Sources) -> None:
    name = trigger.attribute.removeprefix("customer.")
    attribute = ws.schema.attributes.get(name)
    if not trigger.attribute.startswith("customer.") or attribute is None:
        dates = [f"customer.{a.name}" for a in ws.schema.attributes.values() if a.type in ("date", "datetime")]
        findings.append(
            Diagnostic(
                "E204",
                tr("unknown date attribute '{name}'", name=trigger.attribute),
                trigger.span,
                hint=_did_you_mean(trigger.attribute, dates, tr("date attributes: {names}", names=", ".join(dates))),
                fix=sources.fix(trigger.span, trigger.attribute, dates),
            )
        )
    elif attribute.type not in ("date", "datetime"):
        findings.append(
            Diagnostic(
                "E301",
                tr("{name} is {type}, not a date", name=trigger.attribute, type=attribute.type),
                trigger.span,
                hint=tr("a date trigger needs a date attribute such as customer.birthday"),
            )
        )


def _same_property(
    ws: Workspace,
    scenario: ast.Scenario,
    event: str,
    prop: str,
    span: ast.Span,
    findings: list[Diagnostic],
    sources: _Sources,
) -> None:
    """``same <prop>`` keys an event to the entry event: both must carry the property."""
    entry = entry_event(scenario)
    if entry is None:
        findings.append(
            Diagnostic(
                "E207",
                tr(
                    "'same {property}' keys {event} to the entry event, but this scenario has no entry event",
                    property=prop,
                    event=event,
                ),
                span,
                hint=tr("use it with an event trigger"),
            )
        )
        return
    for name, role in ((entry, "entry"), (event, "matched")):
        properties = ws.schema.events.get(name)
        if properties is not None and prop not in properties:
            if role == "entry":
                message = tr("the entry event {name} has no property '{property}'", name=name, property=prop)
            else:
                message = tr("the matched event {name} has no property '{property}'", name=name, property=prop)
            findings.append(
                Diagnostic(
                    "E204",
                    message,
                    span,
                    hint=_did_you_mean(
                        prop, sorted(properties), tr("declare it under events.{name}.properties", name=name)
                    ),
                    fix=sources.fix(span, prop, sorted(properties)),
                )
            )


def _anchor(scenario: ast.Scenario, timing: ast.Timing, findings: list[Diagnostic], sources: _Sources) -> None:
    anchor = timing.anchor
    if anchor not in ANCHORS:
        findings.append(
            Diagnostic(
                "E207",
                tr("unknown timing anchor '{anchor}'", anchor=anchor),
                timing.span,
                hint=_did_you_mean(anchor, list(ANCHORS), tr("anchors: {names}", names=", ".join(ANCHORS))),
                fix=sources.fix(timing.span, anchor, list(ANCHORS)),
            )
        )
        return
    allowed = catalog.ANCHOR_EVENTS.get(anchor)
    entry = entry_event(scenario)
    if allowed is not None and entry not in allowed:
        meaning = lookup(ANCHORS[anchor])
        if entry is not None:
            message = tr(
                "'{anchor}' ({meaning}) needs an entry event that carries it; this scenario enters on {entry}",
                anchor=anchor,
                meaning=meaning,
                entry=entry,
            )
        else:
            message = tr(
                "'{anchor}' ({meaning}) needs an entry event that carries it; this scenario enters on {trigger}",
                anchor=anchor,
                meaning=meaning,
                trigger=_trigger_kind(scenario.trigger),
            )
        findings.append(
            Diagnostic(
                "E207",
                message,
                timing.span,
                hint=tr("entry events with this date: {names}", names=", ".join(allowed)),
            )
        )


def _send(ws: Workspace, send: ast.Send, findings: list[Diagnostic], sources: _Sources) -> None:
    for channel in (send.channel, *send.fallback):
        if channel not in catalog.CHANNELS:
            findings.append(
                Diagnostic(
                    "E203",
                    tr("unknown channel '{channel}'", channel=channel),
                    send.span,
                    hint=_did_you_mean(
                        channel, list(catalog.CHANNELS), tr("channels: {names}", names=", ".join(catalog.CHANNELS))
                    ),
                    fix=sources.fix(send.span, channel, list(catalog.CHANNELS)),
                )
            )
    template = ws.templates.get(send.template)
    if template is None:
        findings.append(
            Diagnostic(
                "E202",
                tr("unknown template '{name}'", name=send.template),
                send.span,
                hint=_did_you_mean(
                    send.template,
                    sorted(ws.templates),
                    tr("add {folder}/{name}.yaml", folder=ws.config.display(ws.config.templates), name=send.template),
                ),
                fix=sources.fix(send.span, send.template, sorted(ws.templates)),
            )
        )
        return
    for channel in (send.channel, *send.fallback):
        if channel in catalog.CHANNELS and channel not in template.channels:
            findings.append(
                Diagnostic(
                    "E209",
                    tr("template '{name}' has no {channel} content", name=template.name, channel=channel),
                    send.span,
                    hint=tr(
                        "add channels.{channel} to the template, or send on one of: {channels}",
                        channel=channel,
                        channels=", ".join(template.channels),
                    ),
                )
            )
    given = {p.name: p for p in send.params}
    for name, param in given.items():
        declared = template.params.get(name)
        if declared is None:
            findings.append(
                Diagnostic(
                    "E210",
                    tr("template '{template}' has no parameter '{name}'", template=template.name, name=name),
                    param.span,
                    hint=_did_you_mean(name, sorted(template.params), tr("declare it under params in the template")),
                    fix=sources.fix(param.span, name, sorted(template.params)),
                )
            )
        elif not _literal_fits(param.value, declared.type):
            findings.append(
                Diagnostic(
                    "E301",
                    tr(
                        "parameter '{name}' takes {declared}, but the value is {given}",
                        name=name,
                        declared=type_words(declared.type),
                        given=type_words(param.value.type),
                    ),
                    param.value.span or param.span,
                )
            )
    for name, declared in template.params.items():
        if name not in given and not declared.has_default:
            findings.append(
                Diagnostic(
                    "E210",
                    tr("template '{template}' needs parameter '{name}'", template=template.name, name=name),
                    send.span,
                    hint=tr("pass it: with {{ {name} = … }} (YAML: params: {{{name}: …}})", name=name),
                )
            )


def _literal_fits(literal: ast.Literal, declared: str) -> bool:
    if literal.type == declared:
        return True
    return (literal.type, declared) in {("int", "decimal"), ("date", "datetime")}


_TRIGGER_KINDS = {
    ast.EventTrigger: n_("an event trigger"),
    ast.SegmentTrigger: n_("a segment trigger"),
    ast.DateTrigger: n_("a date trigger"),
    ast.ScheduleTrigger: n_("a schedule trigger"),
}


def _trigger_kind(trigger: ast.Trigger) -> str:
    return lookup(_TRIGGER_KINDS[type(trigger)])


# Only the customer may change these: consent must be given, never set by a scenario (特定電子メール法).
_CUSTOMER_OWNED = {
    "id",
    "email",
    "phone",
    "line_user_id",
    "push_token",
    "postal_address",
    "email_opt_in",
    "line_opt_in",
    "sms_opt_in",
    "push_opt_in",
    "dm_opt_in",
    "unsubscribed",
    "tags",
}


def _update(ws: Workspace, update: ast.Update, findings: list[Diagnostic], sources: _Sources) -> None:
    for assignment in update.assignments:
        scope, _, name = assignment.attribute.partition(".")
        attribute = ws.schema.attributes.get(name) if scope == "customer" else None
        if attribute is None:
            settable = sorted(
                f"customer.{a.name}"
                for a in ws.schema.attributes.values()
                if not a.derived and a.name not in _CUSTOMER_OWNED
            )
            findings.append(
                Diagnostic(
                    "E204",
                    tr("update sets unknown attribute '{name}'", name=assignment.attribute),
                    assignment.span,
                    hint=_did_you_mean(assignment.attribute, settable, tr("updates set customer.<attribute>")),
                    fix=sources.fix(assignment.span, assignment.attribute, settable),
                )
            )
            continue
        if attribute.derived or name in _CUSTOMER_OWNED:
            if attribute.derived:
                message = tr("update cannot set customer.{name}: it is computed from orders and events", name=name)
            elif name == "tags":
                message = tr("update cannot set customer.{name}: tags have their own 'tag'/'untag'", name=name)
            else:
                message = tr(
                    "update cannot set customer.{name}: only the customer can change consent and contact points",
                    name=name,
                )
            findings.append(Diagnostic("E211", message, assignment.span))
            continue
        value = assignment.value
        if value.type != "null" and not _literal_fits(value, attribute.type):
            findings.append(
                Diagnostic(
                    "E301",
                    tr(
                        "customer.{name} takes {declared}, but the value is {given}",
                        name=name,
                        declared=type_words(attribute.type),
                        given=type_words(value.type),
                    ),
                    value.span or assignment.span,
                )
            )
        elif attribute.values and value.type == "string" and value.value not in attribute.values:
            findings.append(
                Diagnostic(
                    "E301",
                    tr(
                        "customer.{name} is one of {values}, not '{value}'",
                        name=name,
                        values=", ".join(attribute.values),
                        value=value.value,
                    ),
                    value.span or assignment.span,
                    hint=_did_you_mean(
                        str(value.value), list(attribute.values), tr("add it to the attribute's values")
                    ),
                    fix=sources.fix(value.span or assignment.span, str(value.value), list(attribute.values)),
                )
            )
