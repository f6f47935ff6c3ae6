"""A :class:`PlanDiff` as a pull-request comment (GitHub Markdown) that stays under a size limit.

GitHub refuses a comment over 65,536 characters. Each scenario's details are folded in a ``<details>`` block;
when the whole still exceeds ``max_size`` characters (counted as GitHub counts them: characters, not bytes), the
least important parts go first, each step a level: the flow diagrams, then the per-change details (a scenario
becomes one line, a template's changed lines are left out), then whole subjects from the end. A quoted note says
what was cut and how to see everything. The output is a function of the diff alone: same input, same bytes.

The first line is a hidden marker, ``<!-- ecrm-diff -->``, by which a workflow finds its comment to update.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from ecrm_dsl.language.i18n import lookup, n_, tr, trn
from ecrm_dsl.review.diff_diagrams import Draw, diagrams, load_mermaid
from ecrm_dsl.review.diff_model import CHANGED, NAMED, Change, FileChange, PlanDiff, state_word
from ecrm_dsl.review.diff_render import (
    SECTIONS,
    WHOLE,
    code,
    html,
    impact_lines,
    md,
    shared_notes,
    usage_line,
)
from ecrm_dsl.review.diff_sources import WORKING_TREE
from ecrm_dsl.simulate.summary import render_coupons

Json = dict[str, Any]
MARKER = "<!-- ecrm-diff -->"
DEFAULT_MAX_SIZE = 60_000  # under GitHub's 65,536, with room for what a workflow wraps around it
USERS_SHOWN = 10  # scenarios named in "used by"; the rest are counted
MIN_MAX_SIZE = 2_000  # the summary, the note and a few subjects must fit
FULL, NO_DIAGRAMS, NO_DETAILS, TRUNCATED = range(4)  # each level leaves out more


@dataclass(frozen=True)
class Block:
    """One subject's lines at a level of detail, under a section heading."""

    heading: str
    lines: tuple[str, ...]


def render_markdown(
    diff: PlanDiff, base: Json, head: Json, *, mermaid: bool = True, max_size: int = DEFAULT_MAX_SIZE
) -> str:
    """The comment, at most ``max_size`` characters (0: no limit)."""
    draw = load_mermaid() if mermaid else None
    for level in (FULL, NO_DIAGRAMS, NO_DETAILS) if draw is not None else (NO_DIAGRAMS, NO_DETAILS):
        blocks = _blocks(diff, base, head, draw, level)
        text = _page(diff, blocks, _cut(level, draw is not None, len(blocks), len(blocks)))
        if not max_size or len(text) <= max_size:
            return text
    return _truncated(diff, _blocks(diff, base, head, None, NO_DETAILS), max_size, draw is not None)


def _cut(level: int, wanted_diagrams: bool, shown: int, total: int) -> str | None:
    """What a level leaves out, in words; None when nothing asked for is missing."""
    diagrams, details = level >= NO_DIAGRAMS and wanted_diagrams, level >= NO_DETAILS
    said = ""
    if diagrams and details:
        said = tr("the flow diagrams and the per-change details (each scenario is one line) are left out")
    elif diagrams:
        said = tr("the flow diagrams are left out")
    elif details:
        said = tr("the per-change details (each scenario is one line) are left out")
    if level == TRUNCATED:
        listed = tr(
            "only the first {shown} of {total} changed subjects are listed", shown=f"{shown:,}", total=f"{total:,}"
        )
        said = tr("{left_out}, and {listed}", left_out=said, listed=listed) if said else listed
    return said or None


def _page(diff: PlanDiff, blocks: list[Block], cut: str | None, tail: tuple[str, ...] = ()) -> str:
    lines = _head(diff)
    if cut is not None:
        lines += ["", *_note(diff, cut)]
    heading = None
    for block in blocks:
        if block.heading != heading:
            heading = block.heading
            # A <details> block opens with its own blank line (HTML blocks need it); list items follow directly.
            lines += ["", f"#### {lookup(heading)}"] + ([] if block.lines[:1] == ("",) else [""])
        lines += block.lines
    return "\n".join([*lines, *tail]) + "\n"


def _truncated(diff: PlanDiff, blocks: list[Block], max_size: int, wanted_diagrams: bool) -> str:
    """As many subjects as fit, in report order, then a line saying how many more there are."""
    for shown in range(len(blocks), -1, -1):
        tail = ("", tr("… and {count} more changed subjects, not shown here.", count=f"{len(blocks) - shown:,}"))
        cut = _cut(TRUNCATED, wanted_diagrams, shown, len(blocks))
        text = _page(diff, blocks[:shown], cut, tail)
        if len(text) <= max_size or shown == 0:
            return text
    raise AssertionError("unreachable")


