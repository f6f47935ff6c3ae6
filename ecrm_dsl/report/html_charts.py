"""The inline SVG charts of the ``ecrm report`` page: the funnel, sends per day, subscription retention, variants,
revenue bars and the cohort LTV curves.

Each chart is a function from document rows to one ``<svg>`` string, drawn without a library or a script so the
page stays a single file that works offline. Coordinates are rounded to two decimals and labels are measured
with a fixed estimate (CJK characters 1 em, others 0.6 em) instead of a font, so the same rows always give the
same bytes. Channel colours are fixed here too, so a channel keeps its colour across every report a planner
compares.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from ecrm_dsl.report.html_format import empty_note, esc, finite, fmt_ci, fmt_int, fmt_rate, fmt_yen, interval

__all__ = [
    "CHANNEL_COLORS",
    "channel_colors",
    "channel_order",
    "day_axis",
    "funnel_svg",
    "ltv_svg",
    "money_bars_svg",
    "retention_svg",
    "sends_svg",
    "variants_svg",
]

Json = dict[str, Any]

# Fixed per channel so the same channel has the same colour in every report a planner compares.
CHANNEL_COLORS: dict[str, str] = {
    "email": "#4e79a7",
    "line": "#06c755",
    "sms": "#f28e2b",
    "push": "#b07aa1",
    "dm": "#e15759",
    "insert": "#9c755f",
    "webhook": "#76b7b2",
}
# Channels the palette does not know yet get these, in name order (deterministic, visibly "other").
_OTHER_COLORS = ("#8c8c8c", "#bab0ac", "#5f6b7a", "#c9a227")

_STAGE_JA = {
    "entered": "エントリー",
    "messaged": "配信対象",
    "sent": "送信",
    "opened": "開封",
    "clicked": "クリック",
    "converted": "購入",
}

NOT_TRACKED = "未計測 (not tracked)"

# Bars in the accent colour; the holdout in grey, as the baseline rather than one more variant.
_ACCENT = "#2f6fb0"
_HOLDOUT = "#9aa5b1"
_WHISKER = "#1f2933"


# ------------------------------------------------------------------------------------------------------- axes


def _c(number: float) -> str:
    """An SVG coordinate: two decimals at most, so output stays short and byte-stable."""
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _ticks(top: float, count: int = 4, integer: bool = False) -> list[float]:
    """Round tick values from 0 up to at least ``top``, in steps of 1, 2 or 5 × 10^k."""
    if top <= 0:
        top = 1.0 if integer else 0.1
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw - 1e-12)
    if integer:
        step = max(1.0, float(round(step)))
    steps = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def _pct_tick(value: float, step: float) -> str:
    return f"{value * 100:.1f}%" if step * 100 < 1 else f"{value * 100:.0f}%"


# ------------------------------------------------------------------------------------------------------ text


def _text_width(text: str, size: float) -> float:
    """Roughly how wide text renders: full-width (CJK) characters are 1 em, the others about 0.6 em."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.6 for ch in text)


def _fit(text: str, size: float, width: float) -> str:
    """``text`` cut with "…" to fit ``width``; charts put the full text in a tooltip."""
    if _text_width(text, size) <= width:
        return text
    kept = ""
    for ch in text:
        if _text_width(kept + ch + "…", size) > width:
            break
        kept += ch
    return kept + "…"


