"""The reasons the runtime records with its decisions, as a person reads them in the current language.

The journal keeps each reason in English, whatever language the command that ran the tick spoke: the store is
shared by every operator and its words never change. ``ecrm explain`` and the demo show them through
:func:`reason_text`, which says the runtime's known reasons again in the current language (English: as stored)
and leaves any other reason as it was recorded.
"""

from __future__ import annotations

import re

from ecrm_dsl.language.i18n import DEFAULT, language, lookup, n_

# Reasons recorded word for word (steps, enroll, outcomes, deploy).
_EXACT = frozenset(
    (
        n_("reached the end of the scenario"),
        n_("the step's condition does not hold"),
        n_("exit step"),
        n_("no arm matched"),
        n_("holdout: enrolled and measured, never messaged"),
        n_("in the holdout group: measured, never messaged"),
        n_("already sent at this step (under an earlier version)"),
        n_("nurture-only: the policies keep this customer from sell scenarios"),
        n_("already in this scenario"),
        n_("re-entry: never"),
        n_("stop rule holds"),
        n_("moved to the new version and its timing"),
        n_("the wait's timeout follows the new version"),
    )
)

# Reasons with a name or a time in them: the English pattern, and the message said again with its fields.
_PATTERNS = [
    (re.compile(r"goal (?P<event>\S+)"), n_("goal {event}")),
    (re.compile(r"stop on (?P<event>\S+)"), n_("stop on {event}")),
    (re.compile(r"for (?P<event>\S+)"), n_("for {event}")),
    (re.compile(r"no (?P<event>\S+) in time"), n_("no {event} in time")),
    (re.compile(r"variant (?P<name>.+)"), n_("variant {name}")),
    (re.compile(r"arm (?P<arm>\d+)"), n_("arm {arm}")),
    (re.compile(r"no (?P<anchor>\S+) date for this customer"), n_("no {anchor} date for this customer")),
    (re.compile(r"quiet hours until (?P<time>\S+)"), n_("quiet hours until {time}")),
    (re.compile(r"re-entry: cool-down until (?P<time>\S+)"), n_("re-entry: cool-down until {time}")),
    (
        re.compile(r"coupon pool (?P<pool>\S+) has no unused code left: import more with ecrm import coupons"),
        n_("coupon pool {pool} has no unused code left: import more with ecrm import coupons"),
    ),
    (re.compile(r"no reachable channel: (?P<channels>.+)"), n_("no reachable channel: {channels}")),
    (re.compile(r"(?P<channel>[a-z_]+) \(fallback; (?P<channels>.+)\)"), n_("{channel} (fallback; {channels})")),
]

# Why a channel could not carry a message (policy.reachable), after "channel: ".
_CHANNEL_EXACT = frozenset((n_("no order to ride with"), n_("no consent rule for this channel")))
_CHANNEL_PATTERNS = [
    (re.compile(r"no consent \((?P<attribute>\S+)\)"), n_("no consent ({attribute})")),
    (re.compile(r"no (?P<contact>\S+)"), n_("no {contact}")),
]


def reason_text(reason: str) -> str:
    """``reason`` as recorded, in the current language when it is one the runtime records."""
    if language() == DEFAULT or not reason:
        return reason
    if reason in _EXACT:
        return lookup(reason)
    for pattern, message in _PATTERNS:
        if match := pattern.fullmatch(reason):
            fields = match.groupdict()
            if "channels" in fields:
                fields["channels"] = "; ".join(_channel(part) for part in fields["channels"].split("; "))
            return lookup(message).format(**fields)
    return reason


def _channel(part: str) -> str:
    """``line: no line_user_id`` in the current language (the channel and the attribute as they are)."""
    channel, sep, why = part.partition(": ")
    if not sep:
        return part
    if why in _CHANNEL_EXACT:
        return f"{channel}: {lookup(why)}"
    for pattern, message in _CHANNEL_PATTERNS:
        if match := pattern.fullmatch(why):
            return f"{channel}: " + lookup(message).format(**match.groupdict())
    return part
