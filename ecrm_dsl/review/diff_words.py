"""Plan JSON back into the words planners write: conditions, timings, parameter values, one-line steps.

Conditions, values, timings and parameters come from :mod:`ecrm_dsl.plan.text`, the one renderer of plan
pieces that graph and the text printer use too; what is here is only diff's (shifts in words, one-line steps).
"""

from __future__ import annotations

import json
from typing import Any

from ecrm_dsl.language.i18n import tr, trn
from ecrm_dsl.plan import text
from ecrm_dsl.plan.text import condition, duration, params, update_ops

Json = dict[str, Any]


def seconds_text(value: Any) -> str:
    """A duration in seconds as written (``7d``), or ``none``."""
    return "none" if value is None else duration(value)


def none_text(value: Any) -> str:
    return "none" if value in (None, [], {}) else str(value)


def quoted(value: Any) -> str:
    """A string as the text syntax quotes it, or ``none``."""
    return "none" if value is None else json.dumps(value, ensure_ascii=False)


def duration_words(seconds: int) -> str:
    """``2 days``, ``1 hour``, ``1 day 12 hours``, ``30 minutes``."""
    seconds = abs(int(seconds))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes = seconds // 60
    parts = []
    if days:
        parts.append(trn("{count} day", "{count} days", days, count=days))
    if hours:
        parts.append(trn("{count} hour", "{count} hours", hours, count=hours))
    if minutes or not parts:
        parts.append(trn("{count} minute", "{count} minutes", minutes, count=minutes))
    return " ".join(parts)


def longer_or_shorter(seconds: int) -> str:
    """``1 hour longer``, ``2 days shorter``."""
    duration = duration_words(seconds)
    return tr("{duration} longer", duration=duration) if seconds > 0 else tr("{duration} shorter", duration=duration)


# --------------------------------------------------------------------------- conditions


# --------------------------------------------------------------------------- parameters


# --------------------------------------------------------------------------- timing


def timing(t: Json | None) -> str:
    """``day 7 at 10:00``, ``after 1h``, ``3 business days after payment``, ``until monday 09:30``."""
    return tr("right after the previous step") if t is None else text.timing(t)


def timing_shift(old: Json | None, new: Json | None) -> str | None:
    """How much later or earlier a step now acts, when both timings count from the same point the same way."""
    if old is None or new is None:
        return None
    same_shape = all(old.get(k) == new.get(k) for k in ("anchor", "until_time", "until_weekday", "business_day"))
    if not same_shape or (old.get("at") is None) != (new.get("at") is None):
        return None
    if old.get("business_days") is not None or new.get("business_days") is not None:
        if old.get("business_days") is None or new.get("business_days") is None or old.get("at") != new.get("at"):
            return None
        delta = int(new["business_days"]) - int(old["business_days"])
        if not delta:
            return None
        n = abs(delta)
        if delta > 0:
            return trn("{count} business day later", "{count} business days later", n, count=n)
        return trn("{count} business day earlier", "{count} business days earlier", n, count=n)
    delta = int(new.get("offset_seconds") or 0) - int(old.get("offset_seconds") or 0)
    if old.get("at") is not None:
        delta += 60 * (_minutes(new["at"]) - _minutes(old["at"]))
    if delta == 0:
        return None
    duration = duration_words(delta)
    return tr("{duration} later", duration=duration) if delta > 0 else tr("{duration} earlier", duration=duration)


def _minutes(clock: str) -> int:
    hour, minute = clock.split(":")
    return int(hour) * 60 + int(minute)


# --------------------------------------------------------------------------- steps


def is_plain_wait(node: Json) -> bool:
    return node.get("kind") == "wait" and node.get("event") is None


def action(node: Json) -> str:
    """The action of a step in one line, as the text syntax spells it (blocks summarised)."""
    kind = node.get("kind")
    if kind == "send":
        line = f"send {node.get('channel')} {node.get('template')}"
        if node.get("fallback"):
            line += " fallback " + ", ".join(node["fallback"])
        if node.get("params"):
            line += " with { " + params(node["params"]) + " }"
        return line
    if kind == "wait":
        if node.get("event") is None:
            return text.wait(node.get("timing"))
        line = f"wait for {node['event']}"
        if node.get("same"):
            line += f" same {node['same']}"
        if node.get("where") is not None:
            line += f" where {condition(node['where'])}"
        if node.get("timeout_seconds") is not None:
            line += f" timeout {duration(node['timeout_seconds'])}"
        return line
    if kind == "branch":
        arms = [arm_label(arm, i) for i, arm in enumerate(node.get("arms", []))]
        return "branch: " + " / ".join(arms)
    if kind == "split":
        return "split " + ", ".join(f"{v['name']} {v['weight']}" for v in node.get("variants", []))
    if kind == "update":
        return "update " + update_ops(node)
    if kind == "exit":
        return "exit" + (f" {json.dumps(node['reason'], ensure_ascii=False)}" if node.get("reason") else "")
    return str(kind)


def step(node: Json) -> str:
    """Timing, guard and action: ``day 7 at 10:00 if orders_since_entry == 0: send email coupon``."""
    if is_plain_wait(node):
        prefix = ""
    else:
        prefix = timing(node["timing"]) if node.get("timing") is not None else ""
    if node.get("guard") is not None:
        prefix += (" " if prefix else "") + f"if {condition(node['guard'])}"
    return (prefix + ": " if prefix else "") + action(node)


def arm_label(arm: Json, index: int) -> str:
    if arm.get("condition") is None:
        return "else"
    return ("if " if index == 0 else "elif ") + condition(arm["condition"])


def channels(channel: str | None, fallback: list[str] | None) -> str:
    """The channels a send tries, in order: ``line, then email``."""
    return ", then ".join([str(channel), *(fallback or [])])
