"""The scenario AST: one typed, immutable tree that both syntaxes (YAML and text) parse into.

Every node carries a :class:`Span` back to its source. Spans never take part in equality, so a YAML file and
its text twin produce *equal* trees; that equality is what the round-trip tests and the byte-identical plans
rest on. Literal values are normalised here (money in whole yen, durations in seconds) so that ``1d`` and
``24h`` mean the same thing everywhere downstream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

from ecrm_dsl.language.targets import TargetAmount
from ecrm_dsl.language.values import Duration, Money, TimeOfDay


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file; lines and columns are 1-based."""

    file: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NO_SPAN = Span("<generated>", 0, 0)


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)  # type: ignore[return-value]


# --------------------------------------------------------------------------- conditions


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: int, decimal (str), string, bool, null, money, duration, date (ISO str) or time of day."""

    value: int | str | bool | Money | Duration | TimeOfDay | None
    type: str  # one of values.LITERAL_TYPES
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Ref:
    """A name: ``customer.order_count``, ``event.category``, ``orders_since_entry``."""

    path: tuple[str, ...]
    span: Span = _span()

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Keyword:
    """A keyword argument of a call: ``category: "skincare"`` in ``bought(category: "skincare")``."""

    name: str
    value: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Call:
    """A built-in function: ``opened(email, 30d)``, ``has_tag("vip")``, ``bought(category: "skincare")``.

    Positional ``args`` come first, then the ``keywords`` in the order written."""

    name: str
    args: tuple[Expr, ...]
    span: Span = _span()
    keywords: tuple[Keyword, ...] = field(default=(), kw_only=True)


@dataclass(frozen=True, slots=True)
class Compare:
    """``left OP right`` with OP one of ``== != < <= > >=``. A comparison with null is false."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class InList:
    """``operand [not] in [a, b, c]``."""

    operand: Expr
    items: tuple[Expr, ...]
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Between:
    """``operand [not] between low and high`` (both ends inclusive)."""

    operand: Expr
    low: Expr
    high: Expr
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class IsNull:
    """``operand is [not] null``."""

    operand: Expr
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Arith:
    """``left OP right`` with OP one of ``+ - * /``: numbers, money, durations, and a datetime plus or minus a
    duration. A null operand, or a division by zero, gives null."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()


Expr = Literal | Ref | Call | Compare | InList | Between | IsNull | And | Or | Not | Arith


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True, slots=True)
class Timing:
    """When a step acts, relative to an anchor.

    The moment is computed in the shop's timezone, in this order:
    start at ``anchor`` (``previous`` step done, ``entry``, or a date of the entry order such as ``shipment``
    or ``delivery_date``); add ``offset`` (days are calendar days) or ``business_days``; if ``at`` is set,
    put that clock time on the resulting date; if ``until_time``/``until_weekday`` is set, move to the next
    such moment strictly after; finally, with ``business_day``, move off holidays to the next business day.
    """

    anchor: str = "previous"
    offset: Duration = Duration(0)
    business_days: int | None = None
    at: TimeOfDay | None = None
    until_time: TimeOfDay | None = None
    until_weekday: str | None = None
    business_day: bool = False
    span: Span = _span()


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class Param:
    """A template parameter passed by a send step: ``coupon_code = "F2OFF15"``."""

    name: str
    value: Literal
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Send:
    """Deliver ``template`` on ``channel``; if the customer cannot be reached there, try ``fallback`` in order."""

    channel: str
    template: str
    fallback: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Assignment:
    """``set customer.persona = "family"`` inside an update step."""

    attribute: str
    value: Literal
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Update:
    """Set customer attributes and add or remove tags."""

    assignments: tuple[Assignment, ...] = ()
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Exit:
    """End the enrollment here (not a conversion)."""

    reason: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Wait:
    """Wait: for the step's timing only, or for an event (with a timeout and a path for each outcome)."""

    event: str | None = None
    where: Expr | None = None
    timeout: Duration | None = None
    on_event: tuple[Step, ...] = ()
    on_timeout: tuple[Step, ...] = ()
    same: str | None = None  # only the event whose property equals the entry event's counts (same cart_id)
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class BranchArm:
    """One ``if``/``elif`` arm, or the ``else`` arm when ``condition`` is None."""

    condition: Expr | None
    steps: tuple[Step, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Branch:
    """The first arm whose condition holds runs; then the scenario continues after the branch."""

    arms: tuple[BranchArm, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Variant:
    """One arm of an A/B/n split; customers are assigned deterministically in proportion to ``weight``."""

    name: str
    weight: int
    steps: tuple[Step, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Split:
    variants: tuple[Variant, ...]
    span: Span = _span()


Action = Send | Update | Exit | Wait | Branch | Split


@dataclass(frozen=True, slots=True)
class Step:
    """A step with a stable ``id``: wait for ``delay``, then if ``guard`` holds do ``action`` (else skip it)."""

    id: str
    action: Action
    delay: Timing | None = None
    guard: Expr | None = None
    id_explicit: bool = field(default=True, compare=False)
    span: Span = _span()

    @property
    def kind(self) -> str:
        return type(self.action).__name__.lower()


# --------------------------------------------------------------------------- triggers, goals, policies


@dataclass(frozen=True, slots=True)
class EventTrigger:
    """Enter when ``event`` happens (and ``where`` holds)."""

    event: str
    where: Expr | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class SegmentTrigger:
    """Enter when a customer starts matching ``segment``."""

    segment: str
    where: Expr | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DateTrigger:
    """Enter at a customer date attribute plus ``offset`` (at ``at``); ``yearly`` for birthdays and anniversaries."""

    attribute: str
    offset: Duration = Duration(0)
    at: TimeOfDay | None = None
    yearly: bool = False
    where: Expr | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ScheduleTrigger:
    """Enter the ``audience`` segment on a cron schedule in the shop's timezone."""

    cron: str
    audience: str
    where: Expr | None = None
    span: Span = _span()


Trigger = EventTrigger | SegmentTrigger | DateTrigger | ScheduleTrigger


@dataclass(frozen=True, slots=True)
class Goal:
    """A conversion: ``event`` after entry ends the enrollment as a success.

    ``match`` keys the goal to the entry: ``any``; ``repeat`` (a new order, not the entry order); or
    ``same:<property>`` (the goal event's property equals the entry event's, e.g. the same ``cart_id``).
    """

    event: str
    match: str = "any"
    within: Duration | None = None
    where: Expr | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ExitRule:
    """Leave the scenario (not a conversion) on ``event`` or as soon as ``condition`` holds."""

    event: str | None = None
    condition: Expr | None = None
    same: str | None = None  # only the event whose property equals the entry event's counts
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Reentry:
    """``never``, ``always``, or ``cooldown`` (again only ``cooldown`` after the last exit)."""

    mode: str = "never"
    cooldown: Duration | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class HypothesisTarget:
    """How far the messaged should beat the holdout on the KPI, measured over ``within`` after entry:
    ``+3pt`` (rate points), ``+500円`` (yen per customer) or ``+5%`` (relative to the holdout)."""

    amount: TargetAmount
    within: Duration
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """What the scenario should move: a KPI and a statement for the hypothesis journal, and optionally a target
    the report gives a verdict on."""

    kpi: str
    statement: str
    span: Span = _span()
    target: HypothesisTarget | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    title: str
    kind: str  # sell | nurture
    trigger: Trigger
    steps: tuple[Step, ...]
    owner: str | None = None
    description: str | None = None
    hypothesis: Hypothesis | None = None
    goals: tuple[Goal, ...] = ()
    exits: tuple[ExitRule, ...] = ()
    reentry: Reentry = Reentry()
    holdout: int = 0  # percent of entrants kept as a control group
    backfill: Duration | None = None
    span: Span = _span()
    origin: PresetUse | None = field(default=None, compare=False, repr=False)  # set when made from a preset


@dataclass(frozen=True, slots=True)
class PresetUse:
    """A scenario instantiated from a preset with arguments; expanded into a :class:`Scenario` when loaded."""

    id: str
    title: str
    preset: str
    args: tuple[Param, ...] = ()
    span: Span = _span()


SourceItem = Scenario | PresetUse


# --------------------------------------------------------------------------- walking the tree

NODE_TYPES: tuple[type, ...] = (
    Literal,
    Ref,
    Call,
    Keyword,
    Compare,
    InList,
    Between,
    IsNull,
    And,
    Or,
    Not,
    Arith,
    Timing,
    Param,
    Send,
    Assignment,
    Update,
    Exit,
    Wait,
    BranchArm,
    Branch,
    Variant,
    Split,
    Step,
    EventTrigger,
    SegmentTrigger,
    DateTrigger,
    ScheduleTrigger,
    Goal,
    ExitRule,
    Reentry,
    HypothesisTarget,
    Hypothesis,
    Scenario,
    PresetUse,
)


@cache
def _child_fields(cls: type) -> tuple[str, ...]:
    """The fields of a node class that can hold nodes, in declaration (and so source) order."""
    return tuple(f.name for f in fields(cls) if f.compare and f.name != "span")


def iter_child_nodes(node: Any) -> Iterator[Any]:
    """The direct children of ``node`` in field order: node fields, and the nodes inside tuple fields."""
    cls: type = type(node)
    for name in _child_fields(cls):
        value = getattr(node, name)
        if isinstance(value, NODE_TYPES):
            yield value
        elif isinstance(value, tuple):
            yield from (item for item in value if isinstance(item, NODE_TYPES))


def walk(node: object) -> Iterator[Any]:
    """``node`` and every node below it, depth first (iterative: deep trees cannot overflow the stack)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(tuple(iter_child_nodes(current))))


def walk_steps(steps: tuple[Step, ...]) -> list[Step]:
    """All steps of a tree, depth first, in source order."""
    found: list[Step] = []
    stack = list(reversed(steps))
    while stack:
        step = stack.pop()
        found.append(step)
        for nested in reversed(child_step_lists(step.action)):
            stack.extend(reversed(nested))
    return found


def child_step_lists(action: Action) -> list[tuple[Step, ...]]:
    """The nested step lists of an action (branch arms, split variants, wait outcomes)."""
    if isinstance(action, Branch):
        return [arm.steps for arm in action.arms]
    if isinstance(action, Split):
        return [variant.steps for variant in action.variants]
    if isinstance(action, Wait):
        return [action.on_event, action.on_timeout]
    return []


def walk_exprs(expr: Expr | None) -> list[Expr]:
    """Every sub-expression of ``expr``, itself first."""
    return [] if expr is None else list(walk(expr))
