"""The report as text for a terminal, and as long-format CSV (one number per row) for spreadsheets."""

from __future__ import annotations

import csv
import io
from typing import Any


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def interval(ci: list[float] | None) -> str:
    return "" if ci is None else f" [95% CI {ci[0]:.1%} to {ci[1]:.1%}]"


def points(uplift: dict[str, Any]) -> str:
    if uplift["points"] is None:
        return "uplift —"
    ci = uplift["ci95"]
    tail = f" [95% CI {ci[0] * 100:+.1f} to {ci[1] * 100:+.1f}]" if ci else ""
    return f"uplift {uplift['points'] * 100:+.1f} pt{tail}"


TEXT_COHORTS = 12  # a terminal shows the latest year of cohorts over their first year
TEXT_MONTHS = 13


def yen(amount: float | None, signed: bool = False) -> str:
    """Whole yen with separators: 12,345円 (signed: +1,200円); "—" when unknown."""
    if amount is None:
        return "—"
    whole = round(amount) + 0  # + 0 turns -0 into 0
    return f"{whole:+,}円" if signed else f"{whole:,}円"


def count(value: int | None) -> str:
    """A count, or "not tracked" when the store records no such events (unknown, not zero)."""
    return "not tracked" if value is None else f"{value:,}"


def tracked_percent(value: float | None, known: bool) -> str:
    return percent(value) if known else "not tracked"


def render_text(document: dict[str, Any]) -> str:
    head, kpis = document["report"], document["kpis"]
    since = head["from"] or "the beginning"
    lines = [f"ecrm report — {head['store']}, {since} to {head['to']} ({head['timezone']})"]
    if head["simulation"]:
        sim = head["simulation"]
        lines.append(f"simulated: {sim['from']} to {sim['to']}, ticks every {sim['step']}; nothing was delivered")
    f2, repeat, back = kpis["f2"], kpis["repeat"], kpis["winback"]
    lines += [
        "",
        f"F2 conversion within {f2['days']} days: {percent(f2['rate'])} ({f2['converted']:,} of {f2['cohort']:,} "
        f"first-time buyers){interval(f2['ci95'])}",
        f"repeat rate: {percent(repeat['rate'])} ({repeat['repeaters']:,} of {repeat['buyers']:,} buyers had 2+ "
        f"orders){interval(repeat['ci95'])}",
        f"win-back ({back['dormant_days']}+ days dormant at the start): {percent(back['rate'])} ({back['returned']:,} "
        f"of {back['dormant']:,} came back){interval(back['ci95'])}",
    ]
    if kpis["subscription_retention"]:
        curve = ", ".join(f"#{r['shipment']} {percent(r['rate'])}" for r in kpis["subscription_retention"])
        lines.append(f"subscription retention by shipment: {curve}")
    total = sum(d["count"] for d in document["sends_per_day"])
    days = len({d["date"] for d in document["sends_per_day"]})
    lines.append(f"messages sent: {total:,} on {days:,} days")
    if "money" in document:
        lines += ["", *_money(document["money"])]
    for s in document["scenarios"]:
        lines += ["", *_scenario(s)]
    return "\n".join(lines) + "\n"


def _comparison(label: str, c: dict[str, Any]) -> str:
    t, h = c["treated"], c["holdout"]
    return (
        f"{label}: messaged {percent(t['rate'])} ({t['converted']:,}/{t['n']:,}) vs holdout {percent(h['rate'])} "
        f"({h['converted']:,}/{h['n']:,}), {points(c['uplift'])}"
    )


def _figures(f: dict[str, Any]) -> str:
    return (
        f"{yen(f['revenue'])} from {f['orders']:,} orders by {f['buyers']:,} buyers, AOV {yen(f['aov'])}, "
        f"repeat {yen(f['repeat_revenue'])} ({percent(f['repeat_share'])})"
    )


