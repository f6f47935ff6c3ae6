"""AST → text syntax, in one canonical layout (used by ``ecrm convert`` and, later, ``ecrm fmt``)."""

from __future__ import annotations

import json

from ecrm_dsl import ast
from ecrm_dsl.syntax.common import literal_value_text, step_id

INDENT = "  "


def print_text(items: list[ast.SourceItem]) -> str:
    return "\n".join(_preset_use(i) if isinstance(i, ast.PresetUse) else _scenario(i) for i in items)


def _preset_use(use: ast.PresetUse) -> str:
    head = f"scenario {use.id}" + (f" {_q(use.title)}" if use.title != use.id else "") + f" from preset {use.preset}"
    if not use.args:
        return head + "\n"
    args = [f"{INDENT}{a.name} = {literal_value_text(a.value)}," for a in use.args]
    return "\n".join([head + " with {", *args, "}"]) + "\n"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _scenario(s: ast.Scenario) -> str:
    head = f"scenario {s.id}" + (f" {_q(s.title)}" if s.title != s.id else "") + " {"
    lines = [head, f"{INDENT}kind {s.kind}"]
    if s.owner is not None:
        lines.append(f"{INDENT}owner {_q(s.owner)}")
    if s.description is not None:
        lines.append(f"{INDENT}description {_q(s.description)}")
    if s.hypothesis is not None:
        lines.append(f"{INDENT}hypothesis {s.hypothesis.kpi} {_q(s.hypothesis.statement)}")
    lines.append(f"{INDENT}when {trigger_text(s.trigger)}")
    lines.extend(f"{INDENT}{goal_text(g)}" for g in s.goals)
    lines.extend(f"{INDENT}{stop_text(e)}" for e in s.exits)
    if s.reentry != ast.Reentry():
        lines.append(f"{INDENT}reentry {reentry_text(s.reentry)}")
    if s.holdout:
        lines.append(f"{INDENT}holdout {s.holdout}%")
    if s.backfill is not None:
        lines.append(f"{INDENT}backfill {s.backfill}")
    if s.steps:
        lines.append("")
        lines.extend(_steps(s.steps, 1))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _where(expr: ast.Expr | None) -> str:
    return f" where {expr_text(expr)}" if expr is not None else ""


def trigger_text(t: ast.Trigger) -> str:
    if isinstance(t, ast.EventTrigger):
        return f"{t.event}{_where(t.where)}"
    if isinstance(t, ast.SegmentTrigger):
        return f"segment {t.segment}{_where(t.where)}"
    if isinstance(t, ast.DateTrigger):
        offset = ""
        if t.offset.seconds:
            direction = "before" if t.offset.seconds < 0 else "after"
            offset = f"{ast.Duration(abs(t.offset.seconds))} {direction} "
        at = f" at {t.at}" if t.at else ""
        yearly = " yearly" if t.yearly else ""
        return f"date {offset}{t.attribute}{at}{yearly}{_where(t.where)}"
    return f"schedule {_q(t.cron)} audience {t.audience}{_where(t.where)}"


def goal_text(g: ast.Goal) -> str:
    match = ""
    if g.match == "repeat":
        match = " repeat"
    elif g.match.startswith("same:"):
        match = f" same {g.match.split(':', 1)[1]}"
    within = f" within {g.within}" if g.within else ""
    return f"goal {g.event}{match}{within}{_where(g.where)}"


def stop_text(e: ast.ExitRule) -> str:
    if e.event is not None:
        same = f" same {e.same}" if e.same else ""
        return f"stop on {e.event}{same}{_where(e.condition)}"
    return f"stop when {expr_text(e.condition)}"


def reentry_text(r: ast.Reentry) -> str:
    return f"after {r.cooldown}" if r.mode == "cooldown" else r.mode


def timing_text(t: ast.Timing) -> str:
    business = " on business day" if t.business_day else ""
    if t.until_time is not None or t.until_weekday is not None:
        parts = ["until"]
        if t.until_weekday:
            parts.append(t.until_weekday)
        if t.until_time is not None:
            parts.append(str(t.until_time))
        return " ".join(parts) + business
    at = f" at {t.at}" if t.at else ""
    if t.business_days is not None:
        direction = "before" if t.business_days < 0 else "after"
        return f"{abs(t.business_days)} business days {direction} {t.anchor}{at}"
    seconds = t.offset.seconds
    if t.anchor == "entry" and seconds >= 0 and seconds % 86400 == 0:
        return f"day {seconds // 86400}{at}{business}"
    if t.anchor == "previous" and seconds >= 0:
        return f"after {t.offset}{at}{business}"
    if seconds == 0:
        return f"on {t.anchor}{at}{business}"
    direction = "before" if seconds < 0 else "after"
    return f"{ast.Duration(abs(seconds))} {direction} {t.anchor}{at}{business}"


def _steps(steps: tuple[ast.Step, ...], depth: int) -> list[str]:
    lines: list[str] = []
    for step in steps:
        lines.extend(_step(step, depth))
    return lines


