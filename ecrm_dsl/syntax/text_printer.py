"""AST → text syntax, in one canonical layout (used by ``ecrm convert`` and ``ecrm fmt``).

The layout is built as :class:`Line` records that remember which source lines they print, so the formatter
can put comments back next to the constructs they were written with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from ecrm_dsl.language import ast
from ecrm_dsl.language.targets import spell_target
from ecrm_dsl.plan import lower, text
from ecrm_dsl.syntax.common import literal_value_text, step_id

INDENT = "  "


@dataclass(frozen=True, slots=True)
class Line:
    """One printed line and the source lines it came from, so that ``ecrm fmt`` can put comments back."""

    text: str
    depth: int = 0  # indentation level
    start: int = 0  # source line of the construct this line begins (0: none, e.g. a blank separator)
    end: int = 0  # the construct's last source line when it is printed whole on this line (0: it is not)
    closes: bool = False  # a closing brace: comments just before it belong inside the block


@dataclass
class SourcePositions:
    """Source lines of what the AST keeps without a span (kind, owner, ... and wait-for outcome blocks).

    ``items`` maps a scenario's (line, column) to each field's [(first line, last line)], in source order;
    ``blocks`` maps a wait-for's (line, column) to ``on_event``/``on_timeout`` (first line, last line).
    """

    items: dict[tuple[int, int], dict[str, list[tuple[int, int]]]] = field(default_factory=dict)
    blocks: dict[tuple[int, int], dict[str, tuple[int, int]]] = field(default_factory=dict)


_NONE = SourcePositions()


def print_text(items: list[ast.SourceItem]) -> str:
    return render(print_lines(items))


def render(lines: list[Line]) -> str:
    return "\n".join(line.text for line in lines) + "\n" if lines else ""


def print_lines(items: list[ast.SourceItem], positions: SourcePositions | None = None) -> list[Line]:
    """The canonical layout, line by line; one blank line between scenarios."""
    where = positions or _NONE
    lines: list[Line] = []
    for item in items:
        if lines:
            lines.append(Line(""))
        lines.extend(_preset_use(item) if isinstance(item, ast.PresetUse) else _scenario(item, where))
    return lines


def _whole(span: ast.Span) -> tuple[int, int]:
    return span.line, span.end_line or span.line


def _preset_use(use: ast.PresetUse) -> list[Line]:
    head = f"scenario {use.id}" + (f" {_q(use.title)}" if use.title != use.id else "") + f" from preset {use.preset}"
    if not use.args:
        return [Line(head, 0, *_whole(use.span))]
    args = [Line(f"{INDENT}{a.name} = {literal_value_text(a.value)},", 1, *_whole(a.span)) for a in use.args]
    closing = Line("}", 0, use.span.end_line, closes=True)
    return [Line(head + " with {", 0, use.span.line), *args, closing]


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _scenario(s: ast.Scenario, where: SourcePositions) -> list[Line]:
    found = where.items.get((s.span.line, s.span.column), {})

    def item(text: str, name: str, index: int = 0, span: ast.Span | None = None) -> Line:
        known = found.get(name, [])
        source = known[index] if index < len(known) else _whole(span) if span is not None else (0, 0)
        return Line(f"{INDENT}{text}", 1, *source)

    head = f"scenario {s.id}" + (f" {_q(s.title)}" if s.title != s.id else "") + " {"
    lines = [Line(head, 0, s.span.line), item(f"kind {s.kind}", "kind")]
    if s.owner is not None:
        lines.append(item(f"owner {_q(s.owner)}", "owner"))
    if s.description is not None:
        lines.append(item(f"description {_q(s.description)}", "description"))
    if s.hypothesis is not None:
        text = f"hypothesis {s.hypothesis.kpi} {_q(s.hypothesis.statement)}"
        if s.hypothesis.target is not None:
            text += f" target {spell_target(s.hypothesis.target.amount, s.hypothesis.target.within)}"
        lines.append(item(text, "hypothesis", span=s.hypothesis.span))
    lines.append(item(f"when {trigger_text(s.trigger)}", "trigger", span=s.trigger.span))
    lines.extend(item(goal_text(g), "goals", i, g.span) for i, g in enumerate(s.goals))
    lines.extend(item(stop_text(e), "exits", i, e.span) for i, e in enumerate(s.exits))
    # a default the author wrote out ("reentry never", "holdout 0%") stays when formatting (found in the source)
    if s.reentry != ast.Reentry() or "reentry" in found:
        lines.append(item(f"reentry {reentry_text(s.reentry)}", "reentry", span=s.reentry.span))
    if s.holdout or "holdout" in found:
        lines.append(item(f"holdout {s.holdout}%", "holdout"))
    if s.backfill is not None:
        lines.append(item(f"backfill {s.backfill}", "backfill"))
    if s.steps:
        lines.append(Line(""))
        lines.extend(_steps(s.steps, 1, where))
    lines.append(Line("}", 0, s.span.end_line, closes=True))
    return lines


def _where(expr: ast.Expr | None) -> str:
    return f" where {expr_text(expr)}" if expr is not None else ""


# The keyword parts of headers and timings are lowered to the plan's form and spelled by plan.text, the renderer
# diff and graph use; conditions stay printed from the AST, because their normal form is not the source.


def trigger_text(t: ast.Trigger) -> str:
    header = text.trigger(lower.trigger(replace(t, where=None)))
    if isinstance(t, ast.DateTrigger) and not t.attribute.startswith("customer."):
        header = header.replace(f"customer.{t.attribute}", t.attribute, 1)  # a wrong spelling stays as written (E204)
    return header + _where(t.where)


def goal_text(g: ast.Goal) -> str:
    return "goal " + text.goal(lower.goal(replace(g, where=None))) + _where(g.where)


def stop_text(e: ast.ExitRule) -> str:
    if e.event is None:
        return f"stop when {expr_text(e.condition)}"
    return "stop " + text.stop(lower.stop(replace(e, condition=None))) + _where(e.condition)


def reentry_text(r: ast.Reentry) -> str:
    return text.reentry(lower.reentry(r))


def timing_text(t: ast.Timing) -> str:
    return text.timing(lower.timing(t) or {})


def _steps(steps: tuple[ast.Step, ...], depth: int, where: SourcePositions) -> list[Line]:
    lines: list[Line] = []
    for step in steps:
        lines.extend(_step(step, depth, where))
    return lines


def _step(step: ast.Step, depth: int, where: SourcePositions) -> list[Line]:
    pad = INDENT * depth
    label = "" if step_id(None, step.action) == step.id else f"@{step.id} "
    action = step.action
    whole = _whole(step.span)
    if isinstance(action, ast.Wait) and action.event is None:
        return [Line(f"{pad}{label}{text.wait(lower.timing(step.delay or ast.Timing()))}", depth, *whole)]
    prefix = ""
    if step.delay is not None:
        prefix = timing_text(step.delay)
    if step.guard is not None:
        prefix += (" " if prefix else "") + f"if {expr_text(step.guard)}"
    if prefix:
        prefix += ": "
    body = _action(action, depth, where)
    end = whole[1] if isinstance(action, (ast.Send, ast.Update, ast.Exit)) else 0
    body[0] = replace(body[0], text=f"{pad}{label}{prefix}{body[0].text}", start=whole[0], end=end)
    return body


def _block(
    header: str, steps: tuple[ast.Step, ...], depth: int, lines: tuple[int, int], where: SourcePositions
) -> list[Line]:
    """``header {`` steps ``}``; ``lines`` are the source lines of the header and of the closing brace."""
    pad = INDENT * depth
    if not steps:
        return [Line(f"{header} {{ }}", depth, lines[0])]
    return [
        Line(f"{header} {{", depth, lines[0]),
        *_steps(steps, depth + 1, where),
        Line(f"{pad}}}", depth, lines[1], closes=True),
    ]


def _action(action: ast.Action, depth: int, where: SourcePositions) -> list[Line]:
    """The action's lines; the first is bare (the step adds indentation, label and timing)."""
    pad = INDENT * depth
    if isinstance(action, ast.Send):
        text = f"send {action.channel} {action.template}"
        if action.fallback:
            text += f" fallback {', '.join(action.fallback)}"
        if action.params:
            text += " with { " + ", ".join(f"{p.name} = {literal_value_text(p.value)}" for p in action.params) + " }"
        return [Line(text, depth)]
    if isinstance(action, ast.Update):
        ops = [f"set {a.attribute} = {literal_value_text(a.value)}" for a in action.assignments]
        ops += [f"tag {_q(t)}" for t in action.add_tags]
        ops += [f"untag {_q(t)}" for t in action.remove_tags]
        return [Line("update " + ", ".join(ops), depth)]
    if isinstance(action, ast.Exit):
        return [Line("exit" + (f" {_q(action.reason)}" if action.reason is not None else ""), depth)]
    if isinstance(action, ast.Wait):
        return _wait_for(action, depth, where)
    if isinstance(action, ast.Branch):
        return _branch(action, depth, where)
    assert isinstance(action, ast.Split)
    lines = [Line("split {", depth, action.span.line)]
    for variant in action.variants:
        header = f"{INDENT * (depth + 1)}variant {variant.name} {variant.weight}"
        lines.extend(_block(header, variant.steps, depth + 1, _whole(variant.span), where))
    lines.append(Line(f"{pad}}}", depth, action.span.end_line, closes=True))
    return lines


