"""Before/after flow diagrams of a changed scenario, with what changed highlighted (Mermaid classes).

A step's change records say which boxes to mark: a step added is green in the after diagram, a step removed red
in the before diagram, a step otherwise changed (timing, channel, guard, moved …) amber in both; a changed trigger
or entry condition marks the entry, any other scenario-level change (goals, stop rules, holdout …) the side note.
When the two diagrams would be the same, one is shown with a sentence saying so.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.review.diff_model import ADDED, CHANGED, REMOVED, Change

Json = dict[str, Any]
Draw = Callable[[Json, Mapping[str, str]], str]
_ENTRY_KINDS = {"trigger", "trigger_where"}
_NOT_IN_DIAGRAM = {"priority"}  # the flow diagram does not show a scenario's rank


def load_mermaid() -> Draw | None:
    """``ecrm_dsl.review.graph.mermaid(scenario, marks) -> str``, when that module is installed."""
    try:
        module = importlib.import_module("ecrm_dsl.review.graph")
    except ImportError:
        return None
    function = getattr(module, "mermaid", None)
    return function if callable(function) else None


def marks(changes: list[Change]) -> tuple[dict[str, str], dict[str, str]]:
    """The boxes to highlight in the before diagram and in the after diagram."""
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for change in changes:
        if change.kind in _NOT_IN_DIAGRAM:
            continue
        if change.kind == "step_added" and change.step:
            after[change.step] = ADDED
        elif change.kind == "step_removed" and change.step:
            before[change.step] = REMOVED
        else:
            box = change.step or ("entry" if change.kind in _ENTRY_KINDS else "rules")
            before.setdefault(box, CHANGED)
            after.setdefault(box, CHANGED)
    return before, after


def diagrams(draw: Draw, old: Json | None, new: Json | None, state: str, changes: list[Change]) -> list[str]:
    """Markdown lines: ``Before:`` and ``After:`` fenced diagrams, or one when the flow did not change."""
    if state != CHANGED or old is None or new is None:
        shown = _drawn(draw, new, {}) if new is not None else None
        return _fenced(tr("Flow:"), shown) if shown else []
    before_marks, after_marks = marks(changes)
    plain_before, plain_after = _drawn(draw, old, {}), _drawn(draw, new, {})
    if plain_before is not None and plain_before == plain_after:
        return _fenced(tr("The flow did not change:"), plain_after)
    before, after = _drawn(draw, old, before_marks), _drawn(draw, new, after_marks)
    return _fenced(tr("Before:"), before) + _fenced(tr("After:"), after)


def _drawn(draw: Draw, scenario: Json | None, highlight: Mapping[str, str]) -> str | None:
    if scenario is None:
        return None
    try:
        return draw(scenario, highlight).rstrip("\n")
    except Exception:  # a diagram is a nicety; the diff must still be posted without it
        return None


def _fenced(label: str, diagram: str | None) -> list[str]:
    if diagram is None:
        return []
    if not diagram.startswith("```"):
        fence = "```"
        while fence in diagram:
            fence += "`"
        diagram = f"{fence}mermaid\n{diagram}\n{fence}"
    return ["", label, "", diagram]