def _step(step: ast.Step, depth: int) -> list[str]:
    pad = INDENT * depth
    label = "" if step_id(None, step.action) == step.id else f"@{step.id} "
    action = step.action
    if isinstance(action, ast.Wait) and action.event is None:
        timing = step.delay or ast.Timing()
        plain = timing == ast.Timing("previous", timing.offset) and timing.offset.seconds >= 0
        return [f"{pad}{label}wait {timing.offset if plain else timing_text(timing)}"]
    prefix = ""
    if step.delay is not None:
        prefix = timing_text(step.delay)
    if step.guard is not None:
        prefix += (" " if prefix else "") + f"if {expr_text(step.guard)}"
    if prefix:
        prefix += ": "
    body = _action(action, depth)
    body[0] = f"{pad}{label}{prefix}{body[0]}"
    return body


def _block(header: str, steps: tuple[ast.Step, ...], depth: int) -> list[str]:
    pad = INDENT * depth
    if not steps:
        return [f"{header} {{ }}"]
    return [f"{header} {{", *_steps(steps, depth + 1), f"{pad}}}"]


def _action(action: ast.Action, depth: int) -> list[str]:
    pad = INDENT * depth
    if isinstance(action, ast.Send):
        text = f"send {action.channel} {action.template}"
        if action.fallback:
            text += f" fallback {', '.join(action.fallback)}"
        if action.params:
            text += " with { " + ", ".join(f"{p.name} = {literal_value_text(p.value)}" for p in action.params) + " }"
        return [text]
    if isinstance(action, ast.Update):
        ops = [f"set {a.attribute} = {literal_value_text(a.value)}" for a in action.assignments]
        ops += [f"tag {_q(t)}" for t in action.add_tags]
        ops += [f"untag {_q(t)}" for t in action.remove_tags]
        return ["update " + ", ".join(ops)]
    if isinstance(action, ast.Exit):
        return ["exit" + (f" {_q(action.reason)}" if action.reason is not None else "")]
    if isinstance(action, ast.Wait):
        same = f" same {action.same}" if action.same else ""
        head = f"wait for {action.event}{same}{_where(action.where)}"
        if action.timeout is not None:
            head += f" timeout {action.timeout}"
        lines = [head + " {"]
        inner = INDENT * (depth + 1)
        if action.on_event:
            lines.extend(_block(f"{inner}on event", action.on_event, depth + 1))
        if action.on_timeout:
            lines.extend(_block(f"{inner}on timeout", action.on_timeout, depth + 1))
        lines.append(f"{pad}}}")
        return lines
    if isinstance(action, ast.Branch):
        lines: list[str] = []
        for index, arm in enumerate(action.arms):
            if arm.condition is None:
                keyword = "else"
            else:
                keyword = ("if " if index == 0 else "elif ") + expr_text(arm.condition)
            block = _block(keyword, arm.steps, depth)
            if lines:
                lines[-1] = f"{lines[-1]} {block[0]}"
                lines.extend(block[1:])
            else:
                lines.extend(block)
        return lines
    assert isinstance(action, ast.Split)
    lines = ["split {"]
    for variant in action.variants:
        lines.extend(_block(f"{INDENT * (depth + 1)}variant {variant.name} {variant.weight}", variant.steps, depth + 1))
    lines.append(f"{pad}}}")
    return lines


# ---------------------------------------------------------------- conditions

_PRECEDENCE = {ast.Or: 1, ast.And: 2, ast.Not: 3, ast.Compare: 4, ast.InList: 4, ast.Between: 4, ast.IsNull: 4}
_ATOM = 5


def _prec(expr: ast.Expr) -> int:
    return _PRECEDENCE.get(type(expr), _ATOM)


def _wrap(expr: ast.Expr, minimum: int) -> str:
    text = expr_text(expr)
    return f"({text})" if _prec(expr) < minimum else text


def expr_text(expr: ast.Expr | None) -> str:
    """The canonical text of a condition; parsing it gives back an equal tree."""
    if expr is None:
        return ""
    if isinstance(expr, ast.Literal):
        return literal_value_text(expr)
    if isinstance(expr, ast.Ref):
        return expr.dotted
    if isinstance(expr, ast.Call):
        return f"{expr.name}({', '.join(expr_text(a) for a in expr.args)})"
    if isinstance(expr, ast.Or):
        return " or ".join(_wrap(i, 2) for i in expr.items)
    if isinstance(expr, ast.And):
        return " and ".join(_wrap(i, 3) for i in expr.items)
    if isinstance(expr, ast.Not):
        return f"not {_wrap(expr.operand, 3)}"
    # predicates take operands, so anything compound inside needs parentheses
    if isinstance(expr, ast.Compare):
        return f"{_wrap(expr.left, _ATOM)} {expr.op} {_wrap(expr.right, _ATOM)}"
    if isinstance(expr, ast.InList):
        items = ", ".join(_wrap(i, _ATOM) for i in expr.items)
        return f"{_wrap(expr.operand, _ATOM)} {'not in' if expr.negated else 'in'} [{items}]"
    if isinstance(expr, ast.Between):
        keyword = "not between" if expr.negated else "between"
        return f"{_wrap(expr.operand, _ATOM)} {keyword} {_wrap(expr.low, _ATOM)} and {_wrap(expr.high, _ATOM)}"
    assert isinstance(expr, ast.IsNull)
    return f"{_wrap(expr.operand, _ATOM)} is {'not ' if expr.negated else ''}null"
