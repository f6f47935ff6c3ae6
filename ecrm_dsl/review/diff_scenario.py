"""One scenario, two versions: what changed, in the words of the scenario language.

Scenario-level fields first (kind, owner, hypothesis, trigger, goals, stop rules, re-entry, holdout, backfill),
then the steps in the new flow's order: added, removed, moved, and per step its timing, guard, channel,
template, parameters, wait, branch arms and split weights. Anything the plan carries that is not described
here still shows up as a generic change, so a difference is never silently dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ecrm_dsl.language.targets import TargetAmount, spell_target
from ecrm_dsl.language.values import Duration
from ecrm_dsl.plan import text
from ecrm_dsl.review import diff_words as words
from ecrm_dsl.review.diff_model import Change, Changes, Code, Message, joined
from ecrm_dsl.review.diff_steps import compare_steps

Json = dict[str, Any]

# The scenario fields described here; any other field a plan carries is reported generically.
_SCENARIO_KEYS = frozenset(
    "id title kind owner description hypothesis trigger goals stop reentry holdout_percent backfill_seconds "
    "priority start nodes hash".split()
)


# --------------------------------------------------------------------------- whole scenarios


def added_scenario(scenario: Json) -> list[Change]:
    out = Changes("scenario", scenario["id"])
    steps = [n["id"] for n in scenario.get("nodes", [])]
    out.add(
        "scenario_added",
        (
            "scenario ",
            Code(scenario["id"]),
            " added (",
            scenario.get("kind", "?"),
            "): when ",
            Code(text.trigger(scenario["trigger"])),
            f", {len(steps)} step" + ("" if len(steps) == 1 else "s"),
        ),
        after=text.trigger(scenario["trigger"]),
    )
    for node in scenario.get("nodes", []):
        out.add(
            "step_added",
            ("step ", Code(node["id"]), " — ", Code(words.step(node))),
            step=node["id"],
            after=words.step(node),
        )
    return out.items


def removed_scenario(scenario: Json) -> list[Change]:
    out = Changes("scenario", scenario["id"])
    steps = len(scenario.get("nodes", []))
    out.add(
        "scenario_removed",
        (
            "scenario ",
            Code(scenario["id"]),
            " removed (was: when ",
            Code(text.trigger(scenario["trigger"])),
            f", {steps} step" + ("" if steps == 1 else "s") + ")",
        ),
        before=text.trigger(scenario["trigger"]),
    )
    return out.items


def compare_scenario(old: Json, new: Json, nurture_only: list[str], priority: Sequence[Change] = ()) -> list[Change]:
    out = Changes("scenario", new["id"])
    out.value("title", ("title",), old.get("title"), new.get("title"), words.quoted)
    if old.get("kind") != new.get("kind"):
        message: Message = ("kind ", Code(str(old.get("kind"))), " → ", Code(str(new.get("kind"))))
        if nurture_only:
            # The policies' nurture_only segments receive nurture scenarios only: the kind decides who gets it.
            verb = "now receive it" if new.get("kind") == "nurture" else "no longer receive it"
            message += (" — customers in ", *joined([Code(s) for s in nurture_only]), f" {verb}")
        out.add("kind", message, before=old.get("kind"), after=new.get("kind"))
    out.value("owner", ("owner",), old.get("owner"), new.get("owner"), words.quoted)
    if old.get("description") != new.get("description"):
        out.add("description", ("description changed",), before=old.get("description"), after=new.get("description"))
    _hypothesis(out, old.get("hypothesis"), new.get("hypothesis"))
    _trigger(out, old["trigger"], new["trigger"])
    _rules(out, "goal", [text.goal(g) for g in old.get("goals", [])], [text.goal(g) for g in new.get("goals", [])])
    _rules(out, "stop", [text.stop(s) for s in old.get("stop", [])], [text.stop(s) for s in new.get("stop", [])])
    out.value("reentry", ("re-entry",), text.reentry(old.get("reentry")), text.reentry(new.get("reentry")))
    out.value("holdout", ("holdout",), old.get("holdout_percent"), new.get("holdout_percent"), lambda v: f"{v or 0}%")
    out.value("backfill", ("backfill",), old.get("backfill_seconds"), new.get("backfill_seconds"), words.seconds_text)
    out.items.extend(priority)
    compare_steps(out, old, new)
    for key in sorted((set(old) | set(new)) - _SCENARIO_KEYS):
        out.generic(key, old.get(key), new.get(key))
    return out.items


def _hypothesis(out: Changes, old: Json | None, new: Json | None) -> None:
    if old == new:
        return
    old, new = old or {}, new or {}
    out.value("hypothesis", ("hypothesis KPI",), old.get("kpi"), new.get("kpi"), words.none_text)
    if old.get("statement") != new.get("statement"):
        statement = new.get("statement")
        message = (
            ("hypothesis statement now: ", words.quoted(statement)) if statement else ("hypothesis statement removed",)
        )
        out.add("hypothesis", message, before=old.get("statement"), after=statement)
    out.value("hypothesis", ("hypothesis target",), _target(old.get("target")), _target(new.get("target")))


def _target(target: Json | None) -> str:
    """``+3pt within 30d``, as the source spells it; "none" without a target."""
    if not target:
        return "none"
    return spell_target(TargetAmount(target["amount"], target["unit"]), Duration(target["within_seconds"]))


# --------------------------------------------------------------------------- entry and outcome rules


def _trigger(out: Changes, old: Json, new: Json) -> None:
    if old == new:
        return
    before, after = text.trigger(old, with_where=False), text.trigger(new, with_where=False)
    if before != after:
        out.add("trigger", ("trigger: when ", Code(before), " → when ", Code(after)), before=before, after=after)
    out.condition("trigger_where", ("entry condition",), old.get("where"), new.get("where"))


def _rules(out: Changes, kind: str, old: list[str], new: list[str]) -> None:
    """Goals or stop rules: a one-for-one replacement reads as a change, the rest as added / removed."""
    if Counter(old) == Counter(new):
        return
    gone = list((Counter(old) - Counter(new)).elements())
    came = list((Counter(new) - Counter(old)).elements())
    noun = "goal" if kind == "goal" else "stop rule"
    if len(gone) == 1 and len(came) == 1:
        out.add(f"{kind}_changed", (f"{noun} ", Code(gone[0]), " → ", Code(came[0])), before=gone[0], after=came[0])
        return
    for rule in gone:
        out.add(f"{kind}_removed", (f"{noun} removed: ", Code(rule)), before=rule)
    for rule in came:
        out.add(f"{kind}_added", (f"{noun} added: ", Code(rule)), after=rule)
