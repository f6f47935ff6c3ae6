"""One plan scenario as a format-neutral diagram: boxes with lines of text, and labelled edges.

Box ids are synthetic (``n1`` … in plan order, ``g1`` … for guards, ``entry``, ``done``, ``rules``) so that no step id,
Japanese or otherwise, ever has to be spelled as a Mermaid or DOT identifier. The layout follows the plan:

* ``entry`` shows the trigger; an edge into a step carries the step's timing (``day 7 at 10:00``);
* a guarded step is entered through a ``guard`` diamond: ``if …`` into the step, a dashed ``else: skip`` past it;
* branch arms are ``if …`` / ``else`` edges (an implicit ``else`` when no arm has one), split variants
  ``name 50%``, waits for an event ``event`` / ``timeout``;
* an exit step is an end box; ``next: null`` anywhere else leads to the one ``done`` box (completed);
* ``rules`` is a side note with kind, goals, stop rules, re-entry, holdout and backfill.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.review import graph_text as words

Json = dict[str, Any]
WRAP = 52  # display columns (a Japanese character counts two)


@dataclass(frozen=True)
class Box:
    id: str
    shape: str  # entry send update wait branch split guard exit done note
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: tuple[str, ...] = ()
    dashed: bool = False


@dataclass(frozen=True)
class Diagram:
    name: str
    title: str
    boxes: tuple[Box, ...]
    edges: tuple[Edge, ...]


class PlanShapeError(ValueError):
    """The scenario entry is not shaped like a compiled plan scenario (a missing or dangling reference)."""


def build(scenario: Json) -> Diagram:
    """The diagram of one plan scenario (an entry of ``plan["scenarios"]``)."""
    return _Builder(scenario).diagram()


# --------------------------------------------------------------------------- text wrapping


def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


# A line may break before these words, or after a comma, when outside brackets and quotes.
_BREAK_WORDS = ("(fallback", "where", "and", "or", "with", "same", "within", "timeout")


def _phrases(text: str) -> list[str]:
    """Split at the spaces where a line may break: before a break word or after a comma, at bracket depth 0."""
    phrases: list[str] = []
    depth, quoted, start = 0, False, 0
    for index, char in enumerate(text):
        if char == '"' and (index == 0 or text[index - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char in "([{":
            depth += 1
        elif not quoted and char in ")]}":
            depth = max(0, depth - 1)
        elif char == " " and not quoted and depth == 0 and index > start:
            following = text[index + 1 :].split(" ", 1)[0]
            if following in _BREAK_WORDS or text[index - 1] == ",":
                phrases.append(text[start:index])
                start = index + 1
    phrases.append(text[start:])
    return phrases


def wrap(text: str, width: int = WRAP) -> list[str]:
    """Pack phrases (``where …``, ``and …``, ``(fallback …)``) into lines of about ``width`` display columns."""
    lines: list[str] = []
    current = ""
    for phrase in _phrases(" ".join(text.splitlines())):
        candidate = f"{current} {phrase}" if current else phrase
        if _columns(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        # a phrase a little too wide stays whole (a list, a call); a longer one is wrapped at spaces
        *full, current = [phrase] if _columns(phrase) <= width * 3 // 2 else _wrap_words(phrase, width)
        lines.extend(full)
    lines.append(current)
    return lines


def _columns(text: str) -> int:
    return sum(map(_width, text))


def _wrap_words(text: str, width: int) -> list[str]:
    """Greedy wrap at spaces; a word wider than a line (Japanese has no spaces) is cut between characters."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if _columns(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for char in word:
            if current and _columns(current + char) > width:
                lines.append(current)
                current = ""
            current += char
    lines.append(current)
    return lines


def _wrapped(*texts: str) -> tuple[str, ...]:
    return tuple(line for text in texts for line in wrap(text))


# --------------------------------------------------------------------------- building


