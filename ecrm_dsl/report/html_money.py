"""The money and evidence parts of the ``ecrm report`` page: the shop's revenue section and cohort LTV, and per
scenario the revenue against the holdout, deliveries, the sample-ratio checks, warnings and the hypothesis
journal. Like :mod:`ecrm_dsl.report.html`, every value goes through :mod:`ecrm_dsl.report.html_format`."""

from __future__ import annotations

from typing import Any

from ecrm_dsl.report.html_charts import ltv_svg, money_bars_svg
from ecrm_dsl.report.html_format import (
    DASH,
    Markup,
    empty_note,
    esc,
    finite,
    fmt_int,
    fmt_rate,
    fmt_yen,
    table,
)

__all__ = ["hypothesis_journal", "money_section", "scenario_evidence"]

Json = dict[str, Any]

_MONEY_HEADERS = (
    "売上 (revenue)", "注文 (orders)", "客単価 (AOV)", "リピート売上 (repeat revenue)", "リピート比率 (repeat share)",
    "購入者 (buyers)", "購入者あたり (per buyer)",
)  # fmt: skip
_PHASE_JA = {"new": "新規", "f2_pending": "F2待ち", "repeat": "リピート", "loyal": "ロイヤル", "dormant": "休眠"}
_VERDICT_CLASS = {"supported": "pos", "not supported": "neg"}


def _dict(value: object) -> Json:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Json]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _figures(g: Json) -> list[str]:
    return [
        fmt_yen(g.get("revenue")), fmt_int(g.get("orders")), fmt_yen(g.get("aov")), fmt_yen(g.get("repeat_revenue")),
        fmt_rate(g.get("repeat_share")), fmt_int(g.get("buyers")), fmt_yen(g.get("revenue_per_buyer")),
    ]  # fmt: skip


def _group_table(table_id: str, label: str, groups: list[Json], names: dict[str, str] | None = None) -> str:
    if not groups:
        return empty_note("データなし (none)")

    def name(g: Json) -> str:
        group = str(g.get("group", ""))
        return f"{names[group]} ({group})" if names and group in names else group

    return table(table_id, [label, *_MONEY_HEADERS], ([name(g), *_figures(g)] for g in groups))


def money_section(money: Json) -> str:
    """Revenue, AOV and repeat revenue shop-wide and by phase, entry channel and segment; cohort LTV."""
    if not money:
        return ""
    overall = _dict(money.get("overall"))
    rule = _dict(money.get("phase_rule"))
    phases = _list(money.get("by_phase"))
    channels = _list(money.get("by_entry_channel"))
    loyal = finite(rule.get("loyal_orders")) or 1
    phase_note = (
        '<p class="note">期末時点のフェーズ (phase at the end): '
        f"新規 = {fmt_int(rule.get('new_days'))}日以内に初回購入のみ, F2待ち = 購入1回でそれより前, "
        f"リピート = 2〜{fmt_int(loyal - 1)}回, ロイヤル = {fmt_int(loyal)}回以上, "
        f"休眠 = {fmt_int(rule.get('dormant_days'))}日以上購入なし。</p>"
    )
    phase_chart = money_bars_svg(
        [(f"{_PHASE_JA.get(str(g.get('group')), '')} ({g.get('group')})", g.get("revenue"), False) for g in phases],
        "フェーズ別売上 (revenue by phase)",
    )
    channel_chart = money_bars_svg(
        [(str(g.get("group", "")), g.get("revenue"), False) for g in channels],
        "流入経路別売上 (revenue by entry channel)",
    )
    cohorts = _list(money.get("cohorts"))
    parts = [
        '<section id="money"><h2>売上 (money)</h2>',
        table("money-overall", ["", *_MONEY_HEADERS], [["全体 (all)", *_figures(overall)]]),
        '<p class="note">リピート売上 = 各顧客の初回より後の注文 (orders after a customer\'s first)。</p>',
        "<h3>フェーズ別 (by phase)</h3>",
        f'<div class="row"><div>{phase_chart}</div></div>',
        _group_table("money-phase", "フェーズ (phase)", phases, _PHASE_JA),
        phase_note,
        "<h3>流入経路別 (by entry channel)</h3>",
        f'<div class="row"><div>{channel_chart}</div></div>',
        _group_table("money-channel", "流入経路 (entry channel)", channels),
        "<h3>セグメント別 (by segment, members at the end)</h3>",
        _group_table("money-segment", "セグメント (segment)", _list(money.get("by_segment"))),
        "<h3>コホート別LTV (observed LTV by first-purchase month)</h3>",
        ltv_svg(cohorts),
        _cohort_table(cohorts),
        '<p class="note">LTV = コホート顧客1人あたりの累計売上、初回購入月を0とした経過月ごと '
        "(revenue per customer of the cohort, cumulative).</p>",
        "</section>",
    ]
    return "".join(parts)


