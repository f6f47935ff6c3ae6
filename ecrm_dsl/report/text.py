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
    for s in document["scenarios"]:
        lines += ["", *_scenario(s)]
    return "\n".join(lines) + "\n"


def _comparison(label: str, c: dict[str, Any]) -> str:
    t, h = c["treated"], c["holdout"]
    return (
        f"{label}: messaged {percent(t['rate'])} ({t['converted']:,}/{t['n']:,}) vs holdout {percent(h['rate'])} "
        f"({h['converted']:,}/{h['n']:,}), {points(c['uplift'])}"
    )


def _scenario(s: dict[str, Any]) -> list[str]:
    lines = [
        f"{s['id']} — {s['title'] or ''} ({s['kind']})",
        "  " + _comparison("conversion", s["conversion"]),
        "  funnel: " + " → ".join(f"{f['stage']} {f['count']:,}" for f in s["funnel"]),
    ]
    for step in s["steps"]:
        lines.append(
            f"  {step['id']} ({step['channel']}): sent {step['sent']:,}, opened {percent(step['open_rate'])}, "
            f"clicked {percent(step['click_rate'])}, conversions {step['conversions']:,} "
            f"({percent(step['conversion_rate'])}, last touch)"
        )
    for v in s["variants"]:
        lines.append(
            f"  variant {v['split']}/{v['variant']}: {percent(v['rate'])} ({v['converted']:,}/{v['n']:,})"
            f"{interval(v['ci95'])}, vs holdout {points(v['uplift'])}"
        )
    for key, title in (("by_phase", "phase at entry"), ("by_segment", "segment")):
        for group in s[key]:
            lines.append("  " + _comparison(f"{title} {group['group']}", group))
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
    return out.getvalue()


def _comparison_rows(row: Any, section: str, sid: str, group: str, c: dict[str, Any]) -> None:
    for arm in ("treated", "holdout"):
        for measure in ("n", "converted", "rate"):
            row(section, sid, group, f"{arm}_{measure}", c[arm][measure])
    row(section, sid, group, "uplift_points", c["uplift"]["points"])
    ci = c["uplift"]["ci95"]
    row(section, sid, group, "uplift_ci95_low", ci[0] if ci else None)
    row(section, sid, group, "uplift_ci95_high", ci[1] if ci else None)
