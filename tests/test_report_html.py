"""The ``ecrm report`` HTML page: escaping, missing values, no external resources, stable bytes, parseable SVG.

The last test opens the page in headless Chromium (Debian package ``chromium``): a screenshot at 1280 px that is
not blank, and the DOM Chromium built from the page. Skipped, with the reason, when Chromium is not installed.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from datetime import date, timedelta
from html import escape
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from ecrm_dsl.report.html import render_html
from ecrm_dsl.report.html_charts import CHANNEL_COLORS

Json = dict[str, Any]


def _group(n: int, converted: int, rate: float | None, ci: list[float] | None) -> Json:
    return {"n": n, "converted": converted, "rate": rate, "ci95": ci}


def _f2_scenario() -> Json:
    return {
        "id": "f2_step_mail",
        "title": "初回購入後のF2転換ステップメール",
        "kind": "sell",
        "entered": 1300,
        "messaged": 1170,
        "holdout": 130,
        "conversion": {
            "treated": _group(1170, 210, 0.179, [0.158, 0.203]),
            "holdout": _group(130, 15, 0.115, [0.071, 0.182]),
            "uplift": {"points": 0.064, "ci95": [-0.003, 0.117], "relative": 0.55},
        },
        "funnel": [
            {"stage": "entered", "count": 1300},
            {"stage": "messaged", "count": 1170},
            {"stage": "sent", "count": 1100},
            {"stage": "opened", "count": 500},
            {"stage": "clicked", "count": 120},
            {"stage": "converted", "count": 210},
        ],
        "steps": [
            {
                "id": "f2_thanks",
                "kind": "send",
                "channel": "email",
                "sent": 1100,
                "opened": 500,
                "clicked": 120,
                "open_rate": 0.45,
                "click_rate": 0.11,
                "conversions": 80,
                "conversion_rate": 0.073,
            },
            {
                "id": "f2_line_coupon",
                "kind": "send",
                "channel": "line",
                "sent": 0,
                "opened": None,
                "clicked": None,
                "open_rate": None,
                "click_rate": None,
                "conversions": 0,
                "conversion_rate": None,
            },
        ],
        "variants": [
            {
                "split": "subject_test",
                "variant": "discount_subject",
                "n": 600,
                "converted": 110,
                "rate": 0.183,
                "ci95": [0.155, 0.215],
                "uplift": {"points": 0.068, "ci95": [0.001, 0.121], "relative": 0.59},
            },
            {
                "split": "subject_test",
                "variant": "story_subject",
                "n": 570,
                "converted": 100,
                "rate": 0.175,
                "ci95": None,
                "uplift": {"points": None, "ci95": None, "relative": None},
            },
        ],
        "by_phase": [
            {
                "group": "F1",
                "treated": _group(1000, 180, 0.18, [0.157, 0.205]),
                "holdout": _group(110, 12, 0.109, [0.063, 0.181]),
                "uplift": {"points": 0.071, "ci95": [0.002, 0.125], "relative": 0.65},
            },
        ],
        "by_segment": [
            {
                "group": "loyal_customers",
                "treated": _group(400, 90, 0.225, [0.187, 0.268]),
                "holdout": _group(0, 0, None, None),
                "uplift": {"points": None, "ci95": None, "relative": None},
            },
        ],
        **_evidence(),
    }


def _evidence() -> Json:
    """What the report adds to a scenario about money, delivery, its experiments and its hypothesis."""
    return {
        "revenue": {
            "window_days": 30,
            "treated": {
                "n": 1000,
                "buyers": 180,
                "revenue": 1_250_000,
                "per_customer": 1250.0,
                "per_customer_winsorised": 1180.0,
            },
            "holdout": {
                "n": 110,
                "buyers": 12,
                "revenue": 90_000,
                "per_customer": 818.18,
                "per_customer_winsorised": 818.18,
            },
            "winsorised_at": 12000,
            "incremental_per_customer": 361.82,
            "ci95": [-12.5, 736.1],
            "method": "winsorised at the 99th percentile of enrollees; Welch 95% interval",
        },
        "delivery": {
            "decided": 1300,
            "delivered": 1250,
            "pending": 20,
            "failed": 30,
            "skipped": 45,
            "skipped_by_cause": {"holdout": 130, "no_channel": 40, "frequency_cap": 5},
            "failure_rate": 0.023438,
            "reached": 1100,
            "unsubscribed": 4,
            "unsubscribe_rate": 0.003636,
            "unsubscribe_days": 7,
        },
        "experiments": [
            {
                "kind": "holdout",
                "name": "holdout",
                "chi2": 18.2,
                "p": 2e-05,
                "mismatch": True,
                "message": "sample ratio mismatch: …",
                "groups": [
                    {"group": "messaged", "expected_share": 0.9, "observed": 1170, "observed_share": 0.9},
                    {"group": "holdout", "expected_share": 0.1, "observed": 130, "observed_share": 0.1},
                ],
            },
            {
                "kind": "split",
                "name": "subject_test",
                "chi2": 0.8,
                "p": 0.37,
                "mismatch": False,
                "message": None,
                "groups": [
                    {"group": "discount_subject", "expected_share": 0.5, "observed": 600, "observed_share": 0.513},
                    {"group": "story_subject", "expected_share": 0.5, "observed": 570, "observed_share": 0.487},
                ],
            },
        ],
        "warnings": ["holdout holdout: sample ratio mismatch: …", "revenue: too small to conclude"],
        "hypothesis": {
            "kpi": "f2_rate",
            "statement": "7日目のクーポンでF2転換率が3pt上がる",
            "target": {"amount": 3, "unit": "pt", "within_days": 30, "text": "+3pt within 30d"},
            "measured": {
                "measure": "ordered after entry",
                "treated": _group(1000, 180, 0.18, None) | {"buyers": 180},
                "holdout": _group(110, 12, 0.109, None) | {"buyers": 12},
                "effect": 0.071,
                "ci95": [0.012, 0.118],
            },
            "verdict": "supported",
            "reason": "the effect reaches the target and its 95% interval is above zero",
        },
    }


def _money() -> Json:
    def figures(orders: int, revenue: int, repeat: int, buyers: int) -> Json:
        return {
            "orders": orders, "revenue": revenue, "aov": revenue / orders, "repeat_revenue": repeat,
            "repeat_share": repeat / revenue, "buyers": buyers, "revenue_per_buyer": revenue / buyers,
        }  # fmt: skip

    return {
        "overall": figures(6, 36000, 17000, 5),
        "by_phase": [{"group": "new", **figures(1, 6000, 0, 1)}, {"group": "repeat", **figures(3, 12000, 9000, 2)}],
        "by_entry_channel": [
            {"group": "ad_lp", **figures(3, 14000, 5000, 2)},
            {"group": "(unknown)", **figures(1, 4000, 4000, 1)},
        ],
        "by_segment": [{"group": "big", **figures(2, 18000, 8000, 2)}],
        "cohorts": [
            {"cohort": "2025-01", "customers": 2, "ltv": [6500.0, 9000.0, 9000.0]},
            {"cohort": "2025-03", "customers": 1, "ltv": [6000.0]},
        ],
        "phase_rule": {"new_days": 30, "dormant_days": 150, "loyal_orders": 5},
    }


def _winback_scenario(title: str = "休眠顧客の掘り起こし（LINE＋DM）") -> Json:
    return {
        "id": "winback/line dm",
        "title": title,
        "kind": "retain",
        "entered": 900,
        "messaged": 810,
        "holdout": 90,
        "conversion": {
            "treated": _group(810, 41, 0.051, [0.037, 0.068]),
            "holdout": _group(90, 0, None, None),
            "uplift": {"points": None, "ci95": None, "relative": None},
        },
        "funnel": [{"stage": "entered", "count": 900}, {"stage": "sent", "count": 790}],
        "steps": [],
        "variants": [],
        "by_phase": [],
        "by_segment": [],
    }


def _sends(days: int = 60) -> list[Json]:
    rows = []
    start = date(2025, 3, 1)
    for i in range(days):
        if i % 7 == 5:  # days without sends: the axis must still run through them
            continue
        day = (start + timedelta(days=i)).isoformat()
        rows.append({"date": day, "channel": "email", "count": 100 + 7 * (i % 5)})
        if i % 2 == 0:
            rows.append({"date": day, "channel": "line", "count": 40 + i})
        if i % 10 == 0:
            rows.append({"date": day, "channel": "dm", "count": 300})
    return sorted(rows, key=lambda r: (r["date"], r["channel"]))


def document(scenarios: list[Json] | None = None, sends: list[Json] | None = None) -> Json:
    return {
        "report": {
            "title": "ecrm report",
            "store": "ecrm-simulation.db",
            "from": "2025-01-01T00:00:00+09:00",
            "to": "2025-12-31T23:59:59+09:00",
            "timezone": "Asia/Tokyo",
            "simulation": {
                "from": "2025-01-01T00:00:00+09:00",
                "to": "2025-12-31T23:59:59+09:00",
                "step": "1h",
                "segment_every": "1d",
            },
            "f2_days": 90,
            "dormant_days": 150,
        },
        "kpis": {
            "f2": {"days": 90, "cohort": 1200, "converted": 300, "rate": 0.25, "ci95": [0.226, 0.275]},
            "repeat": {"buyers": 5000, "repeaters": 1800, "rate": 0.36, "ci95": [0.347, 0.373]},
            "winback": {"dormant_days": 150, "dormant": 0, "returned": 0, "rate": None, "ci95": None},
            "subscription_retention": [
                {"shipment": i + 1, "reached": round(300 * 0.82**i), "rate": 0.82**i} for i in range(8)
            ],
        },
        "money": _money(),
        "sends_per_day": _sends() if sends is None else sends,
        "scenarios": [_f2_scenario(), _winback_scenario()] if scenarios is None else scenarios,
    }


class _Tables(HTMLParser):
    """Cell texts of every table with an id: {id: [[cell, ...], ...]} (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")  # bilingual headers: 開封率<br>open rate reads "開封率 open rate"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(page: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def row(table: list[list[str]], first: str) -> list[str]:
    return next(r for r in table if r and r[0] == first)


def svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", page, flags=re.DOTALL)]


def svg_texts(svg: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter("text")]


def test_every_scenario_title_appears_escaped_in_overview_and_heading() -> None:
    doc = document()
    page = render_html(doc)
    for scenario in doc["scenarios"]:
        assert page.count(escape(scenario["title"])) >= 2  # overview link and section heading (and chart labels)
    overview = tables(page)["overview"]
    assert [r[0] for r in overview[1:]] == ["初回購入後のF2転換ステップメール", "休眠顧客の掘り起こし（LINE＋DM）"]
    assert '<a href="#scenario-f2_step_mail">' in page
    assert '<section class="scenario" id="scenario-winback-line-dm">' in page


def test_hostile_title_and_ids_render_as_text() -> None:
    hostile = '<script>alert(1)</script>" onmouseover="x'
    scenario = _winback_scenario(hostile) | {"id": '"><img src=x onerror=alert(1)>'}
    page = render_html(document([scenario]))
    assert "<script" not in page and "<img" not in page
    assert 'onmouseover="x' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x" in page
    assert 'id="scenario-img-src-x-onerror-alert-1"' in page
    assert tables(page)["overview"][1][0] == hostile  # what a planner reads is the title, as typed


def test_missing_rates_and_intervals_show_a_dash() -> None:
    page = render_html(document())
    found = tables(page)
    steps = found["scenario-f2_step_mail-steps"]
    assert row(steps, "f2_thanks")[7:] == ["45.0%", "11.0%", "80", "7.3%"]
    assert row(steps, "f2_line_coupon")[3:] == ["0", "0", *["未計測"] * 4, "0", "—"]
    holdout = row(found["scenario-winback-line-dm-conversion"], "ホールドアウト (holdout)")
    assert holdout == ["ホールドアウト (holdout)", "90", "0", "—", "—"]
    segment = row(found["scenario-f2_step_mail-segment"], "loyal_customers")
    assert segment[5:] == ["0", "0", "—", "—", "—", "—", "—"]
    assert row(found["overview"], "休眠顧客の掘り起こし（LINE＋DM）")[3:] == ["—", "—", "—", "—", "—"]
    winback_card = re.search(r'<div class="card" id="kpi-winback">.*?</div></div>', page, flags=re.DOTALL)
    assert winback_card and '<div class="value">—</div>' in winback_card.group(0)


def test_numbers_have_separators_and_rates_one_decimal() -> None:
    found = tables(render_html(document()))
    assert row(found["overview"], "初回購入後のF2転換ステップメール")[1:] == [
        "1,300", "17.9%", "11.5%", "+6.4 pt", "[-0.3, +11.7] pt", "+362円", "supported",
    ]  # fmt: skip
    assert row(found["scenario-f2_step_mail-conversion"], "配信群 (treated)") == [
        "配信群 (treated)", "1,170", "210", "17.9%", "[15.8%, 20.3%]",
    ]  # fmt: skip
    assert row(found["scenario-f2_step_mail-phase"], "F1")[9:] == ["+7.1 pt", "[+0.2, +12.5] pt", "+65.0%"]
    assert found["retention-1"][1][:3] == ["到達 (reached)", "300", "246"]
    assert found["retention-1"][2][:3] == ["継続率 (rate)", "100.0%", "82.0%"]


def test_a_long_retention_curve_continues_in_blocks_of_twelve_shipments() -> None:
    doc = document()
    doc["kpis"]["subscription_retention"] = [
        {"shipment": i + 1, "reached": 3000 - 100 * i, "rate": (3000 - 100 * i) / 3000} for i in range(24)
    ]
    found = tables(render_html(doc))
    assert [r[0] for r in found["retention-2"]] == ["発送回 shipment", "到達 (reached)", "継続率 (rate)"]
    assert found["retention-1"][0][1:] == [f"#{i}" for i in range(1, 13)]
    assert found["retention-2"][0][1:] == [f"#{i}" for i in range(13, 25)]
    assert found["retention-2"][1][-1] == "700" and found["retention-2"][2][-1] == "23.3%"
    assert "retention-3" not in found


def test_page_references_nothing_outside_itself() -> None:
    page = render_html(document())
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "<script" not in page and "@import" not in page and "url(" not in page
    assert not re.search(r"\ssrc=", page)
    targets = re.findall(r'href="([^"]*)"', page)
    assert targets and all(t.startswith("#") for t in targets)
    assert all(f'id="{t[1:]}"' in page for t in targets)  # every in-page link lands somewhere


def test_same_document_same_bytes() -> None:
    doc = document()
    first = render_html(doc)
    assert render_html(copy.deepcopy(doc)) == first
    assert render_html(doc) == first
    assert doc == document()  # rendering does not touch the document


def test_every_svg_parses_as_xml() -> None:
    page = render_html(document())
    charts = svgs(page)
    # retention, sends per day, revenue by phase and by channel, cohort LTV, a funnel per scenario, variants and
    # revenue per customer of the scenario that has them
    assert len(charts) == 9
    assert page.count("<svg") == 9
    assert all(c.get("role") == "img" and c.findtext("title") for c in charts)


def test_funnel_bars_are_labelled_with_stage_count_and_share_of_first_stage() -> None:
    funnel = next(s for s in svgs(render_html(document())) if s.findtext("title", "").startswith("ファネル"))
    texts = svg_texts(funnel)
    assert texts[:3] == ["エントリー (entered)", "1,300 (100.0%)", "配信対象 (messaged)"]
    assert "開封 (opened)" in texts and "500 (38.5%)" in texts
    widths = [float(r.get("width", 0)) for r in funnel.iter("rect")]
    assert widths[0] == max(widths) and widths[3] < widths[2]  # bars scale with the counts


def test_sends_chart_runs_through_days_without_sends_and_labels_dates_sparsely() -> None:
    page = render_html(document(sends=_sends(365)))
    chart = next(s for s in svgs(page) if "sends per day" in s.findtext("title", ""))
    ticks = ["".join(t.itertext()) for t in chart.iter("text") if t.get("data-tick") == "x"]
    assert ticks[0] == "2025-03-01"
    assert 6 <= len(ticks) <= 12
    assert all(date.fromisoformat(a) < date.fromisoformat(b) for a, b in pairwise(ticks))
    # 365 days on the axis even though some have no sends: the gap between labelled days is constant
    steps = {(date.fromisoformat(b) - date.fromisoformat(a)).days for a, b in pairwise(ticks)}
    assert len(steps) == 1
    legend = re.search(r'<ul class="legend" id="sends-legend">(.*?)</ul>', page, flags=re.DOTALL)
    assert legend
    names = re.findall(r"</span>(\w+) ", legend.group(1))
    assert names == ["email", "line", "dm"]  # the fixed channel order, not the order of appearance
    fills = {r.get("fill") for r in chart.iter("rect")}
    assert fills == {CHANNEL_COLORS["email"], CHANNEL_COLORS["line"], CHANNEL_COLORS["dm"]}


def test_variant_chart_has_holdout_and_whiskers_only_where_an_interval_exists() -> None:
    chart = next(s for s in svgs(render_html(document())) if s.findtext("title", "").startswith("バリアント"))
    texts = svg_texts(chart)
    assert {"discount_subject", "story_subject", "ホールドアウト (holdout)"} <= set(texts)
    assert "18.3% [15.5%, 21.5%]" in texts and "17.5%" in texts and "11.5% [7.1%, 18.2%]" in texts
    whiskers = [g.get("data-ci") for g in chart.iter("g")]
    assert whiskers == ["discount_subject", "ホールドアウト (holdout)"]


NEW_TABLES = (
    "money-overall", "money-phase", "money-channel", "money-segment", "cohorts", "hypotheses-table",
    "scenario-f2_step_mail-revenue", "scenario-f2_step_mail-delivery", "scenario-f2_step_mail-srm",
    "scenario-f2_step_mail-hypothesis",
)  # fmt: skip


def test_money_tables_and_charts() -> None:
    page = render_html(document())
    found = tables(page)
    assert row(found["money-overall"], "全体 (all)")[1:] == [
        "36,000円", "6", "6,000円", "17,000円", "47.2%", "5", "7,200円",
    ]  # fmt: skip
    assert [r[0] for r in found["money-phase"][1:]] == ["新規 (new)", "リピート (repeat)"]
    assert row(found["money-channel"], "(unknown)")[1] == "4,000円"
    assert found["cohorts"][2][:5] == ["2025-01", "2", "6,500円", "9,000円", "9,000円"]
    assert found["cohorts"][3][:4] == ["2025-03", "1", "6,000円", ""]
    charts = {c.findtext("title", ""): c for c in svgs(page)}
    ltv = charts["コホート別LTV (observed LTV by first-purchase month)"]
    assert [p.get("data-cohort") for p in ltv.iter("polyline")] == ["2025-01", "2025-03"]
    phase = charts["フェーズ別売上 (revenue by phase)"]
    assert "6,000円" in svg_texts(phase) and "12,000円" in svg_texts(phase)


def test_scenario_revenue_delivery_checks_and_verdict() -> None:
    page = render_html(document())
    found = tables(page)
    revenue = found["scenario-f2_step_mail-revenue"]
    assert row(revenue, "配信群 (treated)")[1:] == ["1,000", "180", "1,250,000円", "1,250円", "1,180円"]
    assert "+362円</b> · 95% CI [-12円, +736円]" in page  # the increment, rounded to whole yen
    assert "99パーセンタイル 12,000円" in page
    delivery = found["scenario-f2_step_mail-delivery"]
    assert delivery[1] == ["1,300", "1,250", "20", "30", "2.3%", "45", "4 / 1,100", "0.4%"]
    srm = found["scenario-f2_step_mail-srm"]
    assert srm[1][0] == "ホールドアウト (holdout)" and srm[1][-1] == "SRM" and srm[3][-1] == "ok"
    assert '<span class="neg">SRM</span>' in page
    assert '<ul class="warnings" id="scenario-f2_step_mail-warnings">' in page
    journal = found["hypotheses-table"]
    assert journal[1][:3] == ["f2_step_mail", "f2_rate", "+3pt within 30d"]
    assert journal[1][5:7] == [
        "+7.1 pt [+1.2, +11.8]",
        "supported the effect reaches the target and its 95% interval is above zero",
    ]
    assert "7日目のクーポンでF2転換率が3pt上がる" in page
    funnel = next(s for s in svgs(page) if s.findtext("title", "").startswith("ファネル"))
    assert "500 (38.5%)" in svg_texts(funnel)  # tracked here; the page of a store without opens says so


def test_an_untracked_funnel_stage_says_so() -> None:
    scenario = _f2_scenario()
    scenario["funnel"][3]["count"] = None
    funnel = next(s for s in svgs(render_html(document([scenario]))) if s.findtext("title", "").startswith("ファネル"))
    assert "未計測 (not tracked)" in svg_texts(funnel)


def test_an_empty_store_still_renders_a_page() -> None:
    doc = document(scenarios=[], sends=[])
    doc["kpis"] = {
        "f2": {"days": 90, "cohort": 0, "converted": 0, "rate": None, "ci95": None},
        "repeat": {"buyers": 0, "repeaters": 0, "rate": None, "ci95": None},
        "winback": {"dormant_days": 150, "dormant": 0, "returned": 0, "rate": None, "ci95": None},
        "subscription_retention": [],
    }
    doc["report"]["from"] = None
    doc["report"]["simulation"] = None
    doc["money"] = {
        "overall": {"orders": 0, "revenue": 0, "aov": None, "repeat_revenue": 0, "repeat_share": None, "buyers": 0,
                    "revenue_per_buyer": None},
        "by_phase": [], "by_entry_channel": [], "by_segment": [], "cohorts": [],
        "phase_rule": {"new_days": 30, "dormant_days": 150, "loyal_orders": 5},
    }  # fmt: skip
    page = render_html(doc)
    assert page.count('<div class="value">—</div>') == 3
    assert "コホートなし (no cohorts)" in page
    assert "配信記録なし (no sends)" in page and "シナリオなし (no scenarios)" in page
    assert "<svg" not in page


def test_a_scenario_nobody_entered_is_one_line_not_empty_tables() -> None:
    idle = {**_winback_scenario("誰も来なかったシナリオ"), "id": "idle", "entered": 0, "messaged": 0, "holdout": 0}
    page = render_html(document(scenarios=[_f2_scenario(), idle]))
    section = page[page.index('id="scenario-idle"') :]
    section = section[: section.index("</section>")]
    assert "この期間のエントリーなし (no one entered in this period)" in section
    assert "<svg" not in section and "<table" not in section
    assert "誰も来なかったシナリオ" in section


def test_scenario_ids_become_unique_safe_element_ids() -> None:
    twins = [_winback_scenario("一つ目") | {"id": "a b"}, _winback_scenario("二つ目") | {"id": "a/b"}]
    page = render_html(document(twins))
    assert 'id="scenario-a-b"' in page and 'id="scenario-a-b-2"' in page


# ---------------------------------------------------------------------------------------------- in a browser


def _png_size_and_pixels(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, width, height, idat = 8, 0, 0, b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    return width, height, zlib.decompress(idat)


def _chromium(binary: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--no-first-run", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    env = dict(os.environ, HOME=str(tmp_path))
    return subprocess.run([binary, *flags, *args], capture_output=True, timeout=120, env=env, check=False)


def test_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); the browser check needs it")
    doc = document(sends=_sends(120))
    page_path = tmp_path / "report.html"
    page_path.write_text(render_html(doc), encoding="utf-8")
    shot = tmp_path / "report.png"

    done = _chromium(binary, tmp_path, "--window-size=1280,2400", f"--screenshot={shot}", page_path.as_uri())
    assert shot.exists(), done.stderr.decode(errors="replace")[-2000:]
    print(f"screenshot: {shot}")
    width, height, pixels = _png_size_and_pixels(shot)
    assert (width, height) == (1280, 2400)
    # A blank page decompresses to a few byte values (row filters and white); text and charts to a great many.
    assert len(set(pixels)) > 64

    dom = _chromium(binary, tmp_path, "--dump-dom", page_path.as_uri())
    text = dom.stdout.decode("utf-8")
    assert dom.returncode == 0, dom.stderr.decode(errors="replace")[-2000:]
    for scenario in doc["scenarios"]:
        assert escape(scenario["title"], quote=False) in text
    assert text.count("<svg") == 9
    # Every new table reached the browser's DOM.
    for table_id in NEW_TABLES:
        assert f'id="{table_id}"' in text, table_id
    assert "未計測 (not tracked)" in text and '<span class="pos">supported</span>' in text
