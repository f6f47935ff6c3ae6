"""Plan pieces in the words of the text syntax: conditions, values, timings, triggers, goals, stop rules, re-entry.

The one renderer of plan pieces as text: ``ecrm diff``, ``ecrm graph`` and the text printer's headers and
timings all call it, so they can no longer drift apart. It reads the compiled plan (never the AST), so it works
on any plan file. A condition printed by :func:`condition` parses back, with the text syntax, to the same normal
form; a trigger, goal, stop rule, re-entry or timing printed here is what the text syntax writes after its
keyword (``when``, ``goal``, ``stop``, ``reentry``, or before a step's colon).
"""

from __future__ import annotations

import json
from typing import Any

from ecrm_dsl.language import catalog
from ecrm_dsl.language.values import Duration

Json = dict[str, Any]

_ATOM, _AND, _OR = 3, 2, 1


def duration(seconds: int) -> str:
    """``7d``, ``36h``, ``30m`` — the largest unit that divides the duration."""
    return str(Duration(int(seconds)))


# --------------------------------------------------------------------------- conditions and values


def condition(node: Any) -> str:
    """The text of a normal-form condition (``customer.order_count == 1 and …``); ``true`` for none."""
    return _cond(node)[0] if node is not None else "true"


def _cond(node: Any) -> tuple[str, int]:
    tag = node[0]
    if tag in ("and", "or"):
        level = _AND if tag == "and" else _OR
        return f" {tag} ".join(_paren(child, level + 1) for child in node[1:]), level
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
    return value(node), _ATOM


def _paren(node: Any, minimum: int) -> str:
    text, level = _cond(node)
    return f"({text})" if level < minimum else text


def conjuncts(node: Any) -> list[Any]:
    """The parts of a condition joined by ``and`` (the condition itself when it is not a conjunction)."""
    if node is None:
        return []
    return list(node[1:]) if node[0] == "and" else [node]


def value(node: Any) -> str:
    tag = node[0]
    if tag == "attr":
        return f"customer.{node[1]}"
    if tag == "event":
        return f"event.{node[1]}"
    if tag in ("metric", "name"):
        return str(node[1])
    if tag == "call":
        function = catalog.FUNCTIONS.get(node[1])
        if function is not None and function.keywords:  # keyword-only: the filters given, by name
            named = zip(function.keywords, node[2:], strict=False)
            return f"{node[1]}({', '.join(f'{k}: {value(a)}' for k, a in named if a[2:] != [None])})"
        return f"{node[1]}({', '.join(value(a) for a in node[2:])})"
    if tag == "lit":
        return literal(node[1], node[2])
    if tag == "arith":
        return _arith(node)
    return json.dumps(node, ensure_ascii=False)  # not a value; shown as it is rather than failing


def _arith(node: Any) -> str:
    """``a - (b - c)``, ``(a + b) * c``: parentheses only where the left-to-right precedence needs them."""
    level = 1 if node[1] in "+-" else 2

    def side(operand: Any, minimum: int) -> str:
        inner = 1 if operand[0] == "arith" and operand[1] in "+-" else 2 if operand[0] == "arith" else 3
        return f"({value(operand)})" if inner < minimum else value(operand)

    return f"{side(node[2], level)} {node[1]} {side(node[3], level + 1)}"


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


def param(raw: Any) -> str:
    """A send parameter or an update value as the plan stores it (``{"money": 500}``, ``{"seconds": 60}``, …)."""
    if isinstance(raw, dict) and set(raw) == {"money"}:
        return f"{raw['money']}円"
    if isinstance(raw, dict) and set(raw) == {"seconds"}:
        return duration(raw["seconds"])
    if isinstance(raw, bool) or raw is None:
        return json.dumps(raw)
    if isinstance(raw, int | float):
        return str(raw)
    return json.dumps(raw, ensure_ascii=False)


def params(values: Json | None) -> str:
    """``coupon_code = "F2OFF", amount = 500円`` in name order."""
    return ", ".join(f"{name} = {param(raw)}" for name, raw in sorted((values or {}).items()))


