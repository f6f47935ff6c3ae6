"""Steps of one scenario, two versions: added, removed, moved in the flow, and what changed in each.

Steps are matched by their stable id. Removed steps are reported where they used to be, added ones where they
now are; a step "moved" when it changed block (into a branch arm, out of a wait) or lost its order among the
steps it shares a block with. Per step: timing, guard, channels, template, parameters, the wait's event and
timeout, update operations, exit reason, branch arms and split weights.
"""

from __future__ import annotations

from typing import Any

from ecrm_dsl.plan import text
from ecrm_dsl.review import diff_words as words
from ecrm_dsl.review.diff_flow import Layout, arm_mapping, common_order, layout, translate
from ecrm_dsl.review.diff_model import Changes, Code

Json = dict[str, Any]

# The fields described below; any other field a node carries is reported generically.
_NODE_KEYS = frozenset(
    "id kind timing guard next channel template fallback params event same where timeout_seconds on_event "
    "on_timeout arms variants set add_tags remove_tags reason".split()
)


def compare_steps(out: Changes, old: Json, new: Json) -> None:
    """Every step of two versions of a scenario, in the new flow's order."""
    old_nodes = {n["id"]: n for n in old.get("nodes", [])}
    new_nodes = {n["id"]: n for n in new.get("nodes", [])}
    old_layout, new_layout = layout(old), layout(new)
    moved = _moved(old_layout, new_layout, old_nodes, new_nodes)
    removed_after: dict[str | None, list[str]] = {}
    for node_id in old_nodes:
        if node_id not in new_nodes:
            anchor = _surviving_predecessor(node_id, old.get("nodes", []), new_nodes)
            removed_after.setdefault(anchor, []).append(node_id)
    # Removed steps are reported where they used to be, so the list reads in flow order.
    for node_id in removed_after.pop(None, []):
        _removed_step(out, old_nodes[node_id], old_layout)
    for node in new.get("nodes", []):
        node_id = node["id"]
        if node_id not in old_nodes:
            place = new_layout.places[node_id]
            out.add(
                "step_added",
                ("step ", Code(node_id), " added ", *place.parts(), ": ", Code(words.step(node))),
                step=node_id,
                after=words.step(node),
            )
        else:
            if node_id in moved:
                was, now = old_layout.places[node_id], new_layout.places[node_id]
                cross = was.block != now.block
                out.add(
                    "step_moved",
                    (
                        "step ",
                        Code(node_id),
                        " moved in the flow: now ",
                        *now.parts(cross or None),
                        " (was ",
                        *was.parts(cross or None),
                        ")",
                    ),
                    step=node_id,
                    before=was.text(),
                    after=now.text(),
                )
            compare_step(out, old_nodes[node_id], node)
        for gone in removed_after.pop(node_id, []):
            _removed_step(out, old_nodes[gone], old_layout)
    for leftovers in removed_after.values():
        for gone in leftovers:
            _removed_step(out, old_nodes[gone], old_layout)


def _surviving_predecessor(node_id: str, old_list: list[Json], new_nodes: dict[str, Json]) -> str | None:
    before = None
    for node in old_list:
        if node["id"] == node_id:
            return before
        if node["id"] in new_nodes:
            before = node["id"]
    return before


def _removed_step(out: Changes, node: Json, old_layout: Layout) -> None:
    place = old_layout.places[node["id"]]
    out.add(
        "step_removed",
        ("step ", Code(node["id"]), " removed (was ", *place.parts(), ": ", Code(words.step(node)), ")"),
        step=node["id"],
        before=words.step(node),
    )