_TABLE_MONTHS = 13  # month 0 to 12 fit 1280 px; the JSON, CSV and the chart have every month


def _cohort_table(cohorts: list[Json]) -> str:
    if not cohorts:
        return ""
    months = min(_TABLE_MONTHS, max(len(c.get("ltv") or []) for c in cohorts))

    def ltv(c: Json) -> list[object]:
        return list(c.get("ltv") or [])[:months]

    headers = ["初回購入月 (cohort)", "顧客 (customers)", *(f"{m}" for m in range(months))]
    rows = (
        [str(c.get("cohort", "")), fmt_int(c.get("customers")),
         *(fmt_yen(v) for v in ltv(c)), *([""] * (months - len(ltv(c))))]
        for c in cohorts
    )  # fmt: skip
    spans = (("", 2), ("経過月 (months since first order)", months))
    return f'<div class="compact">{table("cohorts", headers, rows, spans=spans)}</div>'


# ---------------------------------------------------------------------------------------------- per scenario


def _effect(value: object, unit: str, ci: object) -> str:
    number = finite(value)
    if number is None:
        return DASH
    bounds = ci if isinstance(ci, list) and len(ci) == 2 else None
    if unit == "円":
        tail = f" [{fmt_yen(bounds[0], True)}, {fmt_yen(bounds[1], True)}]" if bounds else ""
        return f"{fmt_yen(number, True)}{tail}"
    suffix = " pt" if unit == "pt" else "%"
    tail = f" [{(finite(bounds[0]) or 0) * 100:+.1f}, {(finite(bounds[1]) or 0) * 100:+.1f}]" if bounds else ""
    return f"{number * 100:+.1f}{suffix}{tail}"


def _verdict(value: object, reason: object) -> Markup:
    """The verdict, coloured when it is one, with the reason in small type below."""
    text = str(value) if value else DASH
    klass = _VERDICT_CLASS.get(text)
    verdict = f'<span class="{klass}">{esc(text)}</span>' if klass else f"<b>{esc(text)}</b>"
    return Markup(f'{verdict}<br><span class="note">{esc(reason or "")}</span>')


def scenario_evidence(scenario: Json, anchor: str) -> str:
    """Revenue against the holdout, deliveries, sample-ratio checks, warnings and the hypothesis of a scenario."""
    parts = [_revenue(_dict(scenario.get("revenue")), anchor, str(scenario.get("title") or ""))]
    parts.append(_delivery(_dict(scenario.get("delivery")), anchor))
    parts.append(_checks(_list(scenario.get("experiments")), anchor))
    warnings = [w for w in scenario.get("warnings") or [] if isinstance(w, str)]
    if warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
        parts.append(f'<ul class="warnings" id="{anchor}-warnings">{items}</ul>')
    hypothesis = _dict(scenario.get("hypothesis"))
    if hypothesis:
        statement = f'<p class="statement">{esc(hypothesis.get("statement") or "")}</p>'
        journal = _hypothesis_table([(scenario, hypothesis)], f"{anchor}-hypothesis")
        parts.append(f"<h3>仮説 (hypothesis)</h3>{statement}{journal}")
    return "".join(parts)


