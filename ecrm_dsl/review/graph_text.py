"""Plan pieces in words, for diagrams: the labels of boxes and edges and the side note of scenario rules.

The pieces themselves (conditions, timings, triggers, goals, values) come from :mod:`ecrm_dsl.plan.text`, the one
renderer that diff and the text printer use too; what is here is only how a diagram arranges them.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ecrm_dsl.plan import text

Json = dict[str, Any]


def condition_text(normal: list[Any] | None) -> str:
    """A normal-form condition in the text syntax; empty for none."""
    return "" if normal is None else text.condition(normal)


timing_text = text.timing
wait_text = text.wait
trigger_text = text.trigger


def rules_lines(scenario: Json) -> list[str]:
    """The scenario-wide rules, one per line: kind, goals, stop rules, re-entry, holdout, backfill."""
    lines = [f"kind {scenario.get('kind')}" + (f" · owner {scenario['owner']}" if scenario.get("owner") else "")]
    hypothesis = scenario.get("hypothesis")
    if hypothesis:
        lines.append(f"hypothesis {hypothesis.get('kpi')}")
    lines.extend(f"goal {text.goal(g)}" for g in scenario.get("goals") or [])
    lines.extend(f"stop {text.stop(s)}" for s in scenario.get("stop") or [])
    lines.append(f"reentry {text.reentry(scenario.get('reentry'))}")
    if scenario.get("holdout_percent"):
        lines.append(f"holdout {scenario['holdout_percent']}% (enrolled, never messaged)")
    if scenario.get("backfill_seconds"):
        lines.append(f"backfill {text.duration(scenario['backfill_seconds'])}")
    return lines


# --------------------------------------------------------------------------- steps


def send_text(node: Json) -> str:
    fallback = node.get("fallback") or []
    text = f"send {node.get('channel')} {node.get('template')}"
    return text + (f" (fallback {', '.join(fallback)})" if fallback else "")


def params_text(params: Json | None) -> str:
    return text.params(params)


def update_text(node: Json) -> str:
    return "update: " + text.update_ops(node)


def wait_event_text(node: Json) -> str:
    same = f" same {node['same']}" if node.get("same") else ""
    timeout = node.get("timeout_seconds")
    tail = f", {text.duration(timeout)} timeout" if timeout else ", no timeout"
    where = f" where {text.condition(node['where'])}" if node.get("where") is not None else ""
    return f"wait for {node.get('event')}{same}{where}{tail}"


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