def _moved(old: Layout, new: Layout, old_nodes: dict[str, Json], new_nodes: dict[str, Json]) -> set[str]:
    """Steps in both versions that changed block, or lost their order among the steps they share a block with."""
    moved = set()
    old_block = {node_id: translate(p.block, old_nodes, new_nodes) for node_id, p in old.places.items()}
    for node_id, place in new.places.items():
        if node_id in old_block and old_block[node_id] != place.block:
            moved.add(node_id)
    for key, sequence in new.blocks.items():
        stayed = [n for n in sequence if old_block.get(n) == key]
        previous = [n for n in _old_sequence(old, old_block, key) if n in stayed]
        moved |= set(stayed) - common_order(previous, stayed)
    return moved


def _old_sequence(old: Layout, old_block: dict[str, Any], key: Any) -> list[str]:
    return [n for sequence in old.blocks.values() for n in sequence if old_block.get(n) == key]


def compare_step(out: Changes, old: Json, new: Json) -> None:
    step = new["id"]
    name = Code(step)
    if old.get("kind") != new.get("kind"):
        out.add(
            "step_kind",
            (name, f": {old.get('kind')} step → {new.get('kind')} step: ", Code(words.step(new))),
            step=step,
            before=words.step(old),
            after=words.step(new),
        )
        return
    _timing(out, step, old, new)
    out.condition("guard", (name, ": condition"), old.get("guard"), new.get("guard"), step=step)
    kind = new.get("kind")
    if kind == "send":
        _channels(out, step, old, new)
        out.value("template", (name, ": template"), old.get("template"), new.get("template"), step=step)
        _params(out, step, old.get("params") or {}, new.get("params") or {})
    elif kind == "wait" and (old.get("event") is not None or new.get("event") is not None):
        out.value("wait_event", (name, ": waits for"), old.get("event"), new.get("event"), words.none_text, step=step)
        out.value("wait_same", (name, ": same"), old.get("same"), new.get("same"), words.none_text, step=step)
        out.condition("wait_where", (name, ": event condition"), old.get("where"), new.get("where"), step=step)
        _timeout(out, step, old.get("timeout_seconds"), new.get("timeout_seconds"))
    elif kind == "update":
        out.value("update", (name, ": update"), text.update_ops(old), text.update_ops(new), step=step)
    elif kind == "exit":
        out.value("exit", (name, ": exit reason"), old.get("reason"), new.get("reason"), words.quoted, step=step)
    elif kind == "branch":
        _arms(out, step, old, new)
    elif kind == "split":
        _variants(out, step, old.get("variants", []), new.get("variants", []))
    for key in sorted((set(old) | set(new)) - _NODE_KEYS):
        out.generic(key, old.get(key), new.get(key), step)


def _timing(out: Changes, step: str, old: Json, new: Json) -> None:
    if old.get("timing") == new.get("timing"):
        return
    before, after = words.timing(old.get("timing")), words.timing(new.get("timing"))
    shift = words.timing_shift(old.get("timing"), new.get("timing"))
    tail = f" ({shift})" if shift else ""
    if words.is_plain_wait(old) and words.is_plain_wait(new):
        b, a = before.removeprefix("after "), after.removeprefix("after ")
        out.add("timing", (Code(step), ": wait ", Code(b), " → ", Code(a), tail), step=step, before=before, after=after)
    else:
        out.add(
            "timing",
            (Code(step), " moved from ", Code(before), " to ", Code(after), tail),
            step=step,
            before=before,
            after=after,
        )


def _channels(out: Changes, step: str, old: Json, new: Json) -> None:
    """Channel and fallback together, as the order the runtime tries them in: ``line → email``."""
    if old.get("channel") == new.get("channel") and old.get("fallback") == new.get("fallback"):
        return
    before = words.channels(old.get("channel"), old.get("fallback"))
    after = words.channels(new.get("channel"), new.get("fallback"))
    if old.get("channel") == new.get("channel"):
        label = "fallback"
        b = ", ".join(old.get("fallback") or []) or "none"
        a = ", ".join(new.get("fallback") or []) or "none"
    else:
        label, b, a = "channel", before, after
    out.add("channel", (Code(step), f": {label} ", Code(b), " → ", Code(a)), step=step, before=before, after=after)


