"""A :class:`PlanDiff` as text (terminal, CI logs) or JSON (scripts), and the wording both share with the
Markdown of :mod:`.diff_markdown` (a pull-request comment).

All open with the one-line summary. Text and Markdown group the changes by scenario, then segments, templates,
presets, policies, the customer schema, the project configuration and files; JSON lists the records in that order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ecrm_dsl.review.diff_model import (
    ADDED,
    NAMED,
    REMOVED,
    RENAMED,
    Code,
    Count,
    FileChange,
    Message,
    PlanDiff,
    ScenarioImpact,
    plain,
)
from ecrm_dsl.simulate.summary import render_coupons

JSON_FORMAT, JSON_VERSION = "ecrm-diff", 1
SECTIONS = (
    ("scenario", "Scenarios"),
    ("segment", "Segments"),
    ("template", "Templates"),
    ("preset", "Presets"),
    ("policies", "Policies"),
    ("schema", "Customer schema"),
    ("config", "Project configuration"),
)
WHOLE = ("policies", "schema", "config")  # one subject each, named by the section
UNUSED = "unused: no scenario refers to it"
_FILE_MARKS = {ADDED: "+", REMOVED: "-", RENAMED: "→"}

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


def usage_line(
    diff: PlanDiff, scope: str, subject: str, state: str, code: Callable[[str], str] = str, shown: int = 0
) -> str | None:
    """ "used by: a, b", or that no scenario uses it (said only when both sides were whole projects); with
    ``shown``, at most that many names and the number of the others."""
    if scope not in NAMED:
        return None
    users = _used_by(diff, scope, subject)
    if users:
        names = ", ".join(code(u) for u in (users[:shown] if shown else users))
        more = f" and {len(users) - shown:,} more" if shown and len(users) > shown else ""
        return f"{'was used' if state == REMOVED else 'used'} by: {names}{more}"
    if not diff.projects:
        return None
    if scope == "segment" and subject in diff.nurture_only:
        return f"{UNUSED}; the policies name it in nurture_only"
    return UNUSED


def file_line(change: FileChange) -> str:
    moved = f" (was {change.renamed_from})" if change.renamed_from else ""
    defines = f" — {', '.join(change.defines)}" if change.defines else ""
    return f"{_FILE_MARKS[change.state]} {change.path}{moved}{defines}"


# --------------------------------------------------------------------------- text


def render_text(diff: PlanDiff) -> str:
    lines = [diff.summary(), "", f"{diff.base_label} → {diff.head_label}"]
    if diff.impact is not None:
        lines.append(f"impact from store {diff.impact.store} at {diff.impact.now}")
        lines.extend(render_coupons(diff.impact.coupons))
    for scope, title in SECTIONS:
        for subject, state in diff.subjects(scope):
            lines.append("")
            lines.append(f"{title.lower()}: {state}" if scope in WHOLE else f"{scope} {subject}: {state}")
            for change in diff.changes_of(scope, subject):
                lines.append(f"  - {change.text}")
                lines.extend(f"      {line}" for line in change.detail)
            usage = usage_line(diff, scope, subject, state)
            if usage:
                lines.append(f"  {usage}")
            notes = impact_lines(diff, subject, state) if scope == "scenario" else shared_notes(diff, scope, subject)
            lines.extend(f"  {plain(message)}" for message in notes)
    if diff.files:
        lines += ["", f"files: {diff.files_summary(noun=False)}"]
        lines += [f"  {file_line(change)}" for change in diff.files]
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
        "files": [f.record() for f in diff.files],
        "impact": impact,
    }


def _count_json(count: Count | None) -> Json | None:
    if count is None:
        return None
    return {"before": count.before, "after": count.after, "basis": count.basis, "note": count.note}


# --------------------------------------------------------------------------- Markdown pieces


_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|"})


def md(message: Message) -> str:
    """Prose escaped, source text in code spans."""
    return "".join(code(p) if isinstance(p, Code) else p.translate(_MD_SPECIAL) for p in message)


def code(text: str) -> str:
    text = text.replace("\n", " ")
    if "`" not in text:
        return f"`{text}`"
    return f"`` {text} ``"


def html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
