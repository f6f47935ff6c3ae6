"""One scenario, two versions: what changed, in the words of the scenario language.

Scenario-level fields first (kind, owner, hypothesis, trigger, goals, stop rules, re-entry, holdout, backfill),
then the steps in the new flow's order: added, removed, moved, and per step its timing, guard, channel,
template, parameters, wait, branch arms and split weights. Anything the plan carries that is not described
here still shows up as a generic change, so a difference is never silently dropped.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

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
            Code(trigger_text(scenario["trigger"])),
            f", {len(steps)} step" + ("" if len(steps) == 1 else "s"),
        ),
        after=trigger_text(scenario["trigger"]),
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
            Code(trigger_text(scenario["trigger"])),
            f", {steps} step" + ("" if steps == 1 else "s") + ")",
        ),
        before=trigger_text(scenario["trigger"]),
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
    _rules(out, "goal", [goal_text(g) for g in old.get("goals", [])], [goal_text(g) for g in new.get("goals", [])])
    _rules(out, "stop", [stop_text(s) for s in old.get("stop", [])], [stop_text(s) for s in new.get("stop", [])])
    out.value("reentry", ("re-entry",), reentry_text(old.get("reentry")), reentry_text(new.get("reentry")))
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


# --------------------------------------------------------------------------- entry and outcome rules


def trigger_text(t: Json, with_where: bool = True) -> str:
    kind = t.get("type")
    if kind == "event":
        text = str(t.get("event"))
    elif kind == "segment":
        text = f"segment {t.get('segment')}"
    elif kind == "date":
        seconds = int(t.get("offset_seconds") or 0)
        offset = f"{words.duration(abs(seconds))} {'before' if seconds < 0 else 'after'} " if seconds else ""
        at = f" at {t['at']}" if t.get("at") else ""
        text = f"date {offset}customer.{t.get('attribute')}{at}{' yearly' if t.get('yearly') else ''}"
    else:
        text = f"schedule {json.dumps(t.get('cron'))} audience {t.get('audience')}"
    if with_where and t.get("where") is not None:
        text += f" where {words.condition(t['where'])}"
    return text


def _trigger(out: Changes, old: Json, new: Json) -> None:
    if old == new:
        return
    before, after = trigger_text(old, with_where=False), trigger_text(new, with_where=False)
    if before != after:
        out.add("trigger", ("trigger: when ", Code(before), " → when ", Code(after)), before=before, after=after)
    out.condition("trigger_where", ("entry condition",), old.get("where"), new.get("where"))


def goal_text(g: Json) -> str:
    match = {"repeat": " repeat", "same": f" same {g.get('property')}"}.get(g.get("match") or "", "")
    within = f" within {words.duration(g['within_seconds'])}" if g.get("within_seconds") else ""
    where = f" where {words.condition(g['where'])}" if g.get("where") is not None else ""
    return f"{g.get('event')}{match}{within}{where}"


def stop_text(s: Json) -> str:
    if "when" in s:
        return f"when {words.condition(s['when'])}"
    same = f" same {s['same']}" if s.get("same") else ""
    where = f" where {words.condition(s['where'])}" if s.get("where") is not None else ""
    return f"on {s.get('event')}{same}{where}"


def reentry_text(r: Json | None) -> str:
    if not r:
        return "never"
    if r.get("mode") == "cooldown":
        return f"after {words.duration(r.get('cooldown_seconds') or 0)}"
    return str(r.get("mode"))


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
    for text in gone:
        out.add(f"{kind}_removed", (f"{noun} removed: ", Code(text)), before=text)
    for text in came:
        out.add(f"{kind}_added", (f"{noun} added: ", Code(text)), after=text)