def _revenue(revenue: Json, anchor: str, title: str) -> str:
    if not revenue:
        return ""
    treated, holdout = _dict(revenue.get("treated")), _dict(revenue.get("holdout"))
    days = fmt_int(revenue.get("window_days"))
    rows = [
        [label, fmt_int(g.get("n")), fmt_int(g.get("buyers")), fmt_yen(g.get("revenue")),
         fmt_yen(g.get("per_customer")), fmt_yen(g.get("per_customer_winsorised"))]
        for label, g in (("配信群 (treated)", treated), ("ホールドアウト (holdout)", holdout))
    ]  # fmt: skip
    headers = ["", "n", "購入者 (buyers)", "売上 (revenue)", "1人あたり (per customer)", "補正後 (winsorised)"]
    chart = money_bars_svg(
        [("配信群 (treated)", treated.get("per_customer_winsorised"), False),
         ("ホールドアウト (holdout)", holdout.get("per_customer_winsorised"), True)],
        f"1人あたり売上 (revenue per customer): {title}",
    )  # fmt: skip
    ci = revenue.get("ci95")
    interval_text = (
        f"[{fmt_yen(ci[0], True)}, {fmt_yen(ci[1], True)}]" if isinstance(ci, list) and len(ci) == 2 else DASH
    )
    gained = fmt_yen(revenue.get("incremental_per_customer"), True)
    increment = f"<p>増分売上 (incremental revenue per customer) <b>{esc(gained)}</b> · 95% CI {esc(interval_text)}</p>"
    note = (
        f'<p class="note">エントリー後{esc(days)}日以内の注文 (entry order excluded)。各顧客の売上は全エントリー者の'
        f"99パーセンタイル {esc(fmt_yen(revenue.get('winsorised_at')))} で頭打ち (winsorised); Welchの95%信頼区間。</p>"
    )
    return (
        f"<h3>売上 (revenue within {esc(days)} days)</h3>"
        f'<div class="row"><div>{table(f"{anchor}-revenue", headers, rows)}{increment}{note}</div>'
        f"<div>{chart}</div></div>"
    )


def _delivery(delivery: Json, anchor: str) -> str:
    if not delivery:
        return ""
    causes = _dict(delivery.get("skipped_by_cause"))
    skipped = ", ".join(f"{cause} {fmt_int(n)}" for cause, n in causes.items() if cause != "holdout")
    headers = ["決定 (decided)", "配信済 (delivered)", "保留 (pending)", "失敗 (failed)", "失敗率 (failure rate)",
               "スキップ (skipped)", "配信停止 (unsubscribed)", "停止率 (unsub. rate)"]  # fmt: skip
    row = [
        fmt_int(delivery.get("decided")), fmt_int(delivery.get("delivered")), fmt_int(delivery.get("pending")),
        fmt_int(delivery.get("failed")), fmt_rate(delivery.get("failure_rate")), fmt_int(delivery.get("skipped")),
        f"{fmt_int(delivery.get('unsubscribed'))} / {fmt_int(delivery.get('reached'))}",
        fmt_rate(delivery.get("unsubscribe_rate")),
    ]  # fmt: skip
    days = fmt_int(delivery.get("unsubscribe_days"))
    note = (
        f'<p class="note">スキップ内訳 (skips by cause): {esc(skipped or DASH)}; ホールドアウト (holdout) '
        f"{esc(fmt_int(causes.get('holdout', 0)))}。配信停止はメッセージ後{esc(days)}"
        "日以内 (unsubscribed within days of a message)。</p>"
    )
    return f"<h3>配信 (delivery)</h3>{table(f'{anchor}-delivery', headers, [row], numeric_from=0)}{note}"


