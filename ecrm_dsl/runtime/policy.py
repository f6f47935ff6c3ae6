"""Send-time policies: consent and contact points (with fallback channels), quiet hours, frequency caps.

Consent is checked when the message is about to go out, not when the scenario was entered: a customer who
unsubscribed yesterday gets nothing today. Quiet hours defer marketing (never drop it); transactional messages
pass. Frequency caps count marketing deliveries across all scenarios, per calendar day in the shop's timezone
when written in days (``per: 1d``) or over a rolling window when written in hours (``per: 24h``); a slot a
higher-priority scenario has scheduled a send for is kept for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ecrm_dsl.language import catalog
from ecrm_dsl.language.values import TimeOfDay
from ecrm_dsl.plan.project import ConsentRule, FrequencyCap, QuietHours


@dataclass(frozen=True)
class Reach:
    channel: str | None  # the first channel the customer can be reached on, or None
    reasons: tuple[str, ...]  # why earlier channels were passed over


def reachable(
    channels: Sequence[str],
    profile: dict[str, Any],
    marketing: bool,
    consent: Mapping[str, ConsentRule],
    has_entry_order: bool,
) -> Reach:
    """The first channel of the send (then its fallbacks) that may and can carry the message."""
    reasons: list[str] = []
    for channel in channels:
        why = _blocked(channel, profile, marketing, consent, has_entry_order)
        if why is None:
            return Reach(channel, tuple(reasons))
        reasons.append(f"{channel}: {why}")
    return Reach(None, tuple(reasons))


def _blocked(
    channel: str, profile: dict[str, Any], marketing: bool, consent: Mapping[str, ConsentRule], has_entry_order: bool
) -> str | None:
    contact = catalog.CHANNEL_CONTACT.get(channel)
    if contact is not None and not profile.get(contact):
        return f"no {contact}"
    if channel == "insert" and not has_entry_order:
        return "no order to ride with"
    if not marketing:
        return None
    if profile.get("unsubscribed"):
        return "unsubscribed"
    rule = consent.get(channel)
    if rule is None:
        return "no consent rule for this channel"
    attribute = rule.attribute
    if attribute is None:
        return None  # implied, e.g. package inserts
    value = profile.get(attribute, (profile.get("attributes") or {}).get(attribute))
    return None if value is True or value == 1 else f"no consent ({attribute})"


def quiet_until(now: datetime, quiet: QuietHours | None, timezone: str) -> datetime | None:
    """The end of the quiet window ``now`` falls in, or None when it is not quiet."""
    if not quiet:
        return None
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    start, end = TimeOfDay.parse(quiet.start), TimeOfDay.parse(quiet.end)
    if start == end:
        return None  # an empty window (the linter refuses it; a plan made without lint must not stall)
    minutes = local.hour * 60 + local.minute
    begin, finish = start.hour * 60 + start.minute, end.hour * 60 + end.minute
    inside = begin <= minutes < finish if begin < finish else (minutes >= begin or minutes < finish)
    if not inside:
        return None
    day = local.date() if minutes < finish else local.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, end.hour, end.minute, tzinfo=zone).astimezone(now.tzinfo)


@dataclass(frozen=True)
class Reservation:
    """A marketing send a higher-priority scenario has scheduled for the customer: it holds a capped slot."""

    channel: str
    at: datetime
    scenario_id: str
    node_id: str


@dataclass(frozen=True)
class CapVerdict:
    action: str  # "send", "defer" or "skip"
    until: datetime | None = None
    reason: str | None = None
    cause: str = "frequency_cap"  # or "priority": the slot is kept for a higher-priority scenario's send


@dataclass(frozen=True)
class CapWindow:
    """One cap's windows. A calendar cap of N days counts the shop day of each message: a window is N whole
    days, and every window holding the moment must have room. A rolling cap counts the last ``per_seconds``."""

    cap: FrequencyCap
    zone: ZoneInfo

    def covers(self, channel: str) -> bool:
        return self.cap.channel in ("all", channel)

    @property
    def label(self) -> str:
        days = self.cap.calendar_days
        if days is not None:
            return f"{days}d"
        seconds = self.cap.per_seconds
        return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds // 60}m"

    def fits(self, times: Sequence[datetime], moment: datetime) -> bool:
        """Whether one more message at ``moment`` keeps every window holding it within the cap; ``times`` may
        include messages still to come (reservations)."""
        if len(times) < self.cap.max:
            return True  # no window can hold more messages than there are: the common case, decided at once
        days = self.cap.calendar_days
        if days is not None:
            today = self._day(moment).toordinal()
            per_day = Counter(self._day(t).toordinal() for t in times)
            # The windows holding today start from today - (days - 1) to today: slide one over the other.
            counts = [per_day[today + k] for k in range(1 - days, days)]
            held = sum(counts[:days])
            for start in range(days):
                if start:
                    held += counts[start + days - 1] - counts[start - 1]
                if held >= self.cap.max:
                    return False
            return True
        per = timedelta(seconds=self.cap.per_seconds)
        if sum(1 for t in times if moment - per < t <= moment) >= self.cap.max:
            return False
        starts = [moment, *(t for t in times if moment - per < t <= moment)]
        return all(sum(1 for t in times if start <= t < start + per) < self.cap.max for start in starts)

    def next_fit(self, times: Sequence[datetime], now: datetime) -> datetime:
        """The start of the first later window with room: a shop midnight for a calendar cap, the moment a
        message leaves the window for a rolling one."""
        days = self.cap.calendar_days
        if days is not None:
            today = self._day(now)
            last = max([today, *(self._day(t) for t in times)])
            for ahead in range(1, (last - today).days + days + 1):
                moment = self._midnight(today + timedelta(days=ahead), now)
                if self.fits(times, moment):
                    return moment
            return self._midnight(last + timedelta(days=days), now)
        per = timedelta(seconds=self.cap.per_seconds)
        leaving = sorted(t + per for t in times if t + per > now)
        return next((moment for moment in leaving if self.fits(times, moment)), leaving[-1] if leaving else now)

    def _day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def _midnight(self, day: date, like: datetime) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.zone).astimezone(like.tzinfo)


def cap_lookback(now: datetime, caps: Sequence[FrequencyCap]) -> datetime:
    """How far back a customer's messages can still count against a cap at ``now`` (or later)."""
    longest = max((c.per_seconds + (86400 if c.window == "calendar" else 0) for c in caps), default=0)
    return now - timedelta(seconds=longest)