def _money(m: dict[str, Any]) -> list[str]:
    rule = m["phase_rule"]
    lines = [f"revenue: {_figures(m['overall'])}"]
    if m["by_phase"]:
        lines.append(
            f"  by phase at the end (new: one order in the last {rule['new_days']} days; f2_pending: one older "
            f"order; repeat: 2-{rule['loyal_orders'] - 1}; loyal: {rule['loyal_orders']}+; dormant: none for "
            f"{rule['dormant_days']}+ days):"
        )
        lines += [f"    {g['group']}: {_figures(g)}" for g in m["by_phase"]]
    if m["by_entry_channel"]:
        lines.append("  by entry channel:")
        lines += [f"    {g['group']}: {_figures(g)}" for g in m["by_entry_channel"]]
    if m["by_segment"]:
        lines.append("  by segment (members at the end):")
        lines += [f"    {g['group']}: {_figures(g)}" for g in m["by_segment"]]
    if m["cohorts"]:
        shown = m["cohorts"][-TEXT_COHORTS:]
        lines.append(
            "  observed LTV per customer by first-purchase month (cumulative, by months since the first order"
            + (
                f"; the latest {TEXT_COHORTS} cohorts and {TEXT_MONTHS} months, all in json or html):"
                if len(shown) < len(m["cohorts"]) or any(len(c["ltv"]) > TEXT_MONTHS for c in shown)
                else "):"
            )
        )
        for c in shown:
            months = " · ".join(f"m{i} {yen(v)}" for i, v in enumerate(c["ltv"][:TEXT_MONTHS]))
            lines.append(f"    {c['cohort']} ({c['customers']:,} customers): {months}")
    return lines


def _revenue(r: dict[str, Any]) -> str:
    t, h = r["treated"], r["holdout"]
    head = f"revenue per enrollee within {r['window_days']:g} days"
    if not t["n"] and not h["n"]:
        return f"{head}: no enrollee's {r['window_days']:g} days have passed by the end of the report"
    if not h["n"]:
        return f"{head}: messaged {yen(t['per_customer'])} (n {t['n']:,}); no holdout enrollee to compare with"
    ci = r["ci95"]
    interval_text = f" [95% CI {yen(ci[0], True)} to {yen(ci[1], True)}]" if ci else ""
    return (
        f"{head}: messaged {yen(t['per_customer_winsorised'])} "
        f"(n {t['n']:,}) vs holdout {yen(h['per_customer_winsorised'])} (n {h['n']:,}), incremental "
        f"{yen(r['incremental_per_customer'], True)} per customer{interval_text} (winsorised at "
        f"{yen(r['winsorised_at'])}, the 99th percentile of enrollees)"
    )


def _delivery(d: dict[str, Any]) -> str:
    causes = ", ".join(f"{cause} {n:,}" for cause, n in d["skipped_by_cause"].items() if cause != "holdout")
    held = d["skipped_by_cause"].get("holdout", 0)
    return (
        f"delivery: {d['decided']:,} decided: delivered {d['delivered']:,}, pending {d['pending']:,}, "
        f"failed {d['failed']:,} (failure rate {percent(d['failure_rate'])}); skipped {d['skipped']:,}"
        f"{f' ({causes})' if causes else ''}, holdout {held:,}; unsubscribed within {d['unsubscribe_days']} days of "
        f"a message: {d['unsubscribed']:,} of {d['reached']:,} ({percent(d['unsubscribe_rate'])})"
    )


def _check(c: dict[str, Any]) -> str:
    groups = ", ".join(
        f"{g['group']} {g['observed']:,} ({percent(g['observed_share'])}, configured {percent(g['expected_share'])})"
        for g in c["groups"]
    )
    if c["p"] is None:
        verdict = "nothing to test yet"
    else:
        verdict = f"chi² {c['chi2']:.2f}, p {c['p']:.3g}: " + ("SAMPLE RATIO MISMATCH" if c["mismatch"] else "ok")
    what = "holdout" if c["kind"] == "holdout" else f"split {c['name']}"
    return f"sample ratio, {what}: {groups}; {verdict}"


def _measured_value(value: float | None, unit: str, ci: list[float] | None) -> str:
    if value is None:
        return "—"
    if unit == "円":
        tail = f" [95% CI {yen(ci[0], True)} to {yen(ci[1], True)}]" if ci else ""
        return f"{yen(value, True)}{tail}"
    tail = f" [95% CI {ci[0] * 100:+.1f} to {ci[1] * 100:+.1f}]" if ci else ""
    return f"{value * 100:+.1f} {'pt' if unit == 'pt' else '%'}{tail}"


