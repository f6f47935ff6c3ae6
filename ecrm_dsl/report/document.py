"""The whole report as one JSON-ready document: what every format (text, JSON, CSV, HTML) renders."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from ecrm_dsl.plan.model import Plan
from ecrm_dsl.report.kpis import f2_conversion, repeat_rate, subscription_retention, winback
from ecrm_dsl.report.money import money
from ecrm_dsl.report.scenarios import scenario_results, segment_audiences
from ecrm_dsl.store import report_queries as q


@dataclass(frozen=True)
class ReportOptions:
    store: str
    timezone: str
    f2_days: int = 90
    dormant_days: int = 150
    segments: tuple[str, ...] | None = None  # None: every segment of the plan
    simulation: dict[str, Any] | None = None


def build_report(conn: Connection, plan: Plan | None, window: q.Window, options: ReportOptions) -> dict[str, Any]:
    zone = ZoneInfo(options.timezone)
    if options.segments is not None:
        segments = options.segments
    else:
        segments = tuple(sorted(plan.segments)) if plan is not None else ()
    return {
        "report": {
            "title": "ecrm report",
            "store": options.store,
            "from": window.start.astimezone(zone).isoformat() if window.start else None,
            "to": window.end.astimezone(zone).isoformat(),
            "timezone": options.timezone,
            "simulation": options.simulation,
            "f2_days": options.f2_days,
            "dormant_days": options.dormant_days,
        },
        "kpis": {
            "f2": f2_conversion(conn, window, options.f2_days),
            "repeat": repeat_rate(conn, window),
            "winback": winback(conn, window, options.dormant_days),
            "subscription_retention": subscription_retention(conn, window),
        },
        "money": money(
            conn, window, zone, options.dormant_days, segment_audiences(plan, segments, window) if plan else []
        ),
        "sends_per_day": sends_per_day(conn, window, zone),
        "scenarios": scenario_results(conn, plan, window, segments) if plan is not None else [],
    }


def sends_per_day(conn: Connection, window: q.Window, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Messages sent per shop-local day and channel."""
    counts: Counter[tuple[str, str]] = Counter()
    for at, channel in q.sends_with_time(conn, window):
        counts[(at.astimezone(zone).date().isoformat(), channel)] += 1
    return [{"date": day, "channel": channel, "count": n} for (day, channel), n in sorted(counts.items())]