def _checks(checks: list[Json], anchor: str) -> str:
    if not checks:
        return ""
    rows = []
    for check in checks:
        name = "ホールドアウト (holdout)" if check.get("kind") == "holdout" else f"split {check.get('name')}"
        p = finite(check.get("p"))
        result = DASH if p is None else ("SRM" if check.get("mismatch") else "ok")
        flag = Markup(f'<span class="neg">{esc(result)}</span>') if result == "SRM" else result
        for i, g in enumerate(_list(check.get("groups"))):
            rows.append([
                name if i == 0 else "", str(g.get("group", "")), fmt_rate(g.get("expected_share")),
                fmt_int(g.get("observed")), fmt_rate(g.get("observed_share")),
                f"{finite(check.get('chi2')) or 0:.2f}" if i == 0 and p is not None else "",
                f"{p:.3g}" if i == 0 and p is not None else "",
                flag if i == 0 else "",
            ])  # fmt: skip
    headers = ["検定 (check)", "群 (group)", "設定 (configured)", "観測 (observed)", "比率 (share)", "χ²", "p",
               "判定 (result)"]  # fmt: skip
    note = '<p class="note">サンプル比率の不一致 (sample ratio mismatch) は p &lt; 0.001 で警告。</p>'
    return f"<h3>サンプル比率 (sample ratio)</h3>{table(f'{anchor}-srm', headers, rows, numeric_from=2)}{note}"


def _hypothesis_table(entries: list[tuple[Json, Json]], table_id: str) -> str:
    headers = ["シナリオ (scenario)", "KPI", "目標 (target)", "配信群 (treated)", "ホールドアウト (holdout)",
               "効果 (effect) 95% CI", "判定 (verdict)"]  # fmt: skip
    rows = []
    for scenario, h in entries:
        target = _dict(h.get("target"))
        measured = _dict(h.get("measured"))
        unit = str(target.get("unit") or "")
        treated, holdout = _dict(measured.get("treated")), _dict(measured.get("holdout"))

        def group(g: Json) -> str:
            if not g:
                return DASH
            if "rate" in g:
                return f"{fmt_rate(g.get('rate'))} ({fmt_int(g.get('buyers'))}/{fmt_int(g.get('n'))})"
            return f"{fmt_yen(g.get('value'))} (n {fmt_int(g.get('n'))})"

        rows.append([
            str(scenario.get("id", "")), str(h.get("kpi", "")), str(target.get("text") or DASH),
            group(treated), group(holdout),
            _effect(measured.get("effect"), unit, measured.get("ci95")) if measured else DASH,
            _verdict(h.get("verdict"), h.get("reason")),
        ])  # fmt: skip
    return f'<div class="journal">{table(table_id, headers, rows, numeric_from=2, text_after=len(headers) - 1)}</div>'


def hypothesis_journal(scenarios: list[Json]) -> str:
    """Every hypothesis with a target and its verdict, in one table; the others by name below it."""
    stated = [(s, _dict(s.get("hypothesis"))) for s in scenarios if _dict(s.get("hypothesis"))]
    if not stated:
        return ""
    entries = [(s, h) for s, h in stated if h.get("target")]
    untargeted = ", ".join(f"{s.get('id')} ({h.get('kpi')})" for s, h in stated if not h.get("target"))
    journal = _hypothesis_table(entries, "hypotheses-table") if entries else empty_note("目標なし (no targets)")
    others = f'<p class="note">目標なし (no target): {esc(untargeted)}</p>' if untargeted else ""
    note = (
        '<p class="note">判定: supported = 効果が目標に届き95%区間が0より上; not supported = 95%区間全体が目標未満; '
        "not yet enough data = 期間未経過・群が小さい・区間が目標をまたぐ。</p>"
    )
    return f'<section id="hypotheses"><h2>仮説ジャーナル (hypothesis journal)</h2>{journal}{others}{note}</section>'
