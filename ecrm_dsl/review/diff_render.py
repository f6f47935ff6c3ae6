"""A :class:`PlanDiff` as text (terminal, CI logs), JSON (scripts) or Markdown (a pull-request comment).

All three open with the one-line summary. Text and Markdown group the changes by scenario, then segments,
templates, policies and the customer schema; JSON lists the change records in the same order.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

from ecrm_dsl.review.diff_model import (
    ADDED,
    CHANGED,
    REMOVED,
    Change,
    Code,
    Count,
    Message,
    PlanDiff,
    ScenarioImpact,
    plain,
)
from ecrm_dsl.simulate.summary import render_coupons

JSON_FORMAT, JSON_VERSION = "ecrm-diff", 1
_SECTIONS = (
    ("scenario", "Scenarios"),
    ("segment", "Segments"),
    ("template", "Templates"),
    ("policies", "Policies"),
    ("schema", "Customer schema"),
)

Json = dict[str, Any]


# --------------------------------------------------------------------------- shared wording


def _number(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def count_text(count: Count) -> str:
    if count.before is None or count.after is None:
        return f"audience: {_number(count.before)} → {_number(count.after)} customers — {count.note or count.basis}"
    delta = count.after - count.before
    sign = "+" if delta > 0 else ("±" if delta == 0 else "−")
    return f"audience: {count.before:,} → {count.after:,} customers ({sign}{abs(delta):,}) — {count.basis}"


def impact_lines(diff: PlanDiff, subject: str, state: str) -> list[Message]:
    """The impact of one scenario's changes, as messages (empty without a store)."""
    if diff.impact is None or subject not in diff.impact.scenarios:
        return []
    found: ScenarioImpact = diff.impact.scenarios[subject]
    lines: list[Message] = []
    if found.in_flight or state != ADDED:
        people = f"{found.in_flight:,} customer{'s' if found.in_flight != 1 else ''}" if found.in_flight else "none"
        message: Message = (f"enrolled now: {people}",)
        for index, (step, n) in enumerate(sorted(found.at_steps.items())):
            message += ("; " if index else " — waiting at changed steps: ", Code(step), f" {n:,}")
        lines.append(message)
    if state == REMOVED and found.in_flight:
        lines.append(("they finish on the removed version only with ", Code("ecrm deploy --in-flight keep")))
    removed = {c.step for c in diff.changes_of("scenario", subject) if c.kind == "step_removed" and c.step is not None}
    for step in sorted(removed & set(found.at_steps)):
        lines.append(
            (
                f"{found.at_steps[step]:,} wait at removed step ",
                Code(step),
                ": deploy with ",
                Code("--in-flight keep"),
                " or map it: ",
                Code(f"--map {subject}.{step}=NEW_STEP"),
            )
        )
    if found.audience is not None:
        lines.append((count_text(found.audience),))
    if found.power is not None:
        lines.append((f"power (replay of the last {diff.impact.power_span}): {found.power['sentence']}",))
    return lines


def shared_notes(diff: PlanDiff, scope: str, subject: str) -> list[Message]:
    """The impact of a segment or template change: audience sizes, customers about to get the new content."""
    if diff.impact is None:
        return []
    if scope == "segment" and subject in diff.impact.segments:
        return [(count_text(diff.impact.segments[subject]),)]
    if scope == "template" and subject in diff.impact.templates:
        waiting = diff.impact.templates[subject]
        if not waiting:
            return [("no customers wait at a step that sends it",)]
        message: Message = ("waiting at steps that send it: ",)
        for index, (step, n) in enumerate(sorted(waiting.items())):
            message += ("; " if index else "", Code(step), f" {n:,}")
        return [message]
    return []


def _used_by(diff: PlanDiff, scope: str, subject: str) -> list[str]:
    return diff.used_by.get((scope, subject), [])


# --------------------------------------------------------------------------- text


def render_text(diff: PlanDiff) -> str:
    lines = [diff.summary(), "", f"{diff.base_label} → {diff.head_label}"]
    if diff.impact is not None:
        lines.append(f"impact from store {diff.impact.store} at {diff.impact.now}")
        lines.extend(render_coupons(diff.impact.coupons))
    for scope, title in _SECTIONS:
        for subject, state in diff.subjects(scope):
            lines.append("")
            lines.append(
                f"{title.lower()}: {state}" if scope in ("policies", "schema") else f"{scope} {subject}: {state}"
            )
            for change in diff.changes_of(scope, subject):
                lines.append(f"  - {change.text}")
                lines.extend(f"      {line}" for line in change.detail)
            users = _used_by(diff, scope, subject)
            if scope in ("segment", "template") and users:
                lines.append(f"  {'was used' if state == REMOVED else 'used'} by: {', '.join(users)}")
            notes = impact_lines(diff, subject, state) if scope == "scenario" else shared_notes(diff, scope, subject)
            lines.extend(f"  {plain(message)}" for message in notes)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- JSON


def render_json(diff: PlanDiff) -> str:
    # Not key-sorted: a record reads scope, subject, step, kind, before, after, message in that order.
    return json.dumps(diff_json(diff), ensure_ascii=False, indent=2) + "\n"