class CapCheck:
    """The frequency caps of a plan, set up once for a batch of sends (each send then only counts)."""

    def __init__(self, caps: Sequence[FrequencyCap], timezone: str):
        self.zone = ZoneInfo(timezone)
        self.windows = tuple(CapWindow(cap, self.zone) for cap in caps)

    def verdict(
        self,
        channel: str,
        sends: Sequence[tuple[str, datetime]],
        now: datetime,
        reserved: Sequence[Reservation] = (),
    ) -> CapVerdict:
        """Whether one more marketing message on ``channel`` fits every cap (see :func:`check_caps`)."""
        verdicts: list[CapVerdict] = []
        for window in self.windows:
            if not window.covers(channel):
                continue
            cap = window.cap
            times = [at for ch, at in sends if window.covers(ch)] if sends else []
            if not window.fits(times, now):
                label = f"frequency cap: {cap.max} per {window.label} on {cap.channel}"
                verdicts.append(_exceeded(window, times, now, label, "frequency_cap"))
                continue
            if not reserved:
                continue
            held = sorted((r for r in reserved if window.covers(r.channel)), key=lambda r: (r.at, r.scenario_id))
            if held and not window.fits([*times, *(r.at for r in held)], now):
                first = held[0]
                kept = (
                    f"frequency cap: {cap.max} per {window.label} on {cap.channel}, kept for higher-priority "
                    f"{first.scenario_id} ({first.node_id} at {first.at.astimezone(self.zone).isoformat()})"
                )
                verdicts.append(_exceeded(window, [*times, *(r.at for r in held)], now, kept, "priority"))
        if not verdicts:
            return _SEND
        skips = [v for v in verdicts if v.action == "skip"]
        if skips:
            return min(skips, key=lambda v: v.cause != "frequency_cap")
        defers = [v for v in verdicts if v.until is not None]
        return max(defers, key=lambda v: v.until or now) if defers else _SEND


_SEND = CapVerdict("send")


def check_caps(
    channel: str,
    sends: Sequence[tuple[str, datetime]],
    now: datetime,
    caps: Sequence[FrequencyCap],
    timezone: str,
    reserved: Sequence[Reservation] = (),
) -> CapVerdict:
    """Whether one more marketing message on ``channel`` fits every cap. ``sends`` are (channel, time) of the
    customer's counted messages; ``reserved`` the sends higher-priority scenarios have scheduled, which keep their
    slots: a message that would fit only by taking one is deferred or skipped with the cause ``priority``."""
    return CapCheck(caps, timezone).verdict(channel, sends, now, reserved)


def _exceeded(window: CapWindow, times: list[datetime], now: datetime, reason: str, cause: str) -> CapVerdict:
    if window.cap.on_exceed == "skip" or window.cap.max < 1:  # a cap of 0 never frees: deferring would stall
        return CapVerdict("skip", reason=reason, cause=cause)
    return CapVerdict("defer", window.next_fit(times, now), reason, cause)
