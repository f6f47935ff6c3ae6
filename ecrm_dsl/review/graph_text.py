"""Plan pieces in words, for diagrams: conditions, timings, triggers, goals and steps as the text syntax spells them.

Everything here reads the compiled plan (never the AST), so a diagram can be drawn from any plan file. A condition
printed by :func:`condition_text` parses back, with the text syntax, to the same normal form.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

from ecrm_dsl.language.values import Duration
from ecrm_dsl.review import diff_words as words

Json = dict[str, Any]


# --------------------------------------------------------------------------- conditions


def condition_text(normal: list[Any] | None) -> str:
    """A normal-form condition in the text syntax (one renderer, shared with ``ecrm diff``)."""
    return "" if normal is None else words.condition(normal)


def value_text(node: list[Any]) -> str:
    return words.value(node)


def literal_text(type_: str, raw: Any) -> str:
    return words.literal(type_, raw)


def plan_value_text(raw: Any) -> str:
    """A send parameter or an update value as the plan stores it (``{"money": 500}``, ``{"seconds": 60}``, …)."""
    if isinstance(raw, dict) and set(raw) == {"money"}:
        return f"{raw['money']}円"
    if isinstance(raw, dict) and set(raw) == {"seconds"}:
        return str(Duration(int(raw["seconds"])))
    if isinstance(raw, bool) or raw is None:
        return json.dumps(raw)
    if isinstance(raw, int | float):
        return str(raw)
    return json.dumps(raw, ensure_ascii=False)


# --------------------------------------------------------------------------- timing


def duration_text(seconds: int) -> str:
    return words.duration(seconds)


def timing_text(timing: Json) -> str:
    """When a step acts, in the text syntax: ``day 7 at 10:00``, ``after 36h``, ``2d before delivery_date``."""
    business = " on business day" if timing.get("business_day") else ""
    if timing.get("until_time") or timing.get("until_weekday"):
        parts = ["until", timing.get("until_weekday"), timing.get("until_time")]
        return " ".join(p for p in parts if p) + business
    at = f" at {timing['at']}" if timing.get("at") else ""
    anchor = timing.get("anchor") or "previous"
    days = timing.get("business_days")
    if days is not None:
        direction = "before" if days < 0 else "after"
        return f"{abs(days)} business days {direction} {anchor}{at}{business}"
    seconds = int(timing.get("offset_seconds") or 0)
    if anchor == "entry" and seconds >= 0 and seconds % 86400 == 0:
        return f"day {seconds // 86400}{at}{business}"
    if anchor == "previous" and seconds >= 0:
        return f"after {duration_text(seconds)}{at}{business}"
    if seconds == 0:
        return f"on {anchor}{at}{business}"
    direction = "before" if seconds < 0 else "after"
    return f"{duration_text(abs(seconds))} {direction} {anchor}{at}{business}"


def wait_text(timing: Json | None) -> str:
    """A timed wait as the text syntax writes it: ``wait 2d``, ``wait until monday 09:30``, ``wait day 3 at 10:00``."""
    timing = timing or {}
    seconds = int(timing.get("offset_seconds") or 0)
    plain = (
        (timing.get("anchor") or "previous") == "previous"
        and seconds >= 0
        and timing.get("business_days") is None
        and not any(timing.get(k) for k in ("at", "until_time", "until_weekday", "business_day"))
    )
    return f"wait {duration_text(seconds)}" if plain else f"wait {timing_text(timing)}"


# --------------------------------------------------------------------------- scenario header


def _where(condition: list[Any] | None) -> str:
    return f" where {condition_text(condition)}" if condition is not None else ""


def trigger_text(trigger: Json) -> str:
    """The entry rule: ``order.placed where customer.order_count == 1``, ``segment dormant_150``, …"""
    kind = trigger.get("type")
    where = _where(trigger.get("where"))
    if kind == "event":
        return f"{trigger['event']}{where}"
    if kind == "segment":
        return f"segment {trigger['segment']}{where}"
    if kind == "date":
        seconds = int(trigger.get("offset_seconds") or 0)
        offset = ""
        if seconds:
            offset = f"{duration_text(abs(seconds))} {'before' if seconds < 0 else 'after'} "
        at = f" at {trigger['at']}" if trigger.get("at") else ""
        yearly = " yearly" if trigger.get("yearly") else ""
        return f"date {offset}customer.{trigger['attribute']}{at}{yearly}{where}"
    if kind == "schedule":
        return f"schedule {json.dumps(trigger['cron'])} audience {trigger['audience']}{where}"
    return json.dumps(trigger, ensure_ascii=False, sort_keys=True)


def goal_text(goal: Json) -> str:
    match = {"repeat": " repeat", "same": f" same {goal.get('property')}"}.get(goal.get("match") or "", "")
    within = f" within {duration_text(goal['within_seconds'])}" if goal.get("within_seconds") else ""
    return f"goal {goal['event']}{match}{within}{_where(goal.get('where'))}"


def stop_text(rule: Json) -> str:
    if rule.get("event"):
        same = f" same {rule['same']}" if rule.get("same") else ""
        return f"stop on {rule['event']}{same}{_where(rule.get('where'))}"
    return f"stop when {condition_text(rule.get('when'))}"


def reentry_text(reentry: Json | None) -> str:
    reentry = reentry or {}
    if reentry.get("mode") == "cooldown":
        return f"reentry after {duration_text(reentry.get('cooldown_seconds') or 0)}"
    return f"reentry {reentry.get('mode') or 'never'}"


def rules_lines(scenario: Json) -> list[str]:
    """The scenario-wide rules, one per line: kind, goals, stop rules, re-entry, holdout, backfill."""
    lines = [f"kind {scenario.get('kind')}" + (f" · owner {scenario['owner']}" if scenario.get("owner") else "")]
    hypothesis = scenario.get("hypothesis")
    if hypothesis:
        lines.append(f"hypothesis {hypothesis.get('kpi')}")
    lines.extend(goal_text(g) for g in scenario.get("goals") or [])
    lines.extend(stop_text(s) for s in scenario.get("stop") or [])
    lines.append(reentry_text(scenario.get("reentry")))
    if scenario.get("holdout_percent"):
        lines.append(f"holdout {scenario['holdout_percent']}% (enrolled, never messaged)")
    if scenario.get("backfill_seconds"):
        lines.append(f"backfill {duration_text(scenario['backfill_seconds'])}")
    return lines


# --------------------------------------------------------------------------- steps


def send_text(node: Json) -> str:
    fallback = node.get("fallback") or []
    text = f"send {node.get('channel')} {node.get('template')}"
    return text + (f" (fallback {', '.join(fallback)})" if fallback else "")


def params_text(params: Json | None) -> str:
    return ", ".join(f"{name} = {plan_value_text(params[name])}" for name in sorted(params or {}))


def update_text(node: Json) -> str:
    ops = [f"set customer.{name} = {plan_value_text(value)}" for name, value in sorted((node.get("set") or {}).items())]
    ops += [f"tag {tag}" for tag in node.get("add_tags") or []]
    ops += [f"untag {tag}" for tag in node.get("remove_tags") or []]
    return "update: " + (", ".join(ops) if ops else "nothing")


def wait_event_text(node: Json) -> str:
    same = f" same {node['same']}" if node.get("same") else ""
    timeout = node.get("timeout_seconds")
    tail = f", {duration_text(timeout)} timeout" if timeout else ", no timeout"
    return f"wait for {node.get('event')}{same}{_where(node.get('where'))}{tail}"


def exit_text(node: Json) -> str:
    reason = node.get("reason")
    return f"exit: {reason}" if reason else "exit"


def percentages(weights: list[int | float]) -> list[str]:
    """Split weights as percentages of their sum: ``[1, 1, 1]`` → ``33.3%`` each; whole numbers without decimals."""
    total = sum(Fraction(str(w)) for w in weights)
    out = []
    for weight in weights:
        share = Fraction(str(weight)) * 100 / total if total else Fraction(0)
        text = f"{float(share):.1f}"
        out.append((text[:-2] if text.endswith(".0") else text) + "%")
    return out