def _hypothesis(h: dict[str, Any]) -> list[str]:
    target = h["target"]
    head = f"  hypothesis {h['kpi']}: {h['statement']}"
    if target is None:
        return [head + " (no target)"]
    lines = [head, f"    target {target['text']}"]
    m = h["measured"]
    if m is not None:
        t, c = m["treated"], m["holdout"]
        if "rate" in t:
            groups = (
                f"messaged {percent(t['rate'])} ({t['buyers']:,}/{t['n']:,}) vs holdout {percent(c['rate'])} "
                f"({c['buyers']:,}/{c['n']:,})"
            )
        else:
            groups = f"messaged {yen(t['value'])} (n {t['n']:,}) vs holdout {yen(c['value'])} (n {c['n']:,})"
        capped = f", winsorised at {yen(m['cap'])}" if m.get("cap") is not None else ""
        lines.append(
            f"    measured ({m['measure']} within {target['within_days']:g} days{capped}): {groups}, "
            f"{_measured_value(m['effect'], target['unit'], m['ci95'])}"
        )
    lines.append(f"    verdict: {h['verdict']} — {h['reason']}")
    return lines


def _scenario(s: dict[str, Any]) -> list[str]:
    lines = [
        f"{s['id']} — {s['title'] or ''} ({s['kind']})",
        "  " + _comparison("conversion", s["conversion"]),
        "  funnel: " + " → ".join(f"{f['stage']} {count(f['count'])}" for f in s["funnel"]),
    ]
    if "revenue" in s:
        lines += ["  " + _revenue(s["revenue"]), "  " + _delivery(s["delivery"])]
    for step in s["steps"]:
        failed = f", {step['failed']:,} failed" if step.get("failed") else ""
        lines.append(
            f"  {step['id']} ({step['channel']}): sent {step['sent']:,}{failed}, "
            f"opened {tracked_percent(step['open_rate'], step['opened'] is not None)}, "
            f"clicked {tracked_percent(step['click_rate'], step['clicked'] is not None)}, "
            f"conversions {step['conversions']:,} ({percent(step['conversion_rate'])}, last touch)"
        )
    for v in s["variants"]:
        lines.append(
            f"  variant {v['split']}/{v['variant']}: {percent(v['rate'])} ({v['converted']:,}/{v['n']:,})"
            f"{interval(v['ci95'])}, vs holdout {points(v['uplift'])}"
        )
    for key, title in (("by_phase", "phase at entry"), ("by_segment", "segment")):
        for group in s[key]:
            lines.append("  " + _comparison(f"{title} {group['group']}", group))
    lines += ["  " + _check(c) for c in s.get("experiments", [])]
    lines += [f"  warning: {w}" for w in s.get("warnings", [])]
    if s.get("hypothesis"):
        lines += _hypothesis(s["hypothesis"])
    return lines