def update_ops(node: Json) -> str:
    """An update's operations: ``set customer.persona = "family", tag "vip", untag "at_risk"``."""
    ops = [f"set customer.{name} = {param(raw)}" for name, raw in sorted((node.get("set") or {}).items())]
    ops += [f"tag {json.dumps(tag, ensure_ascii=False)}" for tag in node.get("add_tags") or []]
    ops += [f"untag {json.dumps(tag, ensure_ascii=False)}" for tag in node.get("remove_tags") or []]
    return ", ".join(ops) or "nothing"


# --------------------------------------------------------------------------- timing


def timing(t: Json) -> str:
    """When a step acts: ``day 7 at 10:00``, ``after 36h``, ``3 business days after payment``, ``until 09:30``."""
    business = " on business day" if t.get("business_day") else ""
    if t.get("until_time") is not None or t.get("until_weekday") is not None:
        parts = ["until", *(p for p in (t.get("until_weekday"), t.get("until_time")) if p)]
        offset = int(t.get("offset_seconds") or 0)
        lead = f"after {duration(offset)} " if offset and (t.get("anchor") or "previous") == "previous" else ""
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


def wait(t: Json | None) -> str:
    """A timed wait: ``wait 2d``, ``wait until monday 09:30``, ``wait day 3 at 10:00``."""
    t = t or {}
    seconds = int(t.get("offset_seconds") or 0)
    plain = (
        (t.get("anchor") or "previous") == "previous"
        and seconds >= 0
        and t.get("business_days") is None
        and not any(t.get(k) for k in ("at", "until_time", "until_weekday", "business_day"))
    )
    return f"wait {duration(seconds)}" if plain else f"wait {timing(t)}"


# --------------------------------------------------------------------------- scenario rules


def _where(node: Any) -> str:
    return f" where {condition(node)}" if node is not None else ""


def trigger(t: Json, *, with_where: bool = True) -> str:
    """The entry rule after ``when``: ``order.placed where …``, ``segment dormant_150``, ``date 7d before …``."""
    kind = t.get("type")
    where = _where(t.get("where")) if with_where else ""
    if kind == "event":
        return f"{t['event']}{where}"
    if kind == "segment":
        return f"segment {t['segment']}{where}"
    if kind == "date":
        seconds = int(t.get("offset_seconds") or 0)
        offset = f"{duration(abs(seconds))} {'before' if seconds < 0 else 'after'} " if seconds else ""
        at = f" at {t['at']}" if t.get("at") else ""
        yearly = " yearly" if t.get("yearly") else ""
        return f"date {offset}customer.{t['attribute']}{at}{yearly}{where}"
    if kind == "schedule":
        return f"schedule {json.dumps(t['cron'])} audience {t['audience']}{where}"
    return json.dumps(t, ensure_ascii=False, sort_keys=True)


def goal(g: Json) -> str:
    """A goal after ``goal``: ``order.placed repeat within 30d``."""
    match = {"repeat": " repeat", "same": f" same {g.get('property')}"}.get(g.get("match") or "", "")
    within = f" within {duration(g['within_seconds'])}" if g.get("within_seconds") else ""
    return f"{g.get('event')}{match}{within}{_where(g.get('where'))}"


def stop(s: Json) -> str:
    """A stop rule after ``stop``: ``on subscription.cancelled same subscription_id`` or ``when …``."""
    if "when" in s:
        return f"when {condition(s['when'])}"
    same = f" same {s['same']}" if s.get("same") else ""
    return f"on {s.get('event')}{same}{_where(s.get('where'))}"


def reentry(r: Json | None) -> str:
    """Re-entry after ``reentry``: ``never``, ``always`` or ``after 90d``."""
    if not r:
        return "never"
    if r.get("mode") == "cooldown":
        return f"after {duration(r.get('cooldown_seconds') or 0)}"
    return str(r.get("mode") or "never")