@dataclass
class _Builder:
    scenario: Json
    boxes: list[Box] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    needs_done: bool = False

    def __post_init__(self) -> None:
        nodes = self.scenario.get("nodes") or []
        self.nodes: dict[str, Json] = {node["id"]: node for node in nodes}
        self.box_of = {node["id"]: f"n{index}" for index, node in enumerate(nodes, 1)}
        self.guard_of = {node["id"]: f"g{index}" for index, node in enumerate(nodes, 1) if node.get("guard")}

    def diagram(self) -> Diagram:
        trigger = words.trigger_text(self.scenario.get("trigger") or {})
        self.boxes.append(Box("entry", "entry", _wrapped(f"when {trigger}")))
        self._edge("entry", self.scenario.get("start"))
        for node in self.scenario.get("nodes") or []:
            self._node(node)
        if self.needs_done:
            self.boxes.append(Box("done", "done", ("completed",)))
        self.boxes.append(Box("rules", "note", _wrapped(*words.rules_lines(self.scenario))))
        return Diagram(str(self.scenario.get("id")), _title(self.scenario), tuple(self.boxes), tuple(self.edges))

    def _edge(self, source: str, step: str | None, label: tuple[str, ...] = (), *, dashed: bool = False) -> None:
        """An edge into ``step`` (its guard, if it has one), labelled with the step's timing; None is completion."""
        if step is None:
            self.needs_done = True
            self.edges.append(Edge(source, "done", label, dashed))
            return
        node = self.nodes.get(step)
        if node is None:
            raise PlanShapeError(
                tr(
                    "scenario {scenario}: a node points to unknown step '{step}'",
                    scenario=self.scenario.get("id"),
                    step=step,
                )
            )
        timing = node.get("timing")
        if timing and not _is_timed_wait(node):
            label = (*label, *_wrapped(words.timing_text(timing)))
        self.edges.append(Edge(source, self.guard_of.get(step) or self.box_of[step], label, dashed))

    def _node(self, node: Json) -> None:
        step, box = node["id"], self.box_of[node["id"]]
        if step in self.guard_of:
            guard = self.guard_of[step]
            self.boxes.append(Box(guard, "guard", ("guard",)))
            self.edges.append(Edge(guard, box, _wrapped(f"if {words.condition_text(node['guard'])}")))
            self._edge(guard, node.get("next"), ("else: skip",), dashed=True)
        shape, action = _describe(node)
        self.boxes.append(Box(box, shape, (step, *action)))
        self._outgoing(node, box)

    def _outgoing(self, node: Json, box: str) -> None:
        kind = node.get("kind")
        if kind == "exit":
            return
        if kind == "branch":
            arms = node.get("arms") or []
            for arm in arms:
                condition = arm.get("condition")
                label = _wrapped(f"if {words.condition_text(condition)}") if condition is not None else ("else",)
                self._edge(box, arm.get("next"), label)
            if all(arm.get("condition") is not None for arm in arms):
                self._edge(box, node.get("next"), ("else",))
        elif kind == "split":
            variants = node.get("variants") or []
            shares = words.percentages([v.get("weight") or 0 for v in variants])
            for variant, share in zip(variants, shares, strict=True):
                self._edge(box, variant.get("next"), (f"{variant.get('name')} {share}",))
        elif kind == "wait" and node.get("event"):
            self._edge(box, node.get("on_event", node.get("next")), ("event",))
            self._edge(box, node.get("on_timeout", node.get("next")), ("timeout",))
        else:
            self._edge(box, node.get("next"))


def _is_timed_wait(node: Json) -> bool:
    return node.get("kind") == "wait" and not node.get("event")


def _describe(node: Json) -> tuple[str, tuple[str, ...]]:
    """The box shape of a step and the lines saying what it does."""
    kind = node.get("kind")
    if kind == "send":
        params = words.params_text(node.get("params"))
        return "send", _wrapped(words.send_text(node), *([f"with {params}"] if params else []))
    if kind == "update":
        return "update", _wrapped(words.update_text(node))
    if kind == "exit":
        return "exit", _wrapped(words.exit_text(node))
    if kind == "wait":
        text = words.wait_event_text(node) if node.get("event") else words.wait_text(node.get("timing"))
        return "wait", _wrapped(text)
    if kind in ("branch", "split"):
        return str(kind), (str(kind),)
    return "send", (str(kind),)


def _title(scenario: Json) -> str:
    sid, title = str(scenario.get("id")), " ".join(str(scenario.get("title") or "").splitlines())
    return f"{title} ({sid})" if title and title != sid else sid