def _head(diff: PlanDiff) -> list[str]:
    lines = [MARKER, f"### ecrm diff: {html(diff.summary())}", "", f"{code(diff.base_label)} → {code(diff.head_label)}"]
    if diff.impact is not None:
        store, now = code(diff.impact.store), code(diff.impact.now)
        lines += ["", tr("Impact counted in store {store} at {now}.", store=store, now=now)]
        lines += [f"- {html(line)}" for line in render_coupons(diff.impact.coupons)]
    return lines


def _note(diff: PlanDiff, cut: str) -> list[str]:
    command = " ".join(["ecrm diff", *_argument(diff.base_label), *_argument(diff.head_label)])
    return [
        "> [!NOTE]",
        "> "
        + tr(
            "Shortened to stay under GitHub's comment size limit: {cut}. Everything is in `{command} --format "
            "markdown --max-size 0 > full.md` (or the workflow's artifact).",
            cut=cut,
            command=command,
        ),
    ]


def _argument(label: str) -> list[str]:
    """What to type for a side: a revision's name without the commit shown after it; nothing for the work tree."""
    if label == WORKING_TREE:
        return []
    return [shlex.quote(label.split(" (", 1)[0])]


# --------------------------------------------------------------------------- subjects


def _blocks(diff: PlanDiff, base: Json, head: Json, draw: Draw | None, level: int) -> list[Block]:
    old_by = {s["id"]: s for s in base.get("scenarios", [])}
    new_by = {s["id"]: s for s in head.get("scenarios", [])}
    blocks = []
    for subject, state in diff.subjects("scenario"):
        lines = _scenario(diff, subject, state, level)
        if draw is not None and level == FULL:
            changes = diff.changes_of("scenario", subject)
            drawn = diagrams(draw, old_by.get(subject), new_by.get(subject), state, changes)
            lines = [*lines[:-2], *drawn, *lines[-2:]]  # inside the <details> block
        blocks.append(Block("Scenarios", tuple(lines)))
    for scope, title in SECTIONS[1:]:
        for subject, state in diff.subjects(scope):
            blocks.append(Block(title, tuple(_shared(diff, scope, subject, state, level))))
    if diff.files:
        blocks.append(Block(n_("Files"), tuple(_file(f) for f in diff.files)))
    return blocks


def _scenario(diff: PlanDiff, subject: str, state: str, level: int) -> list[str]:
    changes = diff.changes_of("scenario", subject)
    extra = ""
    if diff.impact is not None and subject in diff.impact.scenarios:
        extra = tr(" · {count} enrolled now", count=f"{diff.impact.scenarios[subject].in_flight:,}")
    n = len(changes)
    count = trn(": {count} change", ": {count} changes", n, count=n) if state == CHANGED else ""
    said = state_word(state)
    if level >= NO_DETAILS:
        return [f"- {code(subject)} — {said}{count}{extra}"]
    lines = ["", "<details>", f"<summary><code>{html(subject)}</code> — {said}{count}{extra}</summary>", ""]
    lines += _bullets(changes, level)
    notes = impact_lines(diff, subject, state)
    if notes:
        lines += ["", "**" + tr("Impact") + "**", ""] + [f"- {md(m)}" for m in notes]
    return [*lines, "", "</details>"]


def _shared(diff: PlanDiff, scope: str, subject: str, state: str, level: int) -> list[str]:
    if scope in WHOLE:
        return _bullets(diff.changes_of(scope, subject), level)
    usage = usage_line(diff, scope, subject, state, code, USERS_SHOWN) if scope in NAMED else None
    lines = [f"- {code(subject)} — {state_word(state)}{f' ({usage})' if usage else ''}"]
    lines += [f"  {line}" for line in _bullets(diff.changes_of(scope, subject), level)]
    lines += [f"  - {md(message)}" for message in shared_notes(diff, scope, subject)]
    return lines


def _bullets(changes: list[Change], level: int) -> list[str]:
    lines = []
    for change in changes:
        lines.append(f"- {md(change.message)}")
        if change.detail and level < NO_DETAILS:
            fence = "~~~~" if any("```" in d for d in change.detail) else "```"
            lines += [f"  {fence}diff", *(f"  {d}" for d in change.detail), f"  {fence}"]
    return lines


def _file(change: FileChange) -> str:
    moved = tr(" (was {path})", path=code(change.renamed_from)) if change.renamed_from else ""
    defines = f" — {html(', '.join(change.defines))}" if change.defines else ""
    return f"- {state_word(change.state)} {code(change.path)}{moved}{defines}"