def _svg_text(x: float, y: float, text: str, anchor: str = "start", cls: str = "", extra: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{_c(x)}" y="{_c(y)}" text-anchor="{anchor}"{klass}{extra}>{esc(text)}</text>'


def _y_grid(
    ticks: Sequence[float], labels: Sequence[str], left: float, plot_w: float, base: float, scale: float
) -> list[str]:
    """Horizontal grid lines at ``ticks``, labelled on the left: the value axis of the bar charts."""
    parts = []
    for t, label in zip(ticks, labels, strict=True):
        y = base - t * scale
        parts.append(f'<line class="grid" x1="{_c(left)}" x2="{_c(left + plot_w)}" y1="{_c(y)}" y2="{_c(y)}"/>')
        parts.append(_svg_text(left - 8, y + 4, label, "end", "muted"))
    return parts


def _svg(width: float, height: float, label: str, body: Iterable[str]) -> str:
    # No xmlns: the HTML parser puts <svg> in the SVG namespace itself, and the page then names no URL at all.
    return (
        f'<svg width="{_c(width)}" height="{_c(height)}" viewBox="0 0 {_c(width)} {_c(height)}" role="img" '
        f'aria-label="{esc(label)}"><title>{esc(label)}</title>' + "".join(body) + "</svg>"
    )


# ----------------------------------------------------------------------------------------------------- charts


def funnel_svg(stages: Sequence[Json], label: str) -> str:
    """Horizontal bars, one per stage: the count, and its share of the first stage."""
    if not stages:
        return empty_note("ファネルのデータなし (no funnel data)")
    names = [_stage_label(str(s.get("stage", ""))) for s in stages]
    counts = [finite(s.get("count")) for s in stages]
    first = counts[0]
    # A stage the store does not track (opens, clicks without such events) says so instead of showing zero.
    values = [
        f"{fmt_int(c)} ({fmt_rate(c / first if first else None)})" if c is not None else NOT_TRACKED for c in counts
    ]
    width, row, size = 480.0, 30.0, 12.0
    label_w = min(180.0, max(90.0, max(_text_width(n, size) for n in names) + 14))
    value_w = max(_text_width(v, size) for v in values) + 12  # the longest count label still fits beside its bar
    plot_w = width - label_w - value_w
    peak = max((c for c in counts if c is not None), default=0.0)
    parts: list[str] = []
    for i, (name, count, value) in enumerate(zip(names, counts, values, strict=True)):
        top = i * row
        middle = top + row / 2 + size * 0.35
        bar = plot_w * count / peak if count and peak > 0 else 0.0
        parts.append(_svg_text(label_w - 10, middle, _fit(name, size, label_w - 14), "end"))
        parts.append(
            f'<rect x="{_c(label_w)}" y="{_c(top + 5)}" width="{_c(bar)}" height="{_c(row - 10)}" rx="2" '
            f'fill="{_ACCENT}" fill-opacity="{_c(0.95 - 0.1 * min(i, 5))}">'
            f"<title>{esc(name)}: {esc(value)}</title></rect>"
        )
        parts.append(_svg_text(label_w + bar + 6, middle, value))
    return _svg(width, row * len(stages), label, parts)


def _stage_label(stage: str) -> str:
    ja = _STAGE_JA.get(stage)
    return f"{ja} ({stage})" if ja else stage


def channel_order(channels: Iterable[str]) -> list[str]:
    """Known channels in palette order, then the others by name."""
    present = set(channels)
    return [c for c in CHANNEL_COLORS if c in present] + sorted(present - CHANNEL_COLORS.keys())


def channel_colors(channels: Sequence[str]) -> dict[str, str]:
    others = [c for c in channels if c not in CHANNEL_COLORS]
    colors = {c: CHANNEL_COLORS[c] for c in channels if c in CHANNEL_COLORS}
    colors.update({c: _OTHER_COLORS[i % len(_OTHER_COLORS)] for i, c in enumerate(others)})
    return colors


_MAX_DAYS = 3700  # about ten years of daily bars; beyond that a bogus date would only make the bars vanish


def day_axis(labels: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """The x axis: every calendar day from the first to the last, so days without sends show as gaps.

    Returns the axis and how each label of the document maps onto it. Labels that are not ISO dates (or a span
    too long to draw) fall back to the distinct labels in order.
    """
    distinct = sorted(set(labels))
    if not distinct:
        return [], {}
    try:
        parsed = {label: date.fromisoformat(label) for label in distinct}
    except ValueError:
        return distinct, {label: label for label in distinct}
    first, last = min(parsed.values()), max(parsed.values())
    if (last - first).days > _MAX_DAYS:
        return distinct, {label: label for label in distinct}
    axis = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    return axis, {label: day.isoformat() for label, day in parsed.items()}


def sends_svg(rows: Sequence[Json]) -> str:
    """Stacked bars of sends per day and channel, with a legend that also gives each channel's total."""
    if not rows:
        return empty_note("配信記録なし (no sends)")
    axis, place = day_axis(str(r.get("date", "")) for r in rows)
    channels = channel_order(str(r.get("channel", "")) for r in rows)
    colors = channel_colors(channels)
    counts: dict[tuple[str, str], float] = {}
    for r in rows:
        key = (place[str(r.get("date", ""))], str(r.get("channel", "")))
        counts[key] = counts.get(key, 0.0) + (finite(r.get("count")) or 0.0)
    totals = {c: sum(v for (_, ch), v in counts.items() if ch == c) for c in channels}
    day_totals = [sum(counts.get((d, c), 0.0) for c in channels) for d in axis]

    width, height = 1100.0, 300.0
    left, right, top, bottom = 64.0, 44.0, 14.0, 46.0
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = _ticks(max(day_totals, default=0.0), integer=True)
    scale = plot_h / ticks[-1]
    base = top + plot_h
    parts: list[str] = []
    parts.extend(_y_grid(ticks, [fmt_int(t) for t in ticks], left, plot_w, base, scale))
    slot = plot_w / len(axis)
    bar = min(slot * 0.8 if slot >= 3 else slot, 36.0)
    for i, day in enumerate(axis):
        x = left + i * slot + (slot - bar) / 2
        y = base
        for channel in channels:
            count = counts.get((day, channel), 0.0)
            if count <= 0:
                continue
            h = count * scale
            y -= h
            parts.append(
                f'<rect x="{_c(x)}" y="{_c(y)}" width="{_c(bar)}" height="{_c(h)}" fill="{colors[channel]}">'
                f"<title>{esc(day)} {esc(channel)}: {fmt_int(count)}</title></rect>"
            )
    parts.append(f'<line class="axis" x1="{_c(left)}" x2="{_c(left + plot_w)}" y1="{_c(base)}" y2="{_c(base)}"/>')
    # Date labels are about 70 px wide: label every k-th day so they never touch.
    every = max(1, math.ceil(len(axis) / max(1, int(plot_w // 90))))
    for i in range(0, len(axis), every):
        x = left + (i + 0.5) * slot
        parts.append(f'<line class="axis" x1="{_c(x)}" x2="{_c(x)}" y1="{_c(base)}" y2="{_c(base + 4)}"/>')
        parts.append(_svg_text(x, base + 18, axis[i], "middle", "muted", ' data-tick="x"'))
    parts.append(_svg_text(left + plot_w / 2, height - 6, "日付 (date)", "middle", "muted"))
    rotate = f' transform="rotate(-90 14 {_c(top + plot_h / 2)})"'
    parts.append(_svg_text(14, top + plot_h / 2, "配信数 (sends)", "middle", "muted", rotate))
    legend = "".join(
        f'<li><span class="swatch" style="background:{colors[c]}"></span>{esc(c)} '
        f'<span class="note">{fmt_int(totals[c])}</span></li>'
        for c in channels
    )
    chart = _svg(width, height, "チャネル別の日次配信数 (sends per day by channel)", parts)
    return f'<ul class="legend" id="sends-legend">{legend}</ul>{chart}'


def retention_svg(rows: Sequence[Json]) -> str:
    """Vertical bars: the share of subscribers who reached each shipment."""
    width, height = 720.0, 230.0
    left, right, top, bottom = 52.0, 12.0, 22.0, 42.0
    plot_w, plot_h = width - left - right, height - top - bottom
    rates = [finite(r.get("rate")) for r in rows]
    ticks = _ticks(max([1.0, *(r for r in rates if r is not None)]))
    step = ticks[1] - ticks[0]
    scale = plot_h / ticks[-1]
    base = top + plot_h
    parts: list[str] = []
    parts.extend(_y_grid(ticks, [_pct_tick(t, step) for t in ticks], left, plot_w, base, scale))
    slot = plot_w / len(rows)
    bar = min(slot * 0.7, 48.0)
    every = max(1, math.ceil(28 / slot))  # "#12" needs about 28 px
    for i, (row, rate) in enumerate(zip(rows, rates, strict=True)):
        middle = left + (i + 0.5) * slot
        h = max(rate, 0.0) * scale if rate is not None else 0.0
        tip = f"#{fmt_int(row.get('shipment'))}: {fmt_rate(rate)} ({fmt_int(row.get('reached'))})"
        parts.append(
            f'<rect x="{_c(middle - bar / 2)}" y="{_c(base - h)}" width="{_c(bar)}" height="{_c(h)}" rx="2" '
            f'fill="{_ACCENT}"><title>{esc(tip)}</title></rect>'
        )
        if slot >= 44:  # value labels only where they fit above their own bar; the table has them all
            parts.append(_svg_text(middle, base - h - 5, fmt_rate(rate), "middle"))
        if i % every == 0:
            parts.append(_svg_text(middle, base + 16, f"#{fmt_int(row.get('shipment'))}", "middle", "muted"))
    parts.append(f'<line class="axis" x1="{_c(left)}" x2="{_c(left + plot_w)}" y1="{_c(base)}" y2="{_c(base)}"/>')
    parts.append(_svg_text(left + plot_w / 2, height - 6, "発送回 (shipment)", "middle", "muted"))
    return _svg(width, height, "定期便の継続率 (subscription retention)", parts)


def variants_svg(rows: Sequence[tuple[str, Json, bool]], label: str) -> str:
    """Horizontal bars of conversion rate per variant and the holdout, each with its 95% CI whisker.

    ``rows`` are (label, group, is_holdout) with the group's ``rate``/``ci95``/``n``. A null rate draws no bar,
    a null interval no whisker.
    """
    width, row, size = 760.0, 30.0, 12.0
    label_w = min(240.0, max(100.0, max(_text_width(r[0], size) for r in rows) + 14))
    value_w = 200.0  # "18.0% [15.0%, 21.3%]" fits
    plot_w = width - label_w - value_w
    axis_h = 34.0
    highs = [
        v
        for _, group, _ in rows
        for v in (finite(group.get("rate")), *(interval(group.get("ci95")) or ()))
        if v is not None
    ]
    ticks = _ticks(max(highs, default=0.0))
    step = ticks[1] - ticks[0]
    scale = plot_w / ticks[-1]
    plot_h = row * len(rows)

    def x_of(value: float) -> float:
        return label_w + min(max(value, 0.0), ticks[-1]) * scale

    parts: list[str] = []
    for t in ticks:
        x = x_of(t)
        parts.append(f'<line class="grid" x1="{_c(x)}" x2="{_c(x)}" y1="0" y2="{_c(plot_h)}"/>')
        parts.append(_svg_text(x, plot_h + 16, _pct_tick(t, step), "middle", "muted"))
    for i, (name, group, holdout) in enumerate(rows):
        top = i * row
        middle = top + row / 2
        rate, bounds = finite(group.get("rate")), interval(group.get("ci95"))
        value = f"{fmt_rate(rate)} {fmt_ci(group.get('ci95'))}" if bounds else fmt_rate(rate)
        parts.append(_svg_text(label_w - 10, middle + size * 0.35, _fit(name, size, label_w - 14), "end"))
        if rate is not None:
            parts.append(
                f'<rect x="{_c(label_w)}" y="{_c(top + 6)}" width="{_c(x_of(rate) - label_w)}" '
                f'height="{_c(row - 12)}" rx="2" fill="{_HOLDOUT if holdout else _ACCENT}">'
                f"<title>{esc(name)}: {esc(value)} (n={fmt_int(group.get('n'))})</title></rect>"
            )
        if bounds is not None:
            low, high = x_of(bounds[0]), x_of(bounds[1])
            parts.append(
                f'<g stroke="{_WHISKER}" stroke-width="1.5" data-ci="{esc(name)}">'
                f'<line x1="{_c(low)}" x2="{_c(high)}" y1="{_c(middle)}" y2="{_c(middle)}"/>'
                f'<line x1="{_c(low)}" x2="{_c(low)}" y1="{_c(middle - 6)}" y2="{_c(middle + 6)}"/>'
                f'<line x1="{_c(high)}" x2="{_c(high)}" y1="{_c(middle - 6)}" y2="{_c(middle + 6)}"/></g>'
            )
        parts.append(_svg_text(label_w + plot_w + 12, middle + size * 0.35, value))
    parts.append(f'<line class="axis" x1="{_c(label_w)}" x2="{_c(label_w)}" y1="0" y2="{_c(plot_h)}"/>')
    parts.append(_svg_text(label_w + plot_w / 2, plot_h + axis_h - 2, "転換率 (conversion rate)", "middle", "muted"))
    return _svg(width, plot_h + axis_h + 4, label, parts)


def money_bars_svg(rows: Sequence[tuple[str, object, bool]], label: str) -> str:
    """Horizontal bars of an amount in yen per group — (name, yen, is_holdout) — each labelled with its value."""
    if not rows:
        return empty_note("データなし (none)")
    width, row, size = 640.0, 28.0, 12.0
    label_w = min(200.0, max(90.0, max(_text_width(r[0], size) for r in rows) + 14))
    values = [finite(r[1]) for r in rows]
    texts = [fmt_yen(v) for v in values]
    value_w = max(_text_width(t, size) for t in texts) + 12
    plot_w = width - label_w - value_w
    peak = max((v for v in values if v is not None), default=0.0)
    parts: list[str] = []
    for i, ((name, _, holdout), value, text) in enumerate(zip(rows, values, texts, strict=True)):
        top = i * row
        middle = top + row / 2 + size * 0.35
        bar = plot_w * value / peak if value and value > 0 and peak > 0 else 0.0
        parts.append(_svg_text(label_w - 10, middle, _fit(name, size, label_w - 14), "end"))
        parts.append(
            f'<rect x="{_c(label_w)}" y="{_c(top + 5)}" width="{_c(bar)}" height="{_c(row - 10)}" rx="2" '
            f'fill="{_HOLDOUT if holdout else _ACCENT}"><title>{esc(name)}: {esc(text)}</title></rect>'
        )
        parts.append(_svg_text(label_w + bar + 6, middle, text))
    return _svg(width, row * len(rows), label, parts)


# The latest cohorts, light to dark: the newest line is the darkest, so recent cohorts stand out.
_MAX_CURVES = 12


def ltv_svg(cohorts: Sequence[Json]) -> str:
    """Observed LTV curves: revenue per customer, cumulative by months since the first order, one line per
    first-purchase month (the latest twelve; the table below has them all)."""
    shown = [c for c in cohorts if isinstance(c.get("ltv"), list) and c["ltv"]][-_MAX_CURVES:]
    if not shown:
        return empty_note("コホートなし (no cohorts)")
    width, height = 760.0, 280.0
    left, right, top, bottom = 78.0, 96.0, 14.0, 42.0
    plot_w, plot_h = width - left - right, height - top - bottom
    months = max(len(c["ltv"]) for c in shown)
    peak = max((finite(v) or 0.0 for c in shown for v in c["ltv"]), default=0.0)
    ticks = _ticks(peak)
    scale = plot_h / ticks[-1]
    base = top + plot_h
    step = plot_w / max(1, months - 1)
    parts = _y_grid(ticks, [fmt_yen(t) for t in ticks], left, plot_w, base, scale)
    every = max(1, math.ceil(months / 12))
    for m in range(0, months, every):
        parts.append(_svg_text(left + m * step, base + 16, f"{m}", "middle", "muted"))
    parts.append(f'<line class="axis" x1="{_c(left)}" x2="{_c(left + plot_w)}" y1="{_c(base)}" y2="{_c(base)}"/>')
    for i, cohort in enumerate(shown):
        shade = 0.25 + 0.75 * (i + 1) / len(shown)
        points = [
            (left + m * step, base - (finite(v) or 0.0) * scale)
            for m, v in enumerate(cohort["ltv"])
            if finite(v) is not None
        ]
        name = str(cohort.get("cohort", ""))
        path = " ".join(f"{_c(x)},{_c(y)}" for x, y in points)
        parts.append(
            f'<polyline fill="none" stroke="{_ACCENT}" stroke-opacity="{_c(shade)}" stroke-width="2" '
            f'points="{path}" data-cohort="{esc(name)}"><title>{esc(name)}: '
            f"{esc(fmt_yen(cohort['ltv'][-1]))} ({fmt_int(cohort.get('customers'))})</title></polyline>"
        )
        if points and i in (0, len(shown) - 1):  # the oldest and the newest: more labels would overlap
            parts.append(_svg_text(points[-1][0] + 6, points[-1][1] + 4, name, "start", "muted"))
    parts.append(
        _svg_text(left + plot_w / 2, height - 6, "初回購入からの月数 (months since first order)", "middle", "muted")
    )
    return _svg(width, height, "コホート別LTV (observed LTV by first-purchase month)", parts)
