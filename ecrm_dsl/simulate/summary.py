"""What a replay did, per scenario and per step: entered, sent by channel, skipped and deferred by cause,
converted, holdout — as a JSON-ready dict, and rendered as text or CSV."""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ecrm_dsl.language.i18n import DEFAULT, language, lookup, n_, tr, trn
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.nodes import SendNode, SplitNode
from ecrm_dsl.plan.scenario import ScenarioPlan
from ecrm_dsl.report.power import PowerEstimate, design_for
from ecrm_dsl.store import coupons
from ecrm_dsl.store.tallies import DecisionTally, decision_tallies, enrollment_tallies

# Decision kinds shown per step, each a {label: count}; deferrals count customers, the rest decisions.
STEP_MEASURES = ("sent", "skipped", "deferred", "branched", "assigned", "waiting", "heard", "timed_out", "updated")
# How the text names each measure (English: the kind, with spaces).
MEASURE_WORDS = {
    "sent": n_("sent"),
    "skipped": n_("skipped"),
    "deferred": n_("deferred"),
    "branched": n_("branched"),
    "assigned": n_("assigned"),
    "waiting": n_("waiting"),
    "heard": n_("heard"),
    "timed_out": n_("timed out"),
    "updated": n_("updated"),
}


def summarize(
    conn: Connection,
    plan: Plan,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    weeks: float | None = None,
    uplift: float | None = None,
) -> list[dict[str, Any]]:
    """Per scenario of ``plan`` (by id), what happened (between ``start`` and ``end`` when given); with the
    replay's length in ``weeks`` and an ``uplift`` to detect, each scenario's power estimate too."""
    by_scenario: dict[str, list[DecisionTally]] = defaultdict(list)
    for tally in decision_tallies(conn, start, end):
        by_scenario[tally.scenario_id].append(tally)
    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    for row in enrollment_tallies(conn, start, end):
        statuses[row.scenario_id][row.status] += row.enrollments
        statuses[row.scenario_id]["holdout"] += row.enrollments if row.holdout else 0
        if row.holdout and row.status == "converted":
            statuses[row.scenario_id]["converted_holdout"] += row.enrollments
    summaries = []
    for scenario in sorted(plan.scenarios, key=lambda s: s.id):
        summary = _scenario(scenario, by_scenario.get(scenario.id, []), statuses.get(scenario.id, Counter()))
        if weeks and uplift:
            summary["power"] = power_estimate(scenario, summary, weeks, uplift).as_dict()
        summaries.append(summary)
    return summaries


# A pool that would last fewer weeks than this at the replay's pace is flagged (simulate, diff --power, lint --store).
CAPACITY_WEEKS = 4