def _timeout(out: Changes, step: str, old: Any, new: Any) -> None:
    if old == new:
        return
    shift = ""
    if old is not None and new is not None:
        delta = int(new) - int(old)
        shift = f" ({words.duration_words(delta)} {'longer' if delta > 0 else 'shorter'})"
    before, after = words.seconds_text(old), words.seconds_text(new)
    out.add(
        "wait_timeout",
        (Code(step), ": timeout ", Code(before), " → ", Code(after), shift),
        step=step,
        before=before,
        after=after,
    )


def _params(out: Changes, step: str, old: Json, new: Json) -> None:
    for key in sorted(set(old) | set(new)):
        if key not in new:
            out.add(
                "params",
                (Code(step), ": parameter ", Code(key), " removed (was ", Code(text.param(old[key])), ")"),
                step=step,
                before=text.param(old[key]),
            )
        elif key not in old:
            out.add(
                "params",
                (Code(step), ": parameter ", Code(f"{key} = {text.param(new[key])}"), " added"),
                step=step,
                after=text.param(new[key]),
            )
        else:
            out.value("params", (Code(step), ": ", Code(key)), old[key], new[key], text.param, step=step)


def _arms(out: Changes, step: str, old: Json, new: Json) -> None:
    old_arms, new_arms = old.get("arms", []), new.get("arms", [])
    mapping = arm_mapping(old, new)
    for i, arm in enumerate(old_arms):
        j = mapping.get(i)
        if j is None:
            label = words.arm_label(arm, i)
            out.add("arm_removed", (Code(step), ": arm ", Code(label), " removed"), step=step, before=label)
            continue
        if arm.get("condition") != new_arms[j].get("condition"):
            out.condition(
                "arm_condition",
                (Code(step), f": arm {j + 1} condition"),
                arm.get("condition"),
                new_arms[j].get("condition"),
                step=step,
            )
    for j, arm in enumerate(new_arms):
        if j not in mapping.values():
            label = words.arm_label(arm, j)
            out.add("arm_added", (Code(step), f": arm {j + 1} added: ", Code(label)), step=step, after=label)
    moved = [i for i, j in sorted(mapping.items()) if old_arms[i].get("condition") is not None]
    order = [mapping[i] for i in moved]
    if order != sorted(order):
        # Branch arms are tried in order; moving one first changes who takes it.
        before = " / ".join(words.arm_label(a, i) for i, a in enumerate(old_arms))
        after = " / ".join(words.arm_label(a, j) for j, a in enumerate(new_arms))
        out.add(
            "arm_order",
            (Code(step), ": arms reordered (the first that holds wins): ", Code(before), " → ", Code(after)),
            step=step,
            before=before,
            after=after,
        )


def _variants(out: Changes, step: str, old: list[Json], new: list[Json]) -> None:
    old_by, new_by = {v["name"]: v for v in old}, {v["name"]: v for v in new}
    for v in old:
        if v["name"] not in new_by:
            out.add(
                "variant_removed", (Code(step), ": variant ", Code(v["name"]), " removed"), step=step, before=v["name"]
            )
    for v in new:
        if v["name"] not in old_by:
            text = f"{v['name']} {v.get('weight')}"
            out.add("variant_added", (Code(step), ": variant ", Code(text), " added"), step=step, after=v["name"])
    before, after = _weights(old), _weights(new)
    if before != after:
        # One record for all weights: a reviewer reads a split's shares together, not variant by variant.
        out.add(
            "variant_weights",
            (Code(step), ": weights ", Code(before), " → ", Code(after)),
            step=step,
            before=before,
            after=after,
        )


def _weights(variants: list[Json]) -> str:
    total = sum(int(v.get("weight") or 0) for v in variants) or 1
    return ", ".join(f"{v['name']} {round(100 * int(v.get('weight') or 0) / total)}%" for v in variants)
