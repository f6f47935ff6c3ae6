"""A :class:`PlanDiff` as text (terminal, CI logs) or JSON (scripts), and the wording both share with the
Markdown of :mod:`.diff_markdown` (a pull-request comment).

All open with the one-line summary. Text and Markdown group the changes by scenario, then segments, templates,
presets, policies, the customer schema, the project configuration and files; JSON lists the records in that order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ecrm_dsl.language.i18n import lookup, n_, tr, trn
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
    say,
    state_word,
)
from ecrm_dsl.simulate.summary import render_coupons

JSON_FORMAT, JSON_VERSION = "ecrm-diff", 1
SECTIONS = (  # English; said with lookup()
    ("scenario", n_("Scenarios")),
    ("segment", n_("Segments")),
    ("template", n_("Templates")),
    ("preset", n_("Presets")),
    ("policies", n_("Policies")),
    ("schema", n_("Customer schema")),
    ("config", n_("Project configuration")),
)
WHOLE = ("policies", "schema", "config")  # one subject each, named by the section
UNUSED = n_("unused: no scenario refers to it")
_FILE_MARKS = {ADDED: "+", REMOVED: "-", RENAMED: "→"}

Json = dict[str, Any]


# --------------------------------------------------------------------------- shared wording


def _number(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def count_text(count: Count) -> str:
    if count.before is None or count.after is None:
        return tr(
            "audience: {before} → {after} customers — {basis}",
            before=_number(count.before),
            after=_number(count.after),
            basis=count.note or lookup(count.basis),
        )
    delta = count.after - count.before
    sign = "+" if delta > 0 else ("±" if delta == 0 else "−")
    return tr(
        "audience: {before} → {after} customers ({delta}) — {basis}",
        before=f"{count.before:,}",
        after=f"{count.after:,}",
        delta=f"{sign}{abs(delta):,}",
        basis=lookup(count.basis),
    )


def impact_lines(diff: PlanDiff, subject: str, state: str) -> list[Message]:
    """The impact of one scenario's changes, as messages (empty without a store)."""
    if diff.impact is None or subject not in diff.impact.scenarios:
        return []
    found: ScenarioImpact = diff.impact.scenarios[subject]
    lines: list[Message] = []
    if found.in_flight or state != ADDED:
        n = found.in_flight
        people = trn("{count} customer", "{count} customers", n, count=f"{n:,}") if n else tr("none")
        if found.at_steps:
            said = n_("enrolled now: {people} — waiting at changed steps: {steps}")
            lines.append(say(said, people=(people,), steps=_waiting(found.at_steps)))
        else:
            lines.append((tr("enrolled now: {people}", people=people),))
    if state == REMOVED and found.in_flight:
        said = n_("they finish on the removed version only with {command}")
        lines.append(say(said, command="ecrm deploy --in-flight keep"))
    removed = {c.step for c in diff.changes_of("scenario", subject) if c.kind == "step_removed" and c.step is not None}
    for step in sorted(removed & set(found.at_steps)):
        said = n_("{count} wait at removed step {step}: deploy with {keep} or map it: {map}")
        count = (f"{found.at_steps[step]:,}",)
        lines.append(say(said, count=count, step=step, keep="--in-flight keep", map=f"--map {subject}.{step}=NEW_STEP"))
    if found.audience is not None:
        lines.append((count_text(found.audience),))
    if found.power is not None:
        span, sentence = diff.impact.power_span, found.power["sentence"]
        lines.append((tr("power (replay of the last {span}): {sentence}", span=span, sentence=sentence),))
    return lines


def _waiting(at_steps: dict[str, int]) -> Message:
    """``step 3; other 1``, the steps in code type."""
    pieces: list[str] = []
    for index, (step, n) in enumerate(sorted(at_steps.items())):
        pieces += [*(["; "] if index else []), Code(step), f" {n:,}"]
    return tuple(pieces)


def shared_notes(diff: PlanDiff, scope: str, subject: str) -> list[Message]:
    """The impact of a segment or template change: audience sizes, customers about to get the new content."""
    if diff.impact is None:
        return []
    if scope == "segment" and subject in diff.impact.segments:
        return [(count_text(diff.impact.segments[subject]),)]
    if scope == "template" and subject in diff.impact.templates:
        waiting = diff.impact.templates[subject]
        if not waiting:
            return [(tr("no customers wait at a step that sends it"),)]
        return [say(n_("waiting at steps that send it: {steps}"), steps=_waiting(waiting))]
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
        if shown and len(users) > shown:
            names = tr("{names} and {count} more", names=names, count=f"{len(users) - shown:,}")
        return tr("was used by: {names}", names=names) if state == REMOVED else tr("used by: {names}", names=names)
    if not diff.projects:
        return None
    if scope == "segment" and subject in diff.nurture_only:
        return tr("{unused}; the policies name it in nurture_only", unused=lookup(UNUSED))
    return lookup(UNUSED)


def file_line(change: FileChange) -> str:
    moved = tr(" (was {path})", path=change.renamed_from) if change.renamed_from else ""
    defines = f" — {', '.join(change.defines)}" if change.defines else ""
    return f"{_FILE_MARKS[change.state]} {change.path}{moved}{defines}"


# --------------------------------------------------------------------------- text


def render_text(diff: PlanDiff) -> str:
    lines = [diff.summary(), "", f"{diff.base_label} → {diff.head_label}"]
    if diff.impact is not None:
        lines.append(tr("impact from store {store} at {now}", store=diff.impact.store, now=diff.impact.now))
        lines.extend(render_coupons(diff.impact.coupons))
    for scope, _title in SECTIONS:
        for subject, state in diff.subjects(scope):
            lines.append("")
            lines.append(_HEADINGS[scope](subject, state_word(state)))
            for change in diff.changes_of(scope, subject):
                lines.append(f"  - {change.text}")
                lines.extend(f"      {line}" for line in change.detail)
            usage = usage_line(diff, scope, subject, state)
            if usage:
                lines.append(f"  {usage}")
            notes = impact_lines(diff, subject, state) if scope == "scenario" else shared_notes(diff, scope, subject)
            lines.extend(f"  {plain(message)}" for message in notes)
    if diff.files:
        lines += ["", tr("files: {summary}", summary=diff.files_summary(noun=False))]
        lines += [f"  {file_line(change)}" for change in diff.files]
    return "\n".join(lines) + "\n"


_HEADINGS: dict[str, Callable[[str, str], str]] = {
    "scenario": lambda name, state: tr("scenario {name}: {state}", name=name, state=state),
    "segment": lambda name, state: tr("segment {name}: {state}", name=name, state=state),
    "template": lambda name, state: tr("template {name}: {state}", name=name, state=state),
    "preset": lambda name, state: tr("preset {name}: {state}", name=name, state=state),
    "policies": lambda _name, state: tr("policies: {state}", state=state),
    "schema": lambda _name, state: tr("customer schema: {state}", state=state),
    "config": lambda _name, state: tr("project configuration: {state}", state=state),
}


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