def _wait_for(action: ast.Wait, depth: int, where: SourcePositions) -> list[Line]:
    same = f" same {action.same}" if action.same else ""
    head = f"wait for {action.event}{same}{_where(action.where)}"
    if action.timeout is not None:
        head += f" timeout {action.timeout}"
    lines = [Line(head + " {", depth, action.span.line)]
    inner = INDENT * (depth + 1)
    blocks = where.blocks.get((action.span.line, action.span.column), {})
    if action.on_event:
        lines.extend(_block(f"{inner}on event", action.on_event, depth + 1, blocks.get("on_event", (0, 0)), where))
    if action.on_timeout:
        on_timeout = blocks.get("on_timeout", (0, 0))
        lines.extend(_block(f"{inner}on timeout", action.on_timeout, depth + 1, on_timeout, where))
    lines.append(Line(f"{INDENT * depth}}}", depth, action.span.end_line, closes=True))
    return lines


def _branch(action: ast.Branch, depth: int, where: SourcePositions) -> list[Line]:
    lines: list[Line] = []
    for index, arm in enumerate(action.arms):
        if arm.condition is None:
            keyword = "else"
        else:
            keyword = ("if " if index == 0 else "elif ") + expr_text(arm.condition)
        # an arm's closing brace sits just before the next arm's keyword (or ends the branch)
        closing = action.arms[index + 1].span.line if index + 1 < len(action.arms) else action.span.end_line
        block = _block(keyword, arm.steps, depth, (arm.span.line, closing), where)
        if lines:  # "} elif ... {" on one line: it closes the previous arm
            previous = lines[-1]
            start = min(n for n in (previous.start, block[0].start) if n) if previous.start or block[0].start else 0
            lines[-1] = replace(previous, text=f"{previous.text} {block[0].text}", start=start)
            lines.extend(block[1:])
        else:
            lines.extend(block)
    return lines


