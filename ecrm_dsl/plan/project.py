"""What a plan carries from the project besides scenarios: policies, segments, templates and the customer
schema's additions to the built-in catalog — everything the runtime needs without reading source files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecrm_dsl.conditions.normal import Normal
from ecrm_dsl.plan.nodes import Json


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Shop-local times (``"21:00"``, ``"09:00"``) between which marketing waits."""

    start: str
    end: str


@dataclass(frozen=True, slots=True)
class CalendarPlan:
    """Business days: national holidays (``japan``), weekend days and the shop's own holidays (ISO dates)."""

    holidays: str
    weekends: tuple[str, ...]
    shop_holidays: tuple[str, ...]

    def to_json(self) -> Json:
        return {"holidays": self.holidays, "weekends": list(self.weekends), "shop_holidays": list(self.shop_holidays)}


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    """At most ``max`` marketing messages on ``channel`` (or ``all``) per window; then defer or skip.

    ``window`` is ``calendar`` (whole shop days: the window is today and the days before it) or ``rolling``
    (the last ``per_seconds``). Plans compiled before it existed have no ``window`` (None): rolling, as they meant.
    """

    channel: str
    max: int
    per_seconds: int
    on_exceed: str
    window: str | None = None

    @property
    def calendar_days(self) -> int | None:
        """The number of shop days in a calendar window, or None for a rolling one."""
        return self.per_seconds // 86400 if self.window == "calendar" else None

    @classmethod
    def from_json(cls, obj: Json) -> FrequencyCap:
        return cls(obj["channel"], obj["max"], obj["per_seconds"], obj["on_exceed"], obj.get("window"))

    def to_json(self) -> Json:
        out: Json = {
            "channel": self.channel,
            "max": self.max,
            "per_seconds": self.per_seconds,
            "on_exceed": self.on_exceed,
        }
        if self.window is not None:
            out["window"] = self.window
        return out


@dataclass(frozen=True, slots=True)
class ConsentRule:
    """The customer attribute that records opt-in for a channel; None when consent is implied."""

    attribute: str | None


@dataclass(frozen=True, slots=True)
class Policies:
    timezone: str
    quiet_hours: QuietHours | None
    calendar: CalendarPlan
    frequency_caps: tuple[FrequencyCap, ...]
    consent: dict[str, ConsentRule]
    priority: tuple[str, ...]
    nurture_only: tuple[str, ...]

    @classmethod
    def from_json(cls, obj: Json) -> Policies:
        quiet, calendar = obj["quiet_hours"], obj["calendar"]
        return cls(
            timezone=obj["timezone"],
            quiet_hours=QuietHours(quiet["start"], quiet["end"]) if quiet is not None else None,
            calendar=CalendarPlan(calendar["holidays"], tuple(calendar["weekends"]), tuple(calendar["shop_holidays"])),
            frequency_caps=tuple(FrequencyCap.from_json(c) for c in obj["frequency_caps"]),
            consent={channel: ConsentRule(rule["attribute"]) for channel, rule in obj["consent"].items()},
            priority=tuple(obj["priority"]),
            nurture_only=tuple(obj["nurture_only"]),
        )

    def to_json(self) -> Json:
        quiet = self.quiet_hours
        return {
            "timezone": self.timezone,
            "quiet_hours": {"start": quiet.start, "end": quiet.end} if quiet is not None else None,
            "calendar": self.calendar.to_json(),
            "frequency_caps": [c.to_json() for c in self.frequency_caps],
            "consent": {channel: {"attribute": rule.attribute} for channel, rule in self.consent.items()},
            "priority": list(self.priority),
            "nurture_only": list(self.nurture_only),
        }


@dataclass(frozen=True, slots=True)
class SegmentPlan:
    title: str | None
    condition: Normal

    @classmethod
    def from_json(cls, obj: Json) -> SegmentPlan:
        return cls(obj["title"], obj["condition"])

    def to_json(self) -> Json:
        return {"title": self.title, "condition": self.condition}


@dataclass(frozen=True, slots=True)
class CouponDraw:
    """Each send of the template draws an unused code of ``pool`` still valid ``valid_for_seconds`` after it."""

    pool: str
    valid_for_seconds: int


@dataclass(frozen=True, slots=True)
class TemplatePlan:
    """A whole message template: the runtime renders from the plan, never from source files.

    ``content`` is channel → field → text (webhook: ``{"payload": {...}}``); ``params`` maps each declared
    parameter to its type and ``defaults`` to its default value; ``hash`` covers content and category.
    """

    title: str | None
    category: str
    content: dict[str, dict[str, Any]]
    channels: tuple[str, ...]
    params: dict[str, str]
    defaults: dict[str, Any]
    hash: str
    coupon: CouponDraw | None = None

    @property
    def marketing(self) -> bool:
        return self.category == "marketing"

    @classmethod
    def from_json(cls, obj: Json) -> TemplatePlan:
        return cls(
            title=obj["title"],
            category=obj["category"],
            content=obj["content"],
            channels=tuple(obj["channels"]),
            params=dict(obj["params"]),
            defaults=dict(obj["defaults"]),
            hash=obj["hash"],
            coupon=CouponDraw(obj["coupon"]["pool"], obj["coupon"]["valid_for_seconds"]) if "coupon" in obj else None,
        )

    def to_json(self) -> Json:
        coupon = self.coupon
        return {
            "title": self.title,
            "category": self.category,
            "content": self.content,
            "channels": list(self.channels),
            "params": self.params,
            "defaults": self.defaults,
            **({"coupon": {"pool": coupon.pool, "valid_for_seconds": coupon.valid_for_seconds}} if coupon else {}),
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class SchemaAdditions:
    """The project's customer schema beyond the built-in catalog: custom attributes and event properties (name →
    type), which the runtime needs to type custom values."""

    attributes: dict[str, str]
    events: dict[str, dict[str, str]]

    @classmethod
    def from_json(cls, obj: Json) -> SchemaAdditions:
        return cls(dict(obj["attributes"]), {name: dict(props) for name, props in obj["events"].items()})

    def to_json(self) -> Json:
        return {"attributes": self.attributes, "events": self.events}
