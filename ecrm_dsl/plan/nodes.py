"""The steps of a compiled scenario: one record per node kind, each naming the node that runs after it.

A node's ``next`` is None when the enrollment ends there. Branches, splits and waits for an event point into
their arms; an arm's end joins the step after the block. Conditions stay in their normal form
(:mod:`ecrm_dsl.conditions.normal`), which both runtimes evaluate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ecrm_dsl.conditions.normal import Normal

Json = dict[str, Any]
PlanValue = Any  # a literal as the plan keeps it: str, int, bool, None, {"money": yen}, {"seconds": n}


@dataclass(frozen=True, slots=True)
class Timing:
    """When a step acts: from an anchor, after an offset or business days, at a clock time, until a moment."""

    anchor: str
    offset_seconds: int
    business_days: int | None
    at: str | None
    until_time: str | None
    until_weekday: str | None
    business_day: bool

    @classmethod
    def from_json(cls, obj: Json) -> Timing:
        return cls(
            anchor=obj["anchor"],
            offset_seconds=obj["offset_seconds"],
            business_days=obj["business_days"],
            at=obj["at"],
            until_time=obj["until_time"],
            until_weekday=obj["until_weekday"],
            business_day=obj["business_day"],
        )

    def to_json(self) -> Json:
        return {
            "anchor": self.anchor,
            "offset_seconds": self.offset_seconds,
            "business_days": self.business_days,
            "at": self.at,
            "until_time": self.until_time,
            "until_weekday": self.until_weekday,
            "business_day": self.business_day,
        }


@dataclass(frozen=True, slots=True)
class SendNode:
    """Send a template on a channel, trying the fallbacks in order when the customer cannot be reached."""

    id: str
    timing: Timing | None
    guard: Normal | None
    next: str | None
    channel: str
    template: str
    fallback: tuple[str, ...]
    params: dict[str, PlanValue]
    kind: ClassVar[str] = "send"


@dataclass(frozen=True, slots=True)
class UpdateNode:
    """Set customer attributes and add or remove tags."""

    id: str
    timing: Timing | None
    guard: Normal | None
    next: str | None
    set: dict[str, PlanValue]
    add_tags: tuple[str, ...]
    remove_tags: tuple[str, ...]
    kind: ClassVar[str] = "update"


@dataclass(frozen=True, slots=True)
class ExitNode:
    """End the enrollment as exited (not completed), with a reason for the journal."""

    id: str
    timing: Timing | None
    guard: Normal | None
    next: str | None
    reason: str | None
    kind: ClassVar[str] = "exit"


@dataclass(frozen=True, slots=True)
class WaitNode:
    """A pause (``event`` None: the timing does the waiting) or a wait for an event with a timeout.

    Only a wait for an event has ``on_event``/``on_timeout`` in the plan; ``listens`` says which this is.
    """

    id: str
    timing: Timing | None
    guard: Normal | None
    next: str | None
    event: str | None
    same: str | None
    where: Normal | None
    timeout_seconds: int | None
    on_event: str | None = None
    on_timeout: str | None = None
    kind: ClassVar[str] = "wait"

    @property
    def listens(self) -> bool:
        return self.event is not None


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm of a branch: taken when ``condition`` holds (None: the else arm)."""

    condition: Normal | None
    next: str | None


@dataclass(frozen=True, slots=True)
class BranchNode:
    """The first arm whose condition holds; with none, the step after the block."""

    id: str
    timing: Timing | None
    guard: Normal | None
    next: str | None
    arms: tuple[Arm, ...]
    kind: ClassVar[str] = "branch"


@dataclass(frozen=True, slots=True)
class Variant:
    """One variant of an A/B/n split and its weight."""

    name: str
    weight: int
    next: str | None


@dataclass(frozen=True, slots=True)
class SplitNode:
    """A deterministic draw per customer among the variants, in proportion to their weights."""

    id: str
    timing: Timing | None
    guard: Normal | None
    next: str | None
    variants: tuple[Variant, ...]
    kind: ClassVar[str] = "split"


Node = SendNode | UpdateNode | ExitNode | WaitNode | BranchNode | SplitNode
NODE_KINDS = ("send", "update", "exit", "wait", "branch", "split")


def node_from_json(obj: Json) -> Node:
    """The record for one plan node; ``obj`` has the shape the plan schema describes."""
    timing = Timing.from_json(obj["timing"]) if obj["timing"] is not None else None
    ident, guard, nxt = obj["id"], obj["guard"], obj["next"]
    kind = obj["kind"]
    if kind == "send":
        return SendNode(
            ident,
            timing,
            guard,
            nxt,
            channel=obj["channel"],
            template=obj["template"],
            fallback=tuple(obj["fallback"]),
            params=dict(obj["params"]),
        )
    if kind == "update":
        add, remove = tuple(obj["add_tags"]), tuple(obj["remove_tags"])
        return UpdateNode(ident, timing, guard, nxt, set=dict(obj["set"]), add_tags=add, remove_tags=remove)
    if kind == "exit":
        return ExitNode(ident, timing, guard, nxt, reason=obj["reason"])
    if kind == "wait":
        listens = obj["event"] is not None
        return WaitNode(
            ident,
            timing,
            guard,
            nxt,
            event=obj["event"],
            same=obj["same"],
            where=obj["where"],
            timeout_seconds=obj["timeout_seconds"],
            on_event=obj["on_event"] if listens else None,
            on_timeout=obj["on_timeout"] if listens else None,
        )
    if kind == "branch":
        return BranchNode(ident, timing, guard, nxt, arms=tuple(Arm(a["condition"], a["next"]) for a in obj["arms"]))
    if kind == "split":
        return SplitNode(
            ident,
            timing,
            guard,
            nxt,
            variants=tuple(Variant(v["name"], v["weight"], v["next"]) for v in obj["variants"]),
        )
    raise ValueError(f"unknown node kind {kind!r}")


def node_to_json(node: Node) -> Json:
    """The plan JSON of a node, exactly as the compiler writes it."""
    out: Json = {
        "id": node.id,
        "kind": node.kind,
        "timing": node.timing.to_json() if node.timing is not None else None,
        "guard": node.guard,
        "next": node.next,
    }
    if isinstance(node, SendNode):
        out.update(channel=node.channel, template=node.template, fallback=list(node.fallback), params=node.params)
    elif isinstance(node, UpdateNode):
        out.update(set=node.set, add_tags=list(node.add_tags), remove_tags=list(node.remove_tags))
    elif isinstance(node, ExitNode):
        out["reason"] = node.reason
    elif isinstance(node, WaitNode):
        out.update(event=node.event, same=node.same, where=node.where, timeout_seconds=node.timeout_seconds)
        if node.listens:
            out.update(on_event=node.on_event, on_timeout=node.on_timeout)
    elif isinstance(node, BranchNode):
        out["arms"] = [{"condition": arm.condition, "next": arm.next} for arm in node.arms]
    else:
        out["variants"] = [{"name": v.name, "weight": v.weight, "next": v.next} for v in node.variants]
    return out


def successors(node: Node) -> list[str | None]:
    """Every node id this node can continue to (None: the end of the enrollment)."""
    targets: list[str | None] = [node.next]
    if isinstance(node, WaitNode) and node.listens:
        targets += [node.on_event, node.on_timeout]
    elif isinstance(node, BranchNode):
        targets += [arm.next for arm in node.arms]
    elif isinstance(node, SplitNode):
        targets += [v.next for v in node.variants]
    return targets