# ---------------------------------------------------------------- conditions

_PRECEDENCE = {ast.Or: 1, ast.And: 2, ast.Not: 3, ast.Compare: 4, ast.InList: 4, ast.Between: 4, ast.IsNull: 4}
_SUM, _PRODUCT, _ATOM = 5, 6, 7  # an operand is a sum at least; arithmetic levels below the atoms


def _prec(expr: ast.Expr) -> int:
    if isinstance(expr, ast.Arith):
        return _SUM if expr.op in "+-" else _PRODUCT
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
        args = [expr_text(a) for a in expr.args]
        args += [f"{k.name}: {expr_text(k.value)}" for k in expr.keywords]
        return f"{expr.name}({', '.join(args)})"
    if isinstance(expr, ast.Arith):
        # left-associative: only a right operand of the same level keeps its parentheses (a - (b - c))
        level = _prec(expr)
        return f"{_wrap(expr.left, level)} {expr.op} {_wrap(expr.right, level + 1)}"
    if isinstance(expr, ast.Or):
        return " or ".join(_wrap(i, 2) for i in expr.items)
    if isinstance(expr, ast.And):
        return " and ".join(_wrap(i, 3) for i in expr.items)
    if isinstance(expr, ast.Not):
        return f"not {_wrap(expr.operand, 3)}"
    # predicates take operands, so arithmetic needs no parentheses, anything else compound does
    if isinstance(expr, ast.Compare):
        return f"{_wrap(expr.left, _SUM)} {expr.op} {_wrap(expr.right, _SUM)}"
    if isinstance(expr, ast.InList):
        items = ", ".join(_wrap(i, _SUM) for i in expr.items)
        return f"{_wrap(expr.operand, _SUM)} {'not in' if expr.negated else 'in'} [{items}]"
    if isinstance(expr, ast.Between):
        keyword = "not between" if expr.negated else "between"
        return f"{_wrap(expr.operand, _SUM)} {keyword} {_wrap(expr.low, _SUM)} and {_wrap(expr.high, _SUM)}"
    assert isinstance(expr, ast.IsNull)
    return f"{_wrap(expr.operand, _SUM)} is {'not ' if expr.negated else ''}null"
