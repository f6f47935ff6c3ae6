"""The ``ecrm report`` page: one self-contained HTML file with inline CSS and inline SVG charts, and no script.

Planners open it from disk or from an email attachment, often offline, so nothing is fetched: no CDN, no web
fonts, no JavaScript. Every string from the document is escaped (scenario titles are user input), and the output
is deterministic (same document, same bytes) so reports can be diffed and kept in git. This module lays out the
page (CSS, sections, tables, anchor ids); the charts are drawn by :mod:`ecrm_dsl.report.html_charts` and every
value is written by :mod:`ecrm_dsl.report.html_format`.

:func:`render_html` takes the report document (the JSON-ready dict that ``ecrm report`` also prints as JSON).
Lists may be empty and any rate, CI, uplift or count may be null; a missing value shows as "—".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ecrm_dsl.report.html_charts import NOT_TRACKED, funnel_svg, retention_svg, sends_svg, variants_svg
from ecrm_dsl.report.html_format import (
    DASH,
    Markup,
    empty_note,
    esc,
    finite,
    fmt_ci,
    fmt_ci_points,
    fmt_int,
    fmt_points,
    fmt_rate,
    fmt_relative,
    fmt_yen,
    interval,
    table,
)
from ecrm_dsl.report.html_money import hypothesis_journal, money_section, scenario_evidence

__all__ = ["CSS", "render_html"]

Json = dict[str, Any]

CSS = """\
:root{--ink:#1f2933;--muted:#616e7c;--line:#d9dee4;--bg:#f3f5f8;--card:#fff;--pos:#1b7f4b;--neg:#b3261e}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.6 system-ui,-apple-system,"Hiragino Sans","Hiragino Kaku Gothic ProN","Noto Sans CJK JP","Noto Sans JP",
"Yu Gothic UI",Meiryo,sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px 24px 48px}
header{margin-bottom:8px}
h1{font-size:24px;margin:0 0 6px}
h2{font-size:19px;margin:0 0 10px}
h3{font-size:15px;margin:22px 0 8px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:20px 24px;margin:20px 0}
.meta{color:var(--muted);margin:0;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:2px 24px}
.meta b{color:var(--ink);font-weight:600}
.counts{color:var(--muted);margin:0 0 4px}
.counts b{color:var(--ink)}
.cards{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:16px}
.card{border:1px solid var(--line);border-radius:8px;padding:14px 16px}
.card .label{color:var(--muted);font-size:13px;font-weight:600}
.card .value{font-size:30px;font-weight:700;line-height:1.25;margin:4px 0;font-variant-numeric:tabular-nums}
.card .detail{font-size:13px;color:var(--muted);font-variant-numeric:tabular-nums}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;min-width:50%}
th,td{padding:5px 12px;border-bottom:1px solid var(--line);text-align:left}
td{overflow-wrap:break-word}  /* long titles wrap; numbers never do */
th{font-size:12px;line-height:1.35;color:var(--muted);font-weight:600;background:#f8f9fb;vertical-align:bottom}
th .en{font-weight:400;font-size:11px}
th.span{text-align:center;border-bottom:2px solid var(--line)}
.num{text-align:right;white-space:nowrap}
#kpis .table-wrap{margin-top:8px}
.pos{color:var(--pos);font-weight:600}
.neg{color:var(--neg);font-weight:600}
.empty{color:var(--muted);font-style:italic;margin:4px 0}
.note{color:var(--muted);font-size:12px;margin:4px 0 0}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 20px;padding:0;margin:0 0 8px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.row{display:flex;flex-wrap:wrap;gap:16px 32px;align-items:flex-start}
.row>div{flex:0 1 auto;min-width:0}
.warnings{margin:8px 0;padding:8px 12px 8px 28px;background:#fff4e5;border:1px solid #f0c36d;border-radius:6px}
.warnings li{margin:2px 0}
.compact table{font-size:12px}
.compact th,.compact td{padding:4px 6px;white-space:nowrap}
.statement{margin:4px 0 8px}
.journal table{font-size:13px}
.journal td:last-child{min-width:240px}
.badge{display:inline-block;font-size:12px;font-weight:600;color:var(--muted);border:1px solid var(--line);
border-radius:10px;padding:0 8px;margin-left:8px;vertical-align:3px}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;background:#eef1f4;
padding:1px 5px;border-radius:4px}
a{color:#2f6fb0}
svg{display:block;max-width:100%;height:auto;font-size:12px}
svg .muted{fill:var(--muted)}
svg .grid{stroke:#e4e7eb;stroke-width:1}
svg .axis{stroke:#9aa5b1;stroke-width:1}
@media print{body{background:#fff}section{break-inside:avoid}}
"""


# ----------------------------------------------------------------------------------------------------- tables


def _uplift_cell(uplift: Json) -> Markup:
    """The uplift in points, green or red when its whole interval is on one side of zero."""
    bounds = interval(uplift.get("ci95"))
    klass = ""
    if bounds is not None and bounds[0] > 0:
        klass = ' class="pos"'
    elif bounds is not None and bounds[1] < 0:
        klass = ' class="neg"'
    return Markup(f"<span{klass}>{esc(fmt_points(uplift.get('points')))}</span>")


_GROUP_HEADERS = (
    "n", "転換 (conv.)", "転換率 (rate)", "95% CI",
    "n", "転換 (conv.)", "転換率 (rate)", "95% CI",
    "差 (points)", "95% CI", "相対 (relative)",
)  # fmt: skip
_GROUP_SPANS = (("配信群 (treated)", 4), ("ホールドアウト (holdout)", 4), ("アップリフト (uplift)", 3))


def _group_cells(entry: Json) -> list[str]:
    treated, holdout, uplift = (_dict(entry.get(k)) for k in ("treated", "holdout", "uplift"))
    return [
        fmt_int(treated.get("n")), fmt_int(treated.get("converted")), fmt_rate(treated.get("rate")),
        fmt_ci(treated.get("ci95")),
        fmt_int(holdout.get("n")), fmt_int(holdout.get("converted")), fmt_rate(holdout.get("rate")),
        fmt_ci(holdout.get("ci95")),
        _uplift_cell(uplift), fmt_ci_points(uplift.get("ci95")), fmt_relative(uplift.get("relative")),
    ]  # fmt: skip


def _dict(value: object) -> Json:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Json]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# ---------------------------------------------------------------------------------------------------- sections


def _header(report: Json) -> str:
    title = str(report.get("title") or "ecrm report")
    start = report.get("from")
    items = [
        ("ストア (store)", report.get("store")),
        ("期間 (period)", f"{start if start else '最初から (start)'} → {report.get('to') or DASH}"),
        ("タイムゾーン (timezone)", report.get("timezone")),
        ("F2判定期間 (F2 window)", f"{fmt_int(report.get('f2_days'))} 日 (days)"),
        ("休眠判定 (dormant after)", f"{fmt_int(report.get('dormant_days'))} 日 (days)"),
    ]
    simulation = report.get("simulation")
    if isinstance(simulation, dict):
        sim = {k: simulation.get(k) or DASH for k in ("from", "to", "step", "segment_every")}
        items.append(
            (
                "シミュレーション (simulation)",
                f"{sim['from']} → {sim['to']}, step {sim['step']}, segments every {sim['segment_every']}",
            )
        )
    meta = "".join(f"<li><b>{esc(k)}</b> {esc(v if v is not None else DASH)}</li>" for k, v in items)
    return f'<header><h1>{esc(title)}</h1><ul class="meta">{meta}</ul></header>'


def _card(card_id: str, label: str, kpi: Json, numerator: str, denominator: str, window: str) -> str:
    detail = (
        f"95% CI {fmt_ci(kpi.get('ci95'))}<br>"
        f"{fmt_int(kpi.get(numerator))} / {fmt_int(kpi.get(denominator))} 人 (customers){window}"
    )
    return (
        f'<div class="card" id="{card_id}"><div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(fmt_rate(kpi.get("rate")))}</div><div class="detail">{detail}</div></div>'
    )


def _kpis(kpis: Json) -> str:
    f2, repeat, winback = (_dict(kpis.get(k)) for k in ("f2", "repeat", "winback"))
    cards = "".join([
        _card("kpi-f2", "F2転換率 (F2 conversion)", f2, "converted", "cohort",
              f"<br>初回購入から{esc(fmt_int(f2.get('days')))}日以内 (within days of first order)"),
        _card("kpi-repeat", "リピート率 (repeat rate)", repeat, "repeaters", "buyers", ""),
        _card("kpi-winback", "休眠復帰率 (win-back)", winback, "returned", "dormant",
              f"<br>{esc(fmt_int(winback.get('dormant_days')))}日以上購入なしから復帰 (returned after dormancy)"),
    ])  # fmt: skip
    retention = _list(kpis.get("subscription_retention"))
    if retention:
        retention_html = retention_svg(retention) + _retention_tables(retention)
    else:
        retention_html = empty_note("定期便のデータなし (no subscriptions)")
    return (
        f'<section id="kpis"><h2>ストアKPI (store KPIs)</h2><div class="cards">{cards}</div>'
        f"<h3>定期便の継続率 (subscription retention)</h3>{retention_html}</section>"
    )


_RETENTION_COLUMNS = 12  # shipments per table row block: a year of monthly boxes fits 1280 px


def _retention_tables(rows: list[Json]) -> str:
    """Shipments across, like a cohort row; long curves continue in another block below."""
    blocks = []
    for n, start in enumerate(range(0, len(rows), _RETENTION_COLUMNS), 1):
        chunk = rows[start : start + _RETENTION_COLUMNS]
        blocks.append(
            table(
                f"retention-{n}",
                ["発送回 (shipment)", *(f"#{fmt_int(r.get('shipment'))}" for r in chunk)],
                [
                    ["到達 (reached)", *(fmt_int(r.get("reached")) for r in chunk)],
                    ["継続率 (rate)", *(fmt_rate(r.get("rate")) for r in chunk)],
                ],
            )
        )
    return "".join(blocks)


def _sends(rows: list[Json]) -> str:
    return f'<section id="sends"><h2>日次配信数 (sends per day)</h2>{sends_svg(rows)}</section>'


def anchor_ids(scenarios: Sequence[Json]) -> list[str]:
    """Element ids from scenario ids: safe characters only, a suffix where two would collide."""
    ids: list[str] = []
    seen: set[str] = set()
    for scenario in scenarios:
        base = "scenario-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", str(scenario.get("id", ""))).strip("-") or "unnamed")
        anchor, n = base, 1
        while anchor in seen:
            n += 1
            anchor = f"{base}-{n}"
        seen.add(anchor)
        ids.append(anchor)
    return ids


def _overview(scenarios: list[Json], anchors: list[str]) -> str:
    if not scenarios:
        empty = empty_note("シナリオなし (no scenarios)")
        return f'<section id="scenarios"><h2>シナリオ一覧 (scenarios)</h2>{empty}</section>'
    rows = []
    for scenario, anchor in zip(scenarios, anchors, strict=True):
        conversion = _dict(scenario.get("conversion"))
        treated, holdout, uplift = (_dict(conversion.get(k)) for k in ("treated", "holdout", "uplift"))
        title = str(scenario.get("title") or scenario.get("id") or "")
        revenue = _dict(scenario.get("revenue"))
        verdict = _dict(scenario.get("hypothesis")).get("verdict")
        rows.append([
            Markup(f'<a href="#{anchor}">{esc(title)}</a>'), fmt_int(scenario.get("entered")),
            fmt_rate(treated.get("rate")), fmt_rate(holdout.get("rate")), _uplift_cell(uplift),
            fmt_ci_points(uplift.get("ci95")), fmt_yen(revenue.get("incremental_per_customer"), True),
            str(verdict or DASH),
        ])  # fmt: skip
    headers = ["シナリオ (scenario)", "エントリー (entered)", "配信群 (treated)", "ホールドアウト (holdout)",
               "アップリフト (uplift)", "95% CI", "増分売上/人 (incr. revenue)", "仮説 (verdict)"]  # fmt: skip
    note = (
        '<p class="note">アップリフトは配信群とホールドアウトの転換率の差 (percentage points)。'
        "増分売上は1人あたり、補正後 (per customer, winsorised)。</p>"
    )
    overview = table("overview", headers, rows)
    return f'<section id="scenarios"><h2>シナリオ一覧 (scenarios)</h2>{overview}{note}</section>'


def _scenario(scenario: Json, anchor: str) -> str:
    title = str(scenario.get("title") or scenario.get("id") or "")
    conversion = _dict(scenario.get("conversion"))
    counts = " · ".join(
        f"{label} <b>{esc(fmt_int(scenario.get(key)))}</b>"
        for key, label in (("entered", "エントリー (entered)"), ("messaged", "配信 (messaged)"),
                           ("holdout", "ホールドアウト (holdout)"))
    )  # fmt: skip
    conversion_table = table(
        f"{anchor}-conversion",
        ["", "n", "転換 (conv.)", "転換率 (rate)", "95% CI"],
        (
            [label, fmt_int(g.get("n")), fmt_int(g.get("converted")), fmt_rate(g.get("rate")), fmt_ci(g.get("ci95"))]
            for label, g in (("配信群 (treated)", _dict(conversion.get("treated"))),
                             ("ホールドアウト (holdout)", _dict(conversion.get("holdout"))))
        ),
    )  # fmt: skip
    uplift = _dict(conversion.get("uplift"))
    uplift_line = (
        f"<p>アップリフト (uplift) {_uplift_cell(uplift)} · 95% CI {esc(fmt_ci_points(uplift.get('ci95')))} · "
        f"相対 (relative) {esc(fmt_relative(uplift.get('relative')))}</p>"
    )
    heading = [
        f'<section class="scenario" id="{anchor}">',
        f'<h2>{esc(title)}<span class="badge">{esc(scenario.get("kind") or DASH)}</span></h2>',
        f'<p class="counts"><code>{esc(scenario.get("id", ""))}</code> · {counts}</p>',
    ]
    if not finite(scenario.get("entered")):
        # Empty tables and charts would only push the scenarios that did something further down the page.
        nobody = '<p class="empty">この期間のエントリーなし (no one entered in this period)</p>'
        return "".join([*heading, nobody, "</section>"])
    funnel = funnel_svg(_list(scenario.get("funnel")), f"ファネル (funnel): {title}")
    parts = [
        *heading,
        f'<div class="row"><div><h3>転換 (conversion)</h3>{conversion_table}{uplift_line}</div>'
        f"<div><h3>ファネル (funnel)</h3>{funnel}</div></div>",
        _variants(scenario, anchor, title),
        scenario_evidence(scenario, anchor),
        f"<h3>ステップ別 (per step)</h3>{_steps(_list(scenario.get('steps')), anchor)}",
        "<h3>フェーズ別 (by phase)</h3>",
        _groups(_list(scenario.get("by_phase")), f"{anchor}-phase", "フェーズ (phase)"),
        "<h3>セグメント別 (by segment)</h3>",
        _groups(_list(scenario.get("by_segment")), f"{anchor}-segment", "セグメント (segment)"),
        "</section>",
    ]
    return "".join(parts)


def _variants(scenario: Json, anchor: str, title: str) -> str:
    variants = _list(scenario.get("variants"))
    if not variants:
        return ""
    several_splits = len({v.get("split") for v in variants}) > 1
    rows: list[tuple[str, Json, bool]] = [
        (f"{v.get('split')}: {v.get('variant')}" if several_splits else str(v.get("variant")), v, False)
        for v in variants
    ]
    holdout = _dict(_dict(scenario.get("conversion")).get("holdout"))
    if holdout:
        rows.append(("ホールドアウト (holdout)", holdout, True))
    chart = variants_svg(rows, f"バリアント比較 (variants): {title}")
    variant_table = table(
        f"{anchor}-variants",
        ["スプリット (split)", "バリアント (variant)", "n", "転換 (conv.)", "転換率 (rate)", "95% CI",
         "アップリフト (uplift)", "95% CI", "相対 (relative)"],
        (
            [str(v.get("split", "")), str(v.get("variant", "")), fmt_int(v.get("n")), fmt_int(v.get("converted")),
             fmt_rate(v.get("rate")), fmt_ci(v.get("ci95")), _uplift_cell(_dict(v.get("uplift"))),
             fmt_ci_points(_dict(v.get("uplift")).get("ci95")), fmt_relative(_dict(v.get("uplift")).get("relative"))]
            for v in variants
        ),
        numeric_from=2,
    )  # fmt: skip
    note = '<p class="note">アップリフトはホールドアウトとの差 (vs holdout)。ひげは95%信頼区間 (whiskers: 95% CI)。</p>'
    return f"<h3>バリアント比較 (variant comparison)</h3>{chart}{variant_table}{note}"


def _steps(steps: list[Json], anchor: str) -> str:
    if not steps:
        return empty_note("ステップなし (no steps)")
    headers = ["ステップ (step)", "種類 (kind)", "チャネル (channel)", "送信 (sent)", "失敗 (failed)",
               "開封 (opened)", "クリック (clicked)", "開封率 (open rate)", "クリック率 (click rate)", "転換 (conv.)",
               "転換率 (conv. rate)"]  # fmt: skip

    def tracked(count: object, value: str) -> str:
        # Null opens or clicks: the store records no such events, which is not the same as nobody opening.
        return "未計測" if count is None else value

    rows = (
        [str(s.get("id", "")), str(s.get("kind") or DASH), str(s.get("channel") or DASH), fmt_int(s.get("sent")),
         fmt_int(s.get("failed", 0)), tracked(s.get("opened"), fmt_int(s.get("opened"))),
         tracked(s.get("clicked"), fmt_int(s.get("clicked"))), tracked(s.get("opened"), fmt_rate(s.get("open_rate"))),
         tracked(s.get("clicked"), fmt_rate(s.get("click_rate"))), fmt_int(s.get("conversions")),
         fmt_rate(s.get("conversion_rate"))]
        for s in steps
    )  # fmt: skip
    untracked = any(s.get("opened") is None or s.get("clicked") is None for s in steps)
    note = f'<p class="note">未計測 = {esc(NOT_TRACKED)}: ストアに開封・クリックのイベントなし (no such events).</p>'
    return table(f"{anchor}-steps", headers, rows, numeric_from=3) + (note if untracked else "")


def _groups(groups: list[Json], table_id: str, label: str) -> str:
    if not groups:
        return empty_note("データなし (none)")
    rows = ([str(g.get("group", "")), *_group_cells(g)] for g in groups)
    return table(table_id, [label, *_GROUP_HEADERS], rows, spans=(("", 1), *_GROUP_SPANS))


# ------------------------------------------------------------------------------------------------------- page


def render_html(document: dict[str, Any]) -> str:
    """The whole report page for ``document`` (the shape ``ecrm report --format json`` prints)."""
    report = _dict(document.get("report"))
    scenarios = _list(document.get("scenarios"))
    anchors = anchor_ids(scenarios)
    title = str(report.get("title") or "ecrm report")
    store = report.get("store")
    page_title = f"{title} — {store}" if store else title
    body = "".join([
        _header(report),
        _kpis(_dict(document.get("kpis"))),
        _sends(_list(document.get("sends_per_day"))),
        money_section(_dict(document.get("money"))),
        _overview(scenarios, anchors),
        hypothesis_journal(scenarios),
        *(_scenario(s, a) for s, a in zip(scenarios, anchors, strict=True)),
    ])  # fmt: skip
    return (
        '<!DOCTYPE html>\n<html lang="ja">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(page_title)}</title>\n<style>\n{CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
