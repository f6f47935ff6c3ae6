"""Steps of one scenario, two versions: added, removed, moved in the flow, and what changed in each.

Steps are matched by their stable id. Removed steps are reported where they used to be, added ones where they
now are; a step "moved" when it changed block (into a branch arm, out of a wait) or lost its order among the
steps it shares a block with. Per step: timing, guard, channels, template, parameters, the wait's event and
timeout, update operations, exit reason, branch arms and split weights.
"""

from __future__ import annotations

from typing import Any

from ecrm_dsl.language.i18n import n_
from ecrm_dsl.plan import text
from ecrm_dsl.review import diff_words as words
from ecrm_dsl.review.diff_flow import Layout, arm_mapping, common_order, layout, translate
from ecrm_dsl.review.diff_model import Changes, Code, Message, say

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
                say(
                    n_("step {step} added {place}: {action}"),
                    step=node_id,
                    place=place.parts(),
                    action=words.step(node),
                ),
                step=node_id,
                after=words.step(node),
            )
        else:
            if node_id in moved:
                was, now = old_layout.places[node_id], new_layout.places[node_id]
                cross = was.block != now.block
                out.add(
                    "step_moved",
                    say(
                        n_("step {step} moved in the flow: now {now} (was {was})"),
                        step=node_id,
                        now=now.parts(cross or None),
                        was=was.parts(cross or None),
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
        say(
            n_("step {step} removed (was {place}: {action})"),
            step=node["id"],
            place=place.parts(),
            action=words.step(node),
        ),
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
            say(
                n_("{step}: {before} step → {after} step: {action}"),
                step=step,
                before=(str(old.get("kind")),),
                after=(str(new.get("kind")),),
                action=words.step(new),
            ),
            step=step,
            before=words.step(old),
            after=words.step(new),
        )
        return
    _timing(out, step, old, new)
    out.condition("guard", say(n_("{step}: condition"), step=step), old.get("guard"), new.get("guard"), step=step)
    kind = new.get("kind")
    if kind == "send":
        _channels(out, step, old, new)
        label = say(n_("{step}: template"), step=step)
        out.value("template", label, old.get("template"), new.get("template"), step=step)
        _params(out, step, old.get("params") or {}, new.get("params") or {})
    elif kind == "wait" and (old.get("event") is not None or new.get("event") is not None):
        label = say(n_("{step}: waits for"), step=step)
        out.value("wait_event", label, old.get("event"), new.get("event"), words.none_text, step=step)
        out.value("wait_same", (name, ": same"), old.get("same"), new.get("same"), words.none_text, step=step)
        label = say(n_("{step}: event condition"), step=step)
        out.condition("wait_where", label, old.get("where"), new.get("where"), step=step)
        _timeout(out, step, old.get("timeout_seconds"), new.get("timeout_seconds"))
    elif kind == "update":
        out.value("update", (name, ": update"), text.update_ops(old), text.update_ops(new), step=step)
    elif kind == "exit":
        label = say(n_("{step}: exit reason"), step=step)
        out.value("exit", label, old.get("reason"), new.get("reason"), words.quoted, step=step)
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
    message: Message
    if words.is_plain_wait(old) and words.is_plain_wait(new):
        b, a = before.removeprefix("after "), after.removeprefix("after ")
        if shift:
            message = say(n_("{step}: wait {before} → {after} ({shift})"), step=step, before=b, after=a, shift=(shift,))
        else:
            message = say(n_("{step}: wait {before} → {after}"), step=step, before=b, after=a)
    elif shift:
        fields: dict[str, str | Message] = {"step": step, "before": before, "after": after, "shift": (shift,)}
        message = say(n_("{step} moved from {before} to {after} ({shift})"), **fields)
    else:
        message = say(n_("{step} moved from {before} to {after}"), step=step, before=before, after=after)
    out.add("timing", message, step=step, before=before, after=after)


def _channels(out: Changes, step: str, old: Json, new: Json) -> None:
    """Channel and fallback together, as the order the runtime tries them in: ``line → email``."""
    if old.get("channel") == new.get("channel") and old.get("fallback") == new.get("fallback"):
        return
    before = words.channels(old.get("channel"), old.get("fallback"))
    after = words.channels(new.get("channel"), new.get("fallback"))
    if old.get("channel") == new.get("channel"):
        b = ", ".join(old.get("fallback") or []) or "none"
        a = ", ".join(new.get("fallback") or []) or "none"
        message = say(n_("{step}: fallback {before} → {after}"), step=step, before=b, after=a)
    else:
        message = say(n_("{step}: channel {before} → {after}"), step=step, before=before, after=after)
    out.add("channel", message, step=step, before=before, after=after)


def _timeout(out: Changes, step: str, old: Any, new: Any) -> None:
    if old == new:
        return
    before, after = words.seconds_text(old), words.seconds_text(new)
    message = say(n_("{step}: timeout {before} → {after}"), step=step, before=before, after=after)
    if old is not None and new is not None:
        delta = int(new) - int(old)
        longer = words.longer_or_shorter(delta)
        message = say(
            n_("{step}: timeout {before} → {after} ({shift})"), step=step, before=before, after=after, shift=(longer,)
        )
    out.add("wait_timeout", message, step=step, before=before, after=after)


def _params(out: Changes, step: str, old: Json, new: Json) -> None:
    for key in sorted(set(old) | set(new)):
        if key not in new:
            out.add(
                "params",
                say(
                    n_("{step}: parameter {name} removed (was {value})"),
                    step=step,
                    name=key,
                    value=text.param(old[key]),
                ),
                step=step,
                before=text.param(old[key]),
            )
        elif key not in old:
            out.add(
                "params",
                say(
                    n_("{step}: parameter {assignment} added"), step=step, assignment=f"{key} = {text.param(new[key])}"
                ),
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
            message = say(n_("{step}: arm {arm} removed"), step=step, arm=label)
            out.add("arm_removed", message, step=step, before=label)
            continue
        if arm.get("condition") != new_arms[j].get("condition"):
            out.condition(
                "arm_condition",
                say(n_("{step}: arm {number} condition"), step=step, number=(str(j + 1),)),
                arm.get("condition"),
                new_arms[j].get("condition"),
                step=step,
            )
    for j, arm in enumerate(new_arms):
        if j not in mapping.values():
            label = words.arm_label(arm, j)
            message = say(n_("{step}: arm {number} added: {arm}"), step=step, number=(str(j + 1),), arm=label)
            out.add("arm_added", message, step=step, after=label)
    moved = [i for i, j in sorted(mapping.items()) if old_arms[i].get("condition") is not None]
    order = [mapping[i] for i in moved]
    if order != sorted(order):
        # Branch arms are tried in order; moving one first changes who takes it.
        before = " / ".join(words.arm_label(a, i) for i, a in enumerate(old_arms))
        after = " / ".join(words.arm_label(a, j) for j, a in enumerate(new_arms))
        out.add(
            "arm_order",
            say(
                n_("{step}: arms reordered (the first that holds wins): {before} → {after}"),
                step=step,
                before=before,
                after=after,
            ),
            step=step,
            before=before,
            after=after,
        )


def _variants(out: Changes, step: str, old: list[Json], new: list[Json]) -> None:
    old_by, new_by = {v["name"]: v for v in old}, {v["name"]: v for v in new}
    for v in old:
        if v["name"] not in new_by:
            message = say(n_("{step}: variant {variant} removed"), step=step, variant=v["name"])
            out.add("variant_removed", message, step=step, before=v["name"])
    for v in new:
        if v["name"] not in old_by:
            text = f"{v['name']} {v.get('weight')}"
            message = say(n_("{step}: variant {variant} added"), step=step, variant=text)
            out.add("variant_added", message, step=step, after=v["name"])
    before, after = _weights(old), _weights(new)
    if before != after:
        # One record for all weights: a reviewer reads a split's shares together, not variant by variant.
        out.add(
            "variant_weights",
            say(n_("{step}: weights {before} → {after}"), step=step, before=before, after=after),
            step=step,
            before=before,
            after=after,
        )


def _weights(variants: list[Json]) -> str:
    total = sum(int(v.get("weight") or 0) for v in variants) or 1
    return ", ".join(f"{v['name']} {round(100 * int(v.get('weight') or 0) / total)}%" for v in variants)
