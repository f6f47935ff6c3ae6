"""Send-time policies: consent and contact points (with fallback channels), quiet hours, frequency caps.

Consent is checked when the message is about to go out, not when the scenario was entered: a customer who
unsubscribed yesterday gets nothing today. Quiet hours defer marketing (never drop it); transactional messages
pass. Frequency caps count marketing deliveries across all scenarios.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
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
class CapVerdict:
    action: str  # "send", "defer" or "skip"
    until: datetime | None = None
    reason: str | None = None


def check_caps(
    channel: str, sends: list[tuple[str, datetime]], now: datetime, caps: Sequence[FrequencyCap]
) -> CapVerdict:
    """Whether one more marketing message on ``channel`` fits every cap; ``sends`` are (channel, time), newest first."""
    worst: CapVerdict = CapVerdict("send")
    for cap in caps:
        if cap.channel not in (channel, "all"):
            continue
        window = timedelta(seconds=cap.per_seconds)
        counted = [at for ch, at in sends if (cap.channel == "all" or ch == channel) and at > now - window]
        if len(counted) < cap.max:
            continue
        label = f"{cap.max} per {_human(window)} on {cap.channel}"
        if cap.on_exceed == "skip":
            return CapVerdict("skip", reason=f"frequency cap: {label}")
        # The slot frees when the oldest counted message leaves the window.
        frees = sorted(counted, reverse=True)[cap.max - 1] + window
        if worst.action == "send" or (worst.until is not None and frees > worst.until):
            worst = CapVerdict("defer", frees, f"frequency cap: {label}")
    return worst


def _human(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    return f"{seconds // 86400}d" if seconds % 86400 == 0 else f"{seconds // 3600}h"
