"""The reusable parts of a project: customer schema, segments, message templates and policies.

Each is a YAML file checked against its JSON Schema and built into a typed, immutable definition here.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ecrm_dsl.language import ast, catalog
from ecrm_dsl.language.customer_schema import CustomerSchema
from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.language.placeholders import PLACEHOLDER
from ecrm_dsl.language.values import Duration, TimeOfDay, ValueError_, parse_date
from ecrm_dsl.syntax.yaml_frontend import condition_at
from ecrm_dsl.syntax.yaml_source import Path_, YamlDocument, iter_paths

T = TypeVar("T")

# --------------------------------------------------------------------------- customer schema


def build_customer_schema(doc: YamlDocument, findings: list[Diagnostic]) -> CustomerSchema:
    base = CustomerSchema.builtin()
    attributes = dict(base.attributes)
    custom = set()
    for name, spec in (doc.data.get("attributes") or {}).items():
        values = tuple(spec.get("values", ()))
        existing = attributes.get(name)
        if existing is not None:
            if existing.type != spec["type"] or existing.derived:
                findings.append(
                    Diagnostic(
                        "E301",
                        tr(
                            "attribute '{name}' is built in as {built_in}; it cannot be redeclared as {declared}",
                            name=name,
                            built_in=existing.type,
                            declared=spec["type"],
                        ),
                        doc.key_span(("attributes", name)),
                        hint=tr("remove it, or only add 'values' to a built-in string"),
                    )
                )
                continue
            attributes[name] = catalog.Attribute(name, existing.type, existing.description, False, values)
            continue
        custom.add(name)
        attributes[name] = catalog.Attribute(name, spec["type"], spec.get("description", ""), False, values)
    events = dict(base.events)
    for name, spec in (doc.data.get("events") or {}).items():
        properties = dict(events.get(name, {}))
        for prop, prop_type in ((spec or {}).get("properties") or {}).items():
            if prop in properties and properties[prop] != prop_type:
                findings.append(
                    Diagnostic(
                        "E301",
                        tr(
                            "event property {event}.{property} is built in as {built_in}, not {declared}",
                            event=name,
                            property=prop,
                            built_in=properties[prop],
                            declared=prop_type,
                        ),
                        doc.key_span(("events", name, "properties", prop)),
                    )
                )
                continue
            properties[prop] = prop_type
        events[name] = properties
    return CustomerSchema(attributes, events, frozenset(custom), doc.span(()))


# --------------------------------------------------------------------------- segments


@dataclass(frozen=True)
class Segment:
    name: str
    title: str
    description: str | None
    condition: ast.Expr
    span: ast.Span


def build_segment(doc: YamlDocument, findings: list[Diagnostic]) -> Segment:
    data = doc.data
    return Segment(
        data["segment"],
        data.get("title", data["segment"]),
        data.get("description"),
        condition_at(doc, ("where",), findings),
        doc.span(()),
    )


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Placeholder:
    name: str
    channel: str
    span: ast.Span


@dataclass(frozen=True)
class TemplateParam:
    name: str
    type: str
    has_default: bool
    span: ast.Span
    default: Any = None


@dataclass(frozen=True)
class CouponPool:
    """``coupon: {pool: spring_10off, valid_for: 7d}``: each send draws an unused code from the pool, one that is
    still valid ``valid_for`` after the send."""

    pool: str
    valid_for: Duration
    span: ast.Span


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    category: str  # marketing | transactional
    params: dict[str, TemplateParam]
    channels: dict[str, dict[str, Any]]
    placeholders: tuple[Placeholder, ...]
    span: ast.Span
    coupon: CouponPool | None = None
    # Where each value of ``channels`` sits in the file, by its path there (("line", "buttons", "text"), …).
    content_spans: dict[tuple[str | int, ...], ast.Span] = field(default_factory=dict)

    @property
    def marketing(self) -> bool:
        return self.category == "marketing"

    def uses(self, name: str, channel: str) -> bool:
        return any(p.name == name and p.channel == channel for p in self.placeholders)


def build_template(doc: YamlDocument) -> Template:
    data = doc.data
    params = {
        name: TemplateParam(name, spec["type"], "default" in spec, doc.key_span(("params", name)), spec.get("default"))
        for name, spec in (data.get("params") or {}).items()
    }
    placeholders = []
    for channel, content in data["channels"].items():
        for path, value in _strings(content, ("channels", channel)):
            for match in PLACEHOLDER.finditer(value):
                placeholders.append(Placeholder(match.group(1), channel, doc.position_in_string(path, match.start())))
    coupon = data.get("coupon")
    # The schema keeps valid_for to at most 999 days or 99 weeks, well within what a duration may be.
    pool = (
        CouponPool(coupon["pool"], Duration.parse(coupon.get("valid_for", "0d")), doc.span(("coupon",)))
        if coupon
        else None
    )
    return Template(
        data["template"],
        data.get("title", data["template"]),
        data["category"],
        params,
        data["channels"],
        tuple(placeholders),
        doc.span(()),
        pool,
        {path[1:]: doc.span(path) for path in iter_paths(data["channels"], ("channels",))},
    )


def _strings(value: Any, path: Path_) -> list[tuple[Path_, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [item for key, sub in value.items() for item in _strings(sub, (*path, key))]
    if isinstance(value, list):  # LINE buttons
        return [item for index, sub in enumerate(value) for item in _strings(sub, (*path, index))]
    return []


# --------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class FrequencyCap:
    channel: str  # a channel, or "all"
    max: int
    per: Duration
    on_exceed: str  # defer | skip
    calendar: bool = False  # written in whole days or weeks: counted by the shop's calendar days, not rolling


@dataclass(frozen=True)
class ConsentRule:
    channel: str
    attribute: str | None  # e.g. "email_opt_in"; None when implied
    span: ast.Span


@dataclass(frozen=True)
class Policies:
    timezone: str = "Asia/Tokyo"
    quiet_hours: tuple[TimeOfDay, TimeOfDay] | None = None
    holidays: str = "japan"
    weekends: tuple[str, ...] = ("saturday", "sunday")
    shop_holidays: tuple[str, ...] = ()
    frequency_caps: tuple[FrequencyCap, ...] = ()
    consent: dict[str, ConsentRule] = field(default_factory=dict)
    priority: tuple[str, ...] = ()
    nurture_only: tuple[str, ...] = ()
    span: ast.Span = ast.NO_SPAN
    priority_spans: tuple[ast.Span, ...] = ()
    nurture_only_spans: tuple[ast.Span, ...] = ()


def _value(parse: Callable[[str], T], raw: Any, doc: YamlDocument, path: Path_, findings: list[Diagnostic]) -> T | None:
    """``parse(raw)``, or None with a positioned E006 (the schema's pattern and the parser could disagree)."""
    try:
        return parse(str(raw))
    except ValueError_ as exc:
        findings.append(Diagnostic("E006", str(exc), doc.span(path), hint=exc.hint))
        return None


def _quiet_hours(doc: YamlDocument, findings: list[Diagnostic]) -> tuple[TimeOfDay, TimeOfDay] | None:
    quiet = doc.data.get("quiet_hours")
    if not quiet:
        return None
    start = _value(TimeOfDay.parse, quiet["start"], doc, ("quiet_hours", "start"), findings)
    end = _value(TimeOfDay.parse, quiet["end"], doc, ("quiet_hours", "end"), findings)
    return (start, end) if start is not None and end is not None else None


def _in_days(per: str) -> bool:
    """``1d``, ``2d``, ``1w``: a cap per calendar days (as planners and Braze mean "1 a day"); ``24h`` stays a
    rolling window."""
    return re.fullmatch(r"\+?(?:\d+[dw])+", per.strip()) is not None


def build_policies(doc: YamlDocument, schema: CustomerSchema, findings: list[Diagnostic]) -> Policies:
    data = doc.data
    try:
        zoneinfo.ZoneInfo(data["timezone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        findings.append(
            Diagnostic(
                "E100",
                tr("unknown timezone '{timezone}'", timezone=data["timezone"]),
                doc.span(("timezone",)),
                hint=tr("use an IANA name such as Asia/Tokyo"),
            )
        )
    quiet = data.get("quiet_hours")
    quiet_hours = _quiet_hours(doc, findings)
    if quiet_hours and quiet_hours[0] == quiet_hours[1]:
        findings.append(
            Diagnostic(
                "E100",
                tr("quiet hours start and end at the same time ({time}): the window is empty", time=quiet["start"]),
                doc.span(("quiet_hours",)),
                hint=tr('e.g. start: "21:00", end: "09:00"; remove quiet_hours for none'),
            )
        )
    calendar = data.get("calendar") or {}
    consent = {}
    for channel, rule in (data.get("consent") or {}).items():
        attribute = rule.get("attribute")
        span = doc.span(("consent", channel))
        if attribute is not None:
            attribute = attribute.removeprefix("customer.")
            known = schema.attributes.get(attribute)
            if known is None or known.type != "bool":
                findings.append(
                    Diagnostic(
                        "E204",
                        tr(
                            "consent for {channel} names '{attribute}', which is not a true/false customer attribute",
                            channel=channel,
                            attribute=attribute,
                        ),
                        doc.span(("consent", channel, "attribute")),
                        hint=tr("e.g. customer.{channel}_opt_in", channel=channel),
                    )
                )
        consent[channel] = ConsentRule(channel, attribute, span)
    for index, day in enumerate(calendar.get("shop_holidays", ())):
        try:
            parse_date(str(day))
        except ValueError_ as exc:
            findings.append(Diagnostic("E006", str(exc), doc.span(("calendar", "shop_holidays", index)), hint=exc.hint))
    caps = tuple(
        FrequencyCap(c["channel"], c["max"], per, c.get("on_exceed", "defer"), _in_days(str(c["per"])))
        for i, c in enumerate(data.get("frequency_caps") or [])
        if (per := _value(Duration.parse, c["per"], doc, ("frequency_caps", i, "per"), findings)) is not None
    )
    priority = tuple(data.get("priority") or [])
    return Policies(
        timezone=data["timezone"],
        quiet_hours=quiet_hours,
        holidays=calendar.get("holidays", "japan"),
        weekends=tuple(calendar.get("weekends", ("saturday", "sunday"))),
        shop_holidays=tuple(sorted(calendar.get("shop_holidays", ()))),
        frequency_caps=caps,
        consent=consent,
        priority=priority,
        nurture_only=tuple(data.get("nurture_only") or []),
        span=doc.span(()),
        priority_spans=tuple(doc.span(("priority", i)) for i in range(len(priority))),
        nurture_only_spans=tuple(doc.span(("nurture_only", i)) for i in range(len(data.get("nurture_only") or []))),
    )