def coupon_capacity(
    conn: Connection, plan: Plan, end: datetime, weeks: float, usable: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    """Per coupon pool the plan's templates draw from: codes drawn in the replay, sends that found none left, the
    week's pace of both together (what the scenarios ask of the pool), and how long the codes still usable at its
    end would last at that pace — the replay's own, or ``usable`` (pool -> codes) when the question is about the
    real store's codes at ``end`` rather than what the replay left of them."""
    pool_of = {name: t.coupon.pool for name, t in plan.templates.items() if t.coupon is not None}
    missed = _missed_codes(conn, plan, pool_of)
    stocks = {s.pool: s for s in coupons.stock(conn, end, sorted(set(pool_of.values())))}
    found = []
    for pool in sorted(set(pool_of.values())):
        stock = stocks.get(pool)
        drawn, left = (stock.given, stock.usable) if stock else (0, 0)
        left = usable.get(pool, 0) if usable is not None else left
        weekly = (drawn + missed[pool]) / weeks if weeks else 0.0
        found.append(
            {
                "pool": pool,
                "drawn": drawn,
                "missed": missed[pool],
                "weekly": round(weekly, 3),
                "usable_at_end": left,
                "weeks_left": round(left / weekly, 1) if weekly else None,
            }
        )
    return found


def _missed_codes(conn: Connection, plan: Plan, pool_of: dict[str, str]) -> Counter[str]:
    """Per pool, the sends skipped because it had no unused code (``no_coupon``)."""
    template_of = {
        (scenario.id, node.id): node.template
        for scenario in plan.scenarios
        for node in scenario.nodes
        if isinstance(node, SendNode)
    }
    missed: Counter[str] = Counter()
    for tally in decision_tallies(conn):
        if tally.kind == "skipped" and tally.label == "no_coupon":
            template = template_of.get((tally.scenario_id, tally.node_id or ""))
            if template in pool_of:
                missed[pool_of[template]] += tally.decisions
    return missed


def short_of_codes(pool: dict[str, Any]) -> bool:
    return pool["weeks_left"] is not None and pool["weeks_left"] < CAPACITY_WEEKS


def render_coupons(pools: list[dict[str, Any]]) -> list[str]:
    lines = []
    for p in pools:
        if p["weeks_left"] is not None:
            left = tr("about {weeks} weeks at that pace", weeks=f"{p['weeks_left']:,}")
        else:
            left = tr("none wanted")
        if short_of_codes(p):
            left += " — " + tr("import more codes before it runs out")
        if p["missed"]:
            drawn = tr(
                "{drawn} codes drawn and {missed} sends found none left",
                drawn=f"{p['drawn']:,}",
                missed=f"{p['missed']:,}",
            )
        else:
            drawn = tr("{drawn} codes drawn", drawn=f"{p['drawn']:,}")
        lines.append(
            tr(
                "coupon pool {pool}: {drawn} (~{weekly} wanted a week), {usable} usable at the end: {left}",
                pool=p["pool"],
                drawn=drawn,
                weekly=f"{p['weekly']:,.0f}",
                usable=f"{p['usable_at_end']:,}",
                left=left,
            )
        )
    return lines


def power_estimate(scenario: ScenarioPlan, summary: dict[str, Any], weeks: float, uplift: float) -> PowerEstimate:
    """From a replay: entrants per week, and conversion of all entrants as the baseline — a replay's messages
    change no purchase, so messaged and holdout convert alike and together give the rate to beat."""
    variants = next(
        ([(v.name, v.weight) for v in node.variants] for node in scenario.nodes if isinstance(node, SplitNode)), []
    )
    design, comparison = design_for(scenario.holdout_percent, variants)
    entered = summary["entered"]
    windows = [g.within_seconds for g in scenario.goals if g.within_seconds]
    baseline = summary["converted"] / entered if scenario.goals and entered else None
    if not scenario.goals:
        design, comparison = None, "no goal: nothing to measure"
    target = scenario.hypothesis.target if scenario.hypothesis else None
    uplift_from = "--uplift"
    if target is not None and target.unit == "pt" and target.amount > 0:
        # The uplift the planners said they expect, in conversion points: what the holdout has to be able to see.
        uplift, uplift_from = target.amount / 100, "the hypothesis target"
    return PowerEstimate(
        weekly_entrants=entered / weeks,
        baseline=baseline if baseline else None,
        design=design,
        comparison=comparison,
        goal_window_days=max(windows) / 86_400 if windows else None,
        uplift=uplift,
        uplift_from=uplift_from,
    )


def _scenario(scenario: ScenarioPlan, tallies: list[DecisionTally], status: Counter[str]) -> dict[str, Any]:
    entered = sum(status[s] for s in ("active", "converted", "exited", "completed"))
    holdout = status["holdout"]
    converted, converted_holdout = status["converted"], status["converted_holdout"]

    def labels(kind: str, node: str | None = None, *, any_node: bool = False) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for t in tallies:
            if t.kind == kind and (any_node or t.node_id == node):
                counts[t.label] += t.enrollments if kind == "deferred" else t.decisions
        return dict(sorted(counts.items()))

    steps = []
    for node in scenario.nodes:
        step: dict[str, Any] = {"id": node.id, "kind": node.kind}
        if isinstance(node, SendNode):
            step["channel"] = node.channel
        for measure in STEP_MEASURES:
            found = labels(measure, node.id)
            if found:
                step[measure] = found
        converted_here = sum(labels("converted", node.id).values())
        if converted_here:
            step["converted_here"] = converted_here
        steps.append(step)
    return {
        "id": scenario.id,
        "title": scenario.title,
        "kind": scenario.kind,
        "entered": entered,
        "holdout": holdout,
        "not_entered": labels("not_entered", any_node=True),
        "converted": converted,
        "converted_treated": converted - converted_holdout,
        "converted_holdout": converted_holdout,
        "exited": status["exited"],
        "exit_reasons": labels("exited", any_node=True),
        "completed": status["completed"],
        "in_flight": status["active"],
        "steps": steps,
    }


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "—"


def _counts(values: dict[str, int] | None) -> str:
    return "; ".join(f"{label} {n:,}" if label else f"{n:,}" for label, n in (values or {}).items())


def render_text(header: list[str], scenarios: list[dict[str, Any]]) -> str:
    lines = list(header)
    for s in scenarios:
        treated = s["entered"] - s["holdout"]
        lines += [
            "",
            f"{s['id']} — {s['title'] or ''} ({s['kind']})",
            tr(
                "  entered {entered} (holdout {holdout}) · converted {converted} of {messaged} messaged ({rate}), "
                "holdout {converted_holdout} of {holdout} ({holdout_rate}) · exited {exited} · completed {completed} "
                "· in flight at the end {in_flight}",
                entered=f"{s['entered']:,}",
                holdout=f"{s['holdout']:,}",
                converted=f"{s['converted_treated']:,}",
                messaged=f"{treated:,}",
                rate=_rate(s["converted_treated"], treated),
                converted_holdout=f"{s['converted_holdout']:,}",
                holdout_rate=_rate(s["converted_holdout"], s["holdout"]),
                exited=f"{s['exited']:,}",
                completed=f"{s['completed']:,}",
                in_flight=f"{s['in_flight']:,}",
            ),
        ]
        if "power" in s:
            lines.append(tr("  power: {sentence}", sentence=power_sentence(s["power"])))
        if s["not_entered"]:
            lines.append(tr("  not entered: {counts}", counts=_counts(s["not_entered"])))
        if s["exit_reasons"]:
            lines.append(tr("  exits: {counts}", counts=_counts(s["exit_reasons"])))
        for step in s["steps"]:
            parts = [
                f"{lookup(MEASURE_WORDS[measure])}: {_counts(step[measure])}"
                for measure in STEP_MEASURES
                if measure in step
            ]
            if "converted_here" in step:
                parts.append(tr("converted while here: {count}", count=f"{step['converted_here']:,}"))
            lines.append(f"  {step['id']} ({step['kind']}): " + (" | ".join(parts) if parts else tr("never reached")))
    return "\n".join(lines) + "\n"


def power_sentence(power: dict[str, Any]) -> str:
    """A power estimate's line in the current language: in English the document's own ``sentence`` (which the JSON
    carries, always English); otherwise the same sentence said again from the document's figures."""
    if language() == DEFAULT:
        return str(power["sentence"])
    head = tr("~{count} entrants a week", count=f"{power['weekly_entrants']:,.0f}")
    comparison = _comparison(str(power["comparison"]))
    if power["groups"] is None:
        return f"{head}; {comparison}"
    if power["baseline"] is None:
        return f"{head}; " + tr("no conversion to start from, so no estimate ({comparison})", comparison=comparison)
    parts = [f"{head}, " + tr("baseline conversion {rate}", rate=f"{power['baseline']:.1%}"), comparison]
    points = f"{power['uplift'] * 100:.1f}pt"
    if power["uplift_from"] != "--uplift":
        asked = tr("+{points} (the hypothesis target)", points=points)
    else:
        asked = f"+{points}"
    weeks = power["weeks_needed"]
    if weeks is None:
        parts.append(tr("{uplift} cannot be detected from this baseline", uplift=asked))
    else:
        count = 1 if weeks <= 1 else math.ceil(weeks)
        span = trn("{count} week", "{count} weeks", count, count=f"{count:,}")
        if power["goal_window_days"]:
            parts.append(
                tr(
                    "{uplift} detectable after {weeks} of enrollment plus the {days}-day goal window",
                    uplift=asked,
                    weeks=span,
                    days=f"{power['goal_window_days']:g}",
                )
            )
        else:
            parts.append(tr("{uplift} detectable after {weeks} of enrollment", uplift=asked, weeks=span))
        if weeks > 52:
            parts.append(tr("over a year: a larger holdout, a bolder change or a wider audience would shorten it"))
    shown = [
        f"{label}: +{mde * 100:.1f}pt" if mde is not None else tr("{weeks}: none", weeks=label)
        for label, mde in (power["detectable_uplift"] or {}).items()
    ]
    parts.append(tr("smallest detectable uplift {values}", values=", ".join(shown)))
    alpha, level = f"{power['alpha']:g}", f"{power['power']:.0%}"
    return tr("{estimate} (α {alpha}, power {power})", estimate="; ".join(parts), alpha=alpha, power=level)


_VARIANT_VS_HOLDOUT = re.compile(r"variant (?P<name>.+) vs holdout")
_VARIANT_VS_VARIANT = re.compile(r"variant (?P<first>.+) vs variant (?P<second>.+)")


def _comparison(comparison: str) -> str:
    """The comparison an estimate is about (kept in English in the document), in the current language."""
    if comparison == "messaged vs holdout":
        return tr("messaged vs holdout")
    if match := _VARIANT_VS_HOLDOUT.fullmatch(comparison):
        return tr("variant {name} vs holdout", name=match["name"])
    if match := _VARIANT_VS_VARIANT.fullmatch(comparison):
        return tr("variant {first} vs variant {second}", first=match["first"], second=match["second"])
    if comparison == "no goal: nothing to measure":
        return tr("no goal: nothing to measure")
    if comparison.startswith("no holdout or split"):
        return tr("no holdout or split: the uplift cannot be measured (add `holdout 10%`)")
    return comparison


def render_csv(scenarios: list[dict[str, Any]]) -> str:
    """Long format, one number per row (scenario, step, measure, label, value): pivots in any spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scenario", "step", "measure", "label", "value"])
    for s in scenarios:
        for measure in (
            "entered",
            "holdout",
            "converted",
            "converted_treated",
            "converted_holdout",
            "exited",
            "completed",
            "in_flight",
        ):
            writer.writerow([s["id"], "", measure, "", s[measure]])
        for measure in ("not_entered", "exit_reasons"):
            for label, n in s[measure].items():
                writer.writerow([s["id"], "", measure, label, n])
        power = s.get("power") or {}
        for measure in ("weekly_entrants", "baseline", "weeks_needed"):
            if power.get(measure) is not None:
                writer.writerow([s["id"], "", f"power_{measure}", "", power[measure]])
        for label, mde in (power.get("detectable_uplift") or {}).items():
            if mde is not None:
                writer.writerow([s["id"], "", "power_detectable_uplift", label, mde])
        for step in s["steps"]:
            for measure in STEP_MEASURES:
                for label, n in step.get(measure, {}).items():
                    writer.writerow([s["id"], step["id"], measure, label, n])
            if "converted_here" in step:
                writer.writerow([s["id"], step["id"], "converted_here", "", step["converted_here"]])
    return out.getvalue()