def diff_json(diff: PlanDiff) -> Json:
    impact = None
    if diff.impact is not None:
        impact = {
            "store": diff.impact.store,
            "now": diff.impact.now,
            "scenarios": {
                sid: {
                    "in_flight": s.in_flight,
                    "at_steps": s.at_steps,
                    "audience": _count_json(s.audience),
                    **({"power": s.power} if s.power is not None else {}),
                }
                for sid, s in diff.impact.scenarios.items()
            },
            "segments": {name: _count_json(c) for name, c in diff.impact.segments.items()},
            "templates": {name: waiting for name, waiting in diff.impact.templates.items()},
            **({"power_span": diff.impact.power_span} if diff.impact.power_span else {}),
            **({"coupons": diff.impact.coupons} if diff.impact.coupons else {}),
        }
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "base": diff.base_label,
        "head": diff.head_label,
        "changed": diff.changed,
        "summary": diff.summary(),
        "subjects": [
            {"scope": scope, "name": subject, "status": state, "used_by": _used_by(diff, scope, subject)}
            for (scope, subject), state in diff.status.items()
        ],
        "changes": [c.record() for c in diff.changes],
        "impact": impact,
    }


def _count_json(count: Count | None) -> Json | None:
    if count is None:
        return None
    return {"before": count.before, "after": count.after, "basis": count.basis, "note": count.note}


# --------------------------------------------------------------------------- Markdown


_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|"})


def md(message: Message) -> str:
    """Prose escaped, source text in code spans."""
    return "".join(_code(p) if isinstance(p, Code) else p.translate(_MD_SPECIAL) for p in message)


def _code(text: str) -> str:
    text = text.replace("\n", " ")
    if "`" not in text:
        return f"`{text}`"
    return f"`` {text} ``"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def load_mermaid() -> Callable[[Json], str] | None:
    """``ecrm_dsl.review.graph.mermaid(scenario) -> str``, when that module is installed."""
    try:
        module = importlib.import_module("ecrm_dsl.review.graph")
    except ImportError:
        return None
    function = getattr(module, "mermaid", None)
    return function if callable(function) else None


def render_markdown(diff: PlanDiff, base: Json, head: Json, *, mermaid: bool = True) -> str:
    draw = load_mermaid() if mermaid else None
    lines = [f"### ecrm diff: {_html(diff.summary())}", "", f"{_code(diff.base_label)} → {_code(diff.head_label)}"]
    if diff.impact is not None:
        lines += ["", f"Impact counted in store {_code(diff.impact.store)} at {_code(diff.impact.now)}."]
        lines += [f"- {_html(line)}" for line in render_coupons(diff.impact.coupons)]
    old_by = {s["id"]: s for s in base.get("scenarios", [])}
    new_by = {s["id"]: s for s in head.get("scenarios", [])}
    scenarios = diff.subjects("scenario")
    if scenarios:
        lines += ["", "#### Scenarios"]
    for subject, state in scenarios:
        changes = diff.changes_of("scenario", subject)
        extra = ""
        if diff.impact is not None and subject in diff.impact.scenarios:
            extra = f" · {diff.impact.scenarios[subject].in_flight:,} enrolled now"
        count = f": {len(changes)} change{'s' if len(changes) != 1 else ''}" if state == CHANGED else ""
        lines += ["", "<details>", f"<summary><code>{_html(subject)}</code> — {state}{count}{extra}</summary>", ""]
        lines += _bullets(changes)
        notes = impact_lines(diff, subject, state)
        if notes:
            lines += ["", "**Impact**", ""] + [f"- {md(m)}" for m in notes]
        if draw is not None:
            lines += _diagrams(draw, old_by.get(subject), new_by.get(subject), state)
        lines += ["", "</details>"]
    for scope, title in _SECTIONS[1:]:
        subjects = diff.subjects(scope)
        if not subjects:
            continue
        lines += ["", f"#### {title}", ""]
        for subject, state in subjects:
            if scope in ("segment", "template"):
                users = _used_by(diff, scope, subject)
                verb = "was used" if state == REMOVED else "used"
                used = f" ({verb} by {', '.join(_code(u) for u in users)})" if users else ""
                lines.append(f"- {_code(subject)} — {state}{used}")
                lines += [f"  {line}" for line in _bullets(diff.changes_of(scope, subject))]
                lines += [f"  - {md(message)}" for message in shared_notes(diff, scope, subject)]
            else:
                lines += _bullets(diff.changes_of(scope, subject))
    return "\n".join(lines) + "\n"


def _bullets(changes: list[Change]) -> list[str]:
    lines = []
    for change in changes:
        lines.append(f"- {md(change.message)}")
        if change.detail:
            fence = "~~~~" if any("```" in d for d in change.detail) else "```"
            lines += [f"  {fence}diff", *(f"  {d}" for d in change.detail), f"  {fence}"]
    return lines


def _diagrams(draw: Callable[[Json], str], old: Json | None, new: Json | None, state: str) -> list[str]:
    shown = [("Before", old), ("After", new)] if state == "changed" else [("Flow", new)] if new else []
    lines: list[str] = []
    for label, scenario in shown:
        if scenario is None:
            continue
        try:
            diagram = draw(scenario).rstrip("\n")
        except Exception:  # a diagram is a nicety; the diff must still be posted without it
            continue
        if not diagram.startswith("```"):
            fence = "```"
            while fence in diagram:
                fence += "`"
            diagram = f"{fence}mermaid\n{diagram}\n{fence}"
        lines += ["", f"{label}:", "", diagram]
    return lines
