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

from ecrm_dsl.language.i18n import n_, tr, trn
from ecrm_dsl.language.targets import TargetAmount, spell_target
from ecrm_dsl.language.values import Duration
from ecrm_dsl.plan import text
from ecrm_dsl.review import diff_words as words
from ecrm_dsl.review.diff_model import Change, Changes, Code, Message, joined, say
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
        say(
            n_("scenario {scenario} added ({kind}): when {trigger}, {steps}"),
            scenario=scenario["id"],
            kind=(str(scenario.get("kind", "?")),),
            trigger=text.trigger(scenario["trigger"]),
            steps=(_steps(len(steps)),),
        ),
        after=text.trigger(scenario["trigger"]),
    )
    for node in scenario.get("nodes", []):
        out.add(
            "step_added",
            say(n_("step {step} — {action}"), step=node["id"], action=words.step(node)),
            step=node["id"],
            after=words.step(node),
        )
    return out.items


def removed_scenario(scenario: Json) -> list[Change]:
    out = Changes("scenario", scenario["id"])
    steps = len(scenario.get("nodes", []))
    out.add(
        "scenario_removed",
        say(
            n_("scenario {scenario} removed (was: when {trigger}, {steps})"),
            scenario=scenario["id"],
            trigger=text.trigger(scenario["trigger"]),
            steps=(_steps(steps),),
        ),
        before=text.trigger(scenario["trigger"]),
    )
    return out.items


def _steps(count: int) -> str:
    return trn("{count} step", "{count} steps", count, count=count)


def compare_scenario(old: Json, new: Json, nurture_only: list[str], priority: Sequence[Change] = ()) -> list[Change]:
    out = Changes("scenario", new["id"])
    out.value("title", (tr("title"),), old.get("title"), new.get("title"), words.quoted)
    if old.get("kind") != new.get("kind"):
        kinds = {"before": str(old.get("kind")), "after": str(new.get("kind"))}
        message: Message = say(n_("kind {before} → {after}"), **kinds)
        if nurture_only:
            # The policies' nurture_only segments receive nurture scenarios only: the kind decides who gets it.
            segments = joined([Code(s) for s in nurture_only])
            if new.get("kind") == "nurture":
                message = say(
                    n_("kind {before} → {after} — customers in {segments} now receive it"), **kinds, segments=segments
                )
            else:
                message = say(
                    n_("kind {before} → {after} — customers in {segments} no longer receive it"),
                    **kinds,
                    segments=segments,
                )
        out.add("kind", message, before=old.get("kind"), after=new.get("kind"))
    out.value("owner", (tr("owner"),), old.get("owner"), new.get("owner"), words.quoted)
    if old.get("description") != new.get("description"):
        message = (tr("description changed"),)
        out.add("description", message, before=old.get("description"), after=new.get("description"))
    _hypothesis(out, old.get("hypothesis"), new.get("hypothesis"))
    _trigger(out, old["trigger"], new["trigger"])
    _rules(out, "goal", [text.goal(g) for g in old.get("goals", [])], [text.goal(g) for g in new.get("goals", [])])
    _rules(out, "stop", [text.stop(s) for s in old.get("stop", [])], [text.stop(s) for s in new.get("stop", [])])
    out.value("reentry", (tr("re-entry"),), text.reentry(old.get("reentry")), text.reentry(new.get("reentry")))
    holdout = (old.get("holdout_percent"), new.get("holdout_percent"))
    out.value("holdout", (tr("holdout"),), *holdout, lambda v: f"{v or 0}%")
    backfill = (old.get("backfill_seconds"), new.get("backfill_seconds"))
    out.value("backfill", (tr("backfill"),), *backfill, words.seconds_text)
    out.items.extend(priority)
    compare_steps(out, old, new)
    for key in sorted((set(old) | set(new)) - _SCENARIO_KEYS):
        out.generic(key, old.get(key), new.get(key))
    return out.items


def _hypothesis(out: Changes, old: Json | None, new: Json | None) -> None:
    if old == new:
        return
    old, new = old or {}, new or {}
    out.value("hypothesis", (tr("hypothesis KPI"),), old.get("kpi"), new.get("kpi"), words.none_text)
    if old.get("statement") != new.get("statement"):
        statement = new.get("statement")
        if statement:
            message = say(n_("hypothesis statement now: {statement}"), statement=(words.quoted(statement),))
        else:
            message = (tr("hypothesis statement removed"),)
        out.add("hypothesis", message, before=old.get("statement"), after=statement)
    out.value("hypothesis", (tr("hypothesis target"),), _target(old.get("target")), _target(new.get("target")))


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
        message = say(n_("trigger: when {before} → when {after}"), before=before, after=after)
        out.add("trigger", message, before=before, after=after)
    out.condition("trigger_where", (tr("entry condition"),), old.get("where"), new.get("where"))


def _rules(out: Changes, kind: str, old: list[str], new: list[str]) -> None:
    """Goals or stop rules: a one-for-one replacement reads as a change, the rest as added / removed."""
    if Counter(old) == Counter(new):
        return
    gone = list((Counter(old) - Counter(new)).elements())
    came = list((Counter(new) - Counter(old)).elements())
    goal = kind == "goal"
    if len(gone) == 1 and len(came) == 1:
        said = n_("goal {before} → {after}") if goal else n_("stop rule {before} → {after}")
        out.add(f"{kind}_changed", say(said, before=gone[0], after=came[0]), before=gone[0], after=came[0])
        return
    for rule in gone:
        said = n_("goal removed: {rule}") if goal else n_("stop rule removed: {rule}")
        out.add(f"{kind}_removed", say(said, rule=rule), before=rule)
    for rule in came:
        said = n_("goal added: {rule}") if goal else n_("stop rule added: {rule}")
        out.add(f"{kind}_added", say(said, rule=rule), after=rule)
