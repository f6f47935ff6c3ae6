"""Plan JSON back into the words planners write: conditions, timings, parameter values, one-line steps.

The plan keeps no source text, so these mirror :mod:`ecrm_dsl.syntax.text_printer` over the plan's normal
forms. The output is for people; it is close to the text syntax but need not parse back.
"""

from __future__ import annotations

import json
from typing import Any

from ecrm_dsl.language.values import Duration

Json = dict[str, Any]

_ATOM, _AND, _OR = 3, 2, 1


def duration(seconds: int) -> str:
    return str(Duration(int(seconds)))


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
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}" + ("" if count == 1 else "s"))
    return " ".join(parts) or "0 minutes"


# --------------------------------------------------------------------------- conditions


def condition(node: Any) -> str:
    """The text of a normal-form condition (``customer.order_count == 1 and …``)."""
    return _cond(node)[0] if node is not None else "true"


def _cond(node: Any) -> tuple[str, int]:
    tag = node[0]
    if tag in ("and", "or"):
        level = _AND if tag == "and" else _OR
        texts = [_paren(child, level + 1) for child in node[1:]]
        return f" {tag} ".join(texts), level
    if tag == "not":
        return f"not {_paren(node[1], _ATOM)}", _ATOM
    if tag == "cmp":
        return f"{value(node[2])} {node[1]} {value(node[3])}", _ATOM
    if tag in ("in", "not_in"):
        items = ", ".join(value(item) for item in node[2])
        return f"{value(node[1])} {'not in' if tag == 'not_in' else 'in'} [{items}]", _ATOM
    if tag in ("between", "not_between"):
        keyword = "not between" if tag == "not_between" else "between"
        return f"{value(node[1])} {keyword} {value(node[2])} and {value(node[3])}", _ATOM
    if tag in ("is_null", "is_not_null"):
        return f"{value(node[1])} is {'not ' if tag == 'is_not_null' else ''}null", _ATOM
    if tag == "lit":
        return value(node), _ATOM
    return value(node), _ATOM


def _paren(node: Any, minimum: int) -> str:
    text, level = _cond(node)
    return f"({text})" if level < minimum else text


def value(node: Any) -> str:
    tag = node[0]
    if tag == "attr":
        return f"customer.{node[1]}"
    if tag == "event":
        return f"event.{node[1]}"
    if tag in ("metric", "name"):
        return str(node[1])
    if tag == "call":
        return f"{node[1]}({', '.join(value(a) for a in node[2:])})"
    if tag == "lit":
        return literal(node[1], node[2])
    return json.dumps(node, ensure_ascii=False)  # not a value; shown as it is rather than failing


def literal(type_: str, raw: Any) -> str:
    if raw is None:
        return "null"
    if type_ == "string":
        return json.dumps(raw, ensure_ascii=False)
    if type_ == "bool":
        return "true" if raw else "false"
    if type_ == "money":
        return f"{raw}円"
    if type_ == "duration":
        return duration(raw)
    return str(raw)


def conjuncts(node: Any) -> list[Any]:
    if node is None:
        return []
    return list(node[1:]) if node[0] == "and" else [node]


# --------------------------------------------------------------------------- parameters


def param(raw: Any) -> str:
    """A send parameter or update value as compiled (money and durations are wrapped)."""
    if isinstance(raw, dict) and "money" in raw:
        return f"{raw['money']}円"
    if isinstance(raw, dict) and "seconds" in raw:
        return duration(raw["seconds"])
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if raw is None:
        return "null"
    if isinstance(raw, str):
        return json.dumps(raw, ensure_ascii=False)
    return str(raw)


# --------------------------------------------------------------------------- timing


def timing(t: Json | None) -> str:
    """``day 7 at 10:00``, ``after 1h``, ``3 business days after payment``, ``until monday 09:30``."""
    if t is None:
        return "right after the previous step"
    business = " on business day" if t.get("business_day") else ""
    if t.get("until_time") is not None or t.get("until_weekday") is not None:
        parts = ["until", *(p for p in (t.get("until_weekday"), t.get("until_time")) if p)]
        offset = t.get("offset_seconds") or 0
        lead = f"after {duration(offset)} " if offset and t.get("anchor") == "previous" else ""
        return lead + " ".join(parts) + business
    at = f" at {t['at']}" if t.get("at") else ""
    anchor, seconds = t.get("anchor") or "previous", int(t.get("offset_seconds") or 0)
    if t.get("business_days") is not None:
        days = int(t["business_days"])
        return f"{abs(days)} business days {'before' if days < 0 else 'after'} {anchor}{at}{business}"
    if anchor == "entry" and seconds >= 0 and seconds % 86400 == 0:
        return f"day {seconds // 86400}{at}{business}"
    if anchor == "previous" and seconds >= 0:
        return f"after {duration(seconds)}{at}{business}"
    if seconds == 0:
        return f"on {anchor}{at}{business}"
    return f"{duration(abs(seconds))} {'before' if seconds < 0 else 'after'} {anchor}{at}{business}"


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
        unit = "business day" if abs(delta) == 1 else "business days"
        return f"{abs(delta)} {unit} {'later' if delta > 0 else 'earlier'}" if delta else None
    delta = int(new.get("offset_seconds") or 0) - int(old.get("offset_seconds") or 0)
    if old.get("at") is not None:
        delta += 60 * (_minutes(new["at"]) - _minutes(old["at"]))
    if delta == 0:
        return None
    return f"{duration_words(delta)} {'later' if delta > 0 else 'earlier'}"


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
        text = f"send {node.get('channel')} {node.get('template')}"
        if node.get("fallback"):
            text += " fallback " + ", ".join(node["fallback"])
        if node.get("params"):
            text += " with { " + params(node["params"]) + " }"
        return text
    if kind == "wait":
        if node.get("event") is None:
            return "wait " + timing(node.get("timing")).removeprefix("after ")
        text = f"wait for {node['event']}"
        if node.get("same"):
            text += f" same {node['same']}"
        if node.get("where") is not None:
            text += f" where {condition(node['where'])}"
        if node.get("timeout_seconds") is not None:
            text += f" timeout {duration(node['timeout_seconds'])}"
        return text
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


def params(values: Json) -> str:
    return ", ".join(f"{name} = {param(raw)}" for name, raw in sorted(values.items()))


def update_ops(node: Json) -> str:
    ops = [f"set customer.{name} = {param(raw)}" for name, raw in sorted((node.get("set") or {}).items())]
    ops += [f"tag {json.dumps(t, ensure_ascii=False)}" for t in node.get("add_tags") or []]
    ops += [f"untag {json.dumps(t, ensure_ascii=False)}" for t in node.get("remove_tags") or []]
    return ", ".join(ops) or "nothing"


def arm_label(arm: Json, index: int) -> str:
    if arm.get("condition") is None:
        return "else"
    return ("if " if index == 0 else "elif ") + condition(arm["condition"])


def channels(channel: str | None, fallback: list[str] | None) -> str:
    """The channels a send tries, in order: ``line, then email``."""
    return ", then ".join([str(channel), *(fallback or [])])