def render_csv(document: dict[str, Any]) -> str:
    """Rows of (section, scenario, group, measure, value); rates as fractions, empty where undefined."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "scenario", "group", "measure", "value"])

    def row(section: str, scenario: str, group: str, measure: str, value: Any) -> None:
        writer.writerow([section, scenario, group, measure, "" if value is None else value])

    for name, kpi in sorted((k, v) for k, v in document["kpis"].items() if isinstance(v, dict)):
        for measure, value in kpi.items():
            if measure == "ci95":
                row("kpi", "", name, "ci95_low", value[0] if value else None)
                row("kpi", "", name, "ci95_high", value[1] if value else None)
            else:
                row("kpi", "", name, measure, value)
    for point in document["kpis"]["subscription_retention"]:
        row("retention", "", f"shipment {point['shipment']}", "reached", point["reached"])
        row("retention", "", f"shipment {point['shipment']}", "rate", point["rate"])
    for day in document["sends_per_day"]:
        row("sends_per_day", "", day["date"], day["channel"], day["count"])
    money = document.get("money")
    if money:
        for section, groups in (
            ("money", [{"group": "all", **money["overall"]}]),
            ("money_by_phase", money["by_phase"]),
            ("money_by_entry_channel", money["by_entry_channel"]),
            ("money_by_segment", money["by_segment"]),
        ):
            for group in groups:
                for measure in MONEY_MEASURES:
                    row(section, "", group["group"], measure, group[measure])
        for cohort in money["cohorts"]:
            row("cohort_ltv", "", cohort["cohort"], "customers", cohort["customers"])
            for month, value in enumerate(cohort["ltv"]):
                row("cohort_ltv", "", cohort["cohort"], f"month_{month}", value)
    for s in document["scenarios"]:
        sid = s["id"]
        for stage in s["funnel"]:
            row("funnel", sid, "", stage["stage"], stage["count"])
        _comparison_rows(row, "conversion", sid, "", s["conversion"])
        for step in s["steps"]:
            for measure in ("sent", "opened", "clicked", "open_rate", "click_rate", "conversions", "conversion_rate"):
                row("step", sid, step["id"], measure, step[measure])
        for v in s["variants"]:
            group = f"{v['split']}/{v['variant']}"
            for measure in ("n", "converted", "rate"):
                row("variant", sid, group, measure, v[measure])
            row("variant", sid, group, "uplift_points", v["uplift"]["points"])
        for key in ("by_phase", "by_segment"):
            for group in s[key]:
                _comparison_rows(row, key, sid, group["group"], group)
        if "revenue" in s:
            _scenario_money_rows(row, s)
    return out.getvalue()


MONEY_MEASURES = ("orders", "revenue", "aov", "repeat_revenue", "repeat_share", "buyers", "revenue_per_buyer")


def _scenario_money_rows(row: Any, s: dict[str, Any]) -> None:
    sid, revenue = s["id"], s["revenue"]
    for arm in ("treated", "holdout"):
        for measure in ("n", "buyers", "revenue", "per_customer", "per_customer_winsorised"):
            row("revenue", sid, arm, measure, revenue[arm][measure])
    ci = revenue["ci95"]
    for measure, value in (
        ("window_days", revenue["window_days"]),
        ("winsorised_at", revenue["winsorised_at"]),
        ("incremental_per_customer", revenue["incremental_per_customer"]),
        ("incremental_ci95_low", ci[0] if ci else None),
        ("incremental_ci95_high", ci[1] if ci else None),
    ):
        row("revenue", sid, "", measure, value)
    for measure, value in s["delivery"].items():
        if measure == "skipped_by_cause":
            for cause, n in value.items():
                row("delivery", sid, cause, "skipped", n)
        else:
            row("delivery", sid, "", measure, value)
    for check in s["experiments"]:
        name = f"{check['kind']}/{check['name']}"
        for group in check["groups"]:
            row("sample_ratio", sid, f"{name}/{group['group']}", "observed", group["observed"])
            row("sample_ratio", sid, f"{name}/{group['group']}", "expected_share", group["expected_share"])
        for measure in ("chi2", "p", "mismatch"):
            row("sample_ratio", sid, name, measure, check[measure])
    h = s["hypothesis"]
    if h and h["target"]:
        row("hypothesis", sid, h["kpi"], "target", h["target"]["text"])
        row("hypothesis", sid, h["kpi"], "verdict", h["verdict"])
        measured = h["measured"]
        if measured:
            row("hypothesis", sid, h["kpi"], "effect", measured["effect"])
            row("hypothesis", sid, h["kpi"], "effect_ci95_low", measured["ci95"][0] if measured["ci95"] else None)
            row("hypothesis", sid, h["kpi"], "effect_ci95_high", measured["ci95"][1] if measured["ci95"] else None)


def _comparison_rows(row: Any, section: str, sid: str, group: str, c: dict[str, Any]) -> None:
    for arm in ("treated", "holdout"):
        for measure in ("n", "converted", "rate"):
            row(section, sid, group, f"{arm}_{measure}", c[arm][measure])
    row(section, sid, group, "uplift_points", c["uplift"]["points"])
    ci = c["uplift"]["ci95"]
    row(section, sid, group, "uplift_ci95_low", ci[0] if ci else None)
    row(section, sid, group, "uplift_ci95_high", ci[1] if ci else None)
