"""Where each step sits in a scenario's flow, recovered from the plan graph.

The plan is a graph (``next``, ``arms[].next``, ``variants[].next``, ``on_event``/``on_timeout``); reviewers
think in blocks: "the main flow", "the else arm of second_reminder". A :class:`Place` is a step's block and
the step before it there, so "moved" can mean "now comes after another step" or "moved into a branch arm".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecrm_dsl.language.i18n import lookup, n_
from ecrm_dsl.review import diff_words as words
from ecrm_dsl.review.diff_model import Code, Message, say

Json = dict[str, Any]
BlockKey = tuple[str, ...]  # () is the main flow; (parent, "arm", "0"), (parent, "variant", "a"), (parent, "on_event")
MAIN: BlockKey = ()
UNREACHABLE: BlockKey = ("<unreachable>",)


@dataclass(frozen=True)
class Place:
    block: BlockKey
    label: str  # the block in words: "the main flow", "branch second_reminder, else"
    after: str | None  # the step before it in the block; None when it is the block's first step

    def parts(self, with_block: bool | None = None) -> tuple[str, ...]:
        """``after X``, ``after X in branch b, else``, ``first in …``; the main flow is named only when asked."""
        block: Message = (Code(self.label),) if self.block != MAIN else (lookup(self.label),)
        if self.after is None:
            return say(n_("first in {block}"), block=block)
        if with_block if with_block is not None else self.block != MAIN:
            return say(n_("after {step} in {block}"), step=self.after, block=block)
        return say(n_("after {step}"), step=self.after)

    def text(self, with_block: bool | None = None) -> str:
        """The place in English, as the JSON records it."""
        if self.after is None:
            return f"first in {self.label}"
        if with_block if with_block is not None else self.block != MAIN:
            return f"after {self.after} in {self.label}"
        return f"after {self.after}"


@dataclass(frozen=True)
class Layout:
    places: dict[str, Place]
    blocks: dict[BlockKey, list[str]]


def layout(scenario: Json) -> Layout:
    nodes: dict[str, Json] = {n["id"]: n for n in scenario.get("nodes", [])}
    blocks: dict[BlockKey, list[str]] = {}
    labels: dict[BlockKey, str] = {}
    seen: set[str] = set()

    def walk(first: str | None, join: str | None, key: BlockKey, label: str) -> None:
        sequence = blocks.setdefault(key, [])
        labels[key] = label
        current = first
        while current is not None and current != join and current in nodes and current not in seen:
            seen.add(current)
            sequence.append(current)
            node = nodes[current]
            for sub_key, sub_label, target in _arms(node):
                walk(target, node.get("next"), sub_key, sub_label)
            current = node.get("next")

    walk(scenario.get("start"), None, MAIN, n_("the main flow"))
    # Steps no path reaches (after an exit) still exist; keep them so they are not reported as removed.
    for node_id in nodes:
        if node_id not in seen:
            blocks.setdefault(UNREACHABLE, []).append(node_id)
            labels[UNREACHABLE] = "the unreachable steps"
    places = {}
    for key, sequence in blocks.items():
        for index, node_id in enumerate(sequence):
            places[node_id] = Place(key, labels[key], sequence[index - 1] if index else None)
    return Layout(places, blocks)


def _arms(node: Json) -> list[tuple[BlockKey, str, str | None]]:
    node_id, kind = node["id"], node.get("kind")
    if kind == "branch":
        return [
            ((node_id, "arm", str(i)), f"branch {node_id}, {words.arm_label(arm, i)}", arm.get("next"))
            for i, arm in enumerate(node.get("arms", []))
        ]
    if kind == "split":
        return [
            ((node_id, "variant", v["name"]), f"split {node_id}, variant {v['name']}", v.get("next"))
            for v in node.get("variants", [])
        ]
    if kind == "wait" and node.get("event") is not None:
        return [
            ((node_id, "on_event"), f"{node_id}, on {node['event']}", node.get("on_event")),
            ((node_id, "on_timeout"), f"{node_id}, on timeout", node.get("on_timeout")),
        ]
    return []


def arm_mapping(old: Json, new: Json) -> dict[int, int]:
    """Old branch arm index → new index: arms with the same condition first, then the rest by position."""
    old_arms, new_arms = old.get("arms", []), new.get("arms", [])
    mapping: dict[int, int] = {}
    taken: set[int] = set()
    for i, arm in enumerate(old_arms):
        for j, other in enumerate(new_arms):
            if j not in taken and other.get("condition") == arm.get("condition"):
                mapping[i] = j
                taken.add(j)
                break
    free = [j for j in range(len(new_arms)) if j not in taken]
    for i in range(len(old_arms)):
        if i in mapping or not free:
            continue
        j = i if i in free else free[0]
        mapping[i] = j
        free.remove(j)
    return mapping


def translate(key: BlockKey, old_nodes: dict[str, Json], new_nodes: dict[str, Json]) -> BlockKey:
    """An old block key in the new plan's terms (branch arms renumbered by :func:`arm_mapping`)."""
    if len(key) == 3 and key[1] == "arm" and key[0] in old_nodes and key[0] in new_nodes:
        mapped = arm_mapping(old_nodes[key[0]], new_nodes[key[0]]).get(int(key[2]))
        return (key[0], "arm", str(mapped)) if mapped is not None else (key[0], "arm", f"old-{key[2]}")
    return key


def common_order(old: list[str], new: list[str]) -> set[str]:
    """The steps that kept their relative order: a longest common subsequence of the two sequences."""
    lengths = [[0] * (len(new) + 1) for _ in range(len(old) + 1)]
    for i in range(len(old) - 1, -1, -1):
        for j in range(len(new) - 1, -1, -1):
            lengths[i][j] = lengths[i + 1][j + 1] + 1 if old[i] == new[j] else max(lengths[i + 1][j], lengths[i][j + 1])
    kept: set[str] = set()
    i = j = 0
    while i < len(old) and j < len(new):
        if old[i] == new[j]:
            kept.add(old[i])
            i, j = i + 1, j + 1
        elif lengths[i][j + 1] >= lengths[i + 1][j]:
            j += 1  # on a tie the step that now comes earlier is the one that moved (a swap reads as "moved up")
        else:
            i += 1
    return kept
