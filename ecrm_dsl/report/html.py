"""The ``ecrm report`` page: one self-contained HTML file with inline CSS and inline SVG charts, and no script.

Planners open it from disk or from an email attachment, often offline, so nothing is fetched: no CDN, no web
fonts, no JavaScript. Every string from the document is escaped (scenario titles are user input), and the output
is deterministic (same document, same bytes) so reports can be diffed and kept in git.

:func:`render_html` takes the report document (the JSON-ready dict that ``ecrm report`` also prints as JSON).
Lists may be empty and any rate, CI, uplift or count may be null; a missing value shows as "—".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from html import escape
from typing import Any

__all__ = ["CHANNEL_COLORS", "CSS", "render_html"]

Json = dict[str, Any]

DASH = "—"  # no denominator, no interval: shown instead of a number

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

_ACCENT = "#2f6fb0"
_HOLDOUT = "#9aa5b1"
_WHISKER = "#1f2933"

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


class Markup(str):
    """A table cell that is already HTML (escaped parts and our own tags); plain ``str`` cells are escaped."""


# Control characters are invalid in XML, so the SVG would not parse (and they mean nothing to a reader).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def esc(value: object) -> str:
    """Escape for HTML text and attribute values alike; control characters are dropped."""
    return escape(_CONTROL.sub("", str(value)), quote=True)


# ---------------------------------------------------------------------------------------------------- numbers


def _num(value: object) -> float | None:
    """A finite number, or None (missing, null, NaN): what every formatter and chart reads."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def fmt_int(value: object) -> str:
    number = _num(value)
    if number is None:
        return DASH
    return f"{int(number):,}" if number.is_integer() else f"{number:,.1f}"


def fmt_rate(value: object) -> str:
    number = _num(value)
    return DASH if number is None else f"{number * 100:.1f}%"


def _signed(number: float) -> str:
    # Adding 0.0 turns a rounded -0.0 into 0.0, so a tiny negative uplift does not print as "-0.0".
    return f"{round(number * 100, 1) + 0.0:+.1f}"


def fmt_points(value: object) -> str:
    """An uplift in percentage points: 0.064 → ``+6.4 pt``."""
    number = _num(value)
    return DASH if number is None else f"{_signed(number)} pt"


def fmt_relative(value: object) -> str:
    number = _num(value)
    return DASH if number is None else f"{_signed(number)}%"


def _interval(ci: object) -> tuple[float, float] | None:
    if not isinstance(ci, list | tuple) or len(ci) != 2:
        return None
    low, high = _num(ci[0]), _num(ci[1])
    return None if low is None or high is None else (low, high)


def fmt_ci(ci: object) -> str:
    """A 95% interval of a rate: ``[22.6%, 27.5%]``."""
    bounds = _interval(ci)
    return DASH if bounds is None else f"[{fmt_rate(bounds[0])}, {fmt_rate(bounds[1])}]"


def fmt_ci_points(ci: object) -> str:
    bounds = _interval(ci)
    return DASH if bounds is None else f"[{_signed(bounds[0])}, {_signed(bounds[1])}] pt"


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


def _svg(width: float, height: float, label: str, body: Iterable[str]) -> str:
    # No xmlns: the HTML parser puts <svg> in the SVG namespace itself, and the page then names no URL at all.
    return (
        f'<svg width="{_c(width)}" height="{_c(height)}" viewBox="0 0 {_c(width)} {_c(height)}" role="img" '
        f'aria-label="{esc(label)}"><title>{esc(label)}</title>' + "".join(body) + "</svg>"
    )


def _empty(what: str) -> str:
    return f'<p class="empty">{esc(what)}</p>'


# ----------------------------------------------------------------------------------------------------- charts


def funnel_svg(stages: Sequence[Json], label: str) -> str:
    """Horizontal bars, one per stage: the count, and its share of the first stage."""
    if not stages:
        return _empty("ファネルのデータなし (no funnel data)")
    names = [_stage_label(str(s.get("stage", ""))) for s in stages]
    counts = [_num(s.get("count")) for s in stages]
    first = counts[0]
    values = [f"{fmt_int(c)} ({fmt_rate(c / first if c is not None and first else None)})" for c in counts]
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
        return _empty("配信記録なし (no sends)")
    axis, place = day_axis(str(r.get("date", "")) for r in rows)
    channels = channel_order(str(r.get("channel", "")) for r in rows)
    colors = channel_colors(channels)
    counts: dict[tuple[str, str], float] = {}
    for r in rows:
        key = (place[str(r.get("date", ""))], str(r.get("channel", "")))
        counts[key] = counts.get(key, 0.0) + (_num(r.get("count")) or 0.0)
    totals = {c: sum(v for (_, ch), v in counts.items() if ch == c) for c in channels}
    day_totals = [sum(counts.get((d, c), 0.0) for c in channels) for d in axis]

    width, height = 1100.0, 300.0
    left, right, top, bottom = 64.0, 44.0, 14.0, 46.0
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = _ticks(max(day_totals, default=0.0), integer=True)
    scale = plot_h / ticks[-1]
    base = top + plot_h
    parts: list[str] = []
    for t in ticks:
        y = base - t * scale
        parts.append(f'<line class="grid" x1="{_c(left)}" x2="{_c(left + plot_w)}" y1="{_c(y)}" y2="{_c(y)}"/>')
        parts.append(_svg_text(left - 8, y + 4, fmt_int(t), "end", "muted"))
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
    rates = [_num(r.get("rate")) for r in rows]
    ticks = _ticks(max([1.0, *(r for r in rates if r is not None)]))
    step = ticks[1] - ticks[0]
    scale = plot_h / ticks[-1]
    base = top + plot_h
    parts: list[str] = []
    for t in ticks:
        y = base - t * scale
        parts.append(f'<line class="grid" x1="{_c(left)}" x2="{_c(left + plot_w)}" y1="{_c(y)}" y2="{_c(y)}"/>')
        parts.append(_svg_text(left - 8, y + 4, _pct_tick(t, step), "end", "muted"))
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
        for v in (_num(group.get("rate")), *(_interval(group.get("ci95")) or ()))
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
        rate, bounds = _num(group.get("rate")), _interval(group.get("ci95"))
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


# ----------------------------------------------------------------------------------------------------- tables


_BILINGUAL = re.compile(r"^(.+?) \((.+)\)$")


def _heading(text: str) -> str:
    """``開封率 (open rate)`` on two lines, the English smaller: wide tables then fit 1280 px."""
    match = _BILINGUAL.match(text)
    return f'{esc(match[1])}<br><span class="en">{esc(match[2])}</span>' if match else esc(text)


def _table(
    table_id: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric_from: int = 1,
    spans: Sequence[tuple[str, int]] = (),
) -> str:
    """A table whose columns from ``numeric_from`` on are right-aligned numbers; plain-str cells are escaped.

    ``spans`` (label, columns) puts a header row above the column headers, for groups of columns.
    """

    def cell(tag: str, index: int, value: str) -> str:
        klass = ' class="num"' if index >= numeric_from else ""
        text = value if isinstance(value, Markup) else _heading(value) if tag == "th" else esc(value)
        return f"<{tag}{klass}>{text}</{tag}>"

    above = "".join(
        f'<th colspan="{n}" class="span">{_heading(label)}</th>' if n > 1 else f"<th>{_heading(label)}</th>"
        for label, n in spans
    )
    head = (f"<tr>{above}</tr>" if spans else "") + "<tr>" + "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    table = f'<table id="{table_id}"><thead>{head}</tr></thead><tbody>{body}</tbody></table>'
    return f'<div class="table-wrap">{table}</div>'


def _uplift_cell(uplift: Json) -> Markup:
    """The uplift in points, green or red when its whole interval is on one side of zero."""
    bounds = _interval(uplift.get("ci95"))
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
        items.append((
            "シミュレーション (simulation)",
            f"{sim['from']} → {sim['to']}, step {sim['step']}, segments every {sim['segment_every']}",
        ))
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
        retention_html = _empty("定期便のデータなし (no subscriptions)")
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
            _table(
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
        empty = _empty("シナリオなし (no scenarios)")
        return f'<section id="scenarios"><h2>シナリオ一覧 (scenarios)</h2>{empty}</section>'
    rows = []
    for scenario, anchor in zip(scenarios, anchors, strict=True):
        conversion = _dict(scenario.get("conversion"))
        treated, holdout, uplift = (_dict(conversion.get(k)) for k in ("treated", "holdout", "uplift"))
        title = str(scenario.get("title") or scenario.get("id") or "")
        rows.append([
            Markup(f'<a href="#{anchor}">{esc(title)}</a>'), fmt_int(scenario.get("entered")),
            fmt_rate(treated.get("rate")), fmt_rate(holdout.get("rate")), _uplift_cell(uplift),
            fmt_ci_points(uplift.get("ci95")),
        ])  # fmt: skip
    headers = ["シナリオ (scenario)", "エントリー (entered)", "配信群 (treated)", "ホールドアウト (holdout)",
               "アップリフト (uplift)", "95% CI"]  # fmt: skip
    note = '<p class="note">アップリフトは配信群とホールドアウトの転換率の差 (percentage points)。</p>'
    table = _table("overview", headers, rows)
    return f'<section id="scenarios"><h2>シナリオ一覧 (scenarios)</h2>{table}{note}</section>'


def _scenario(scenario: Json, anchor: str) -> str:
    title = str(scenario.get("title") or scenario.get("id") or "")
    conversion = _dict(scenario.get("conversion"))
    counts = " · ".join(
        f"{label} <b>{esc(fmt_int(scenario.get(key)))}</b>"
        for key, label in (("entered", "エントリー (entered)"), ("messaged", "配信 (messaged)"),
                           ("holdout", "ホールドアウト (holdout)"))
    )  # fmt: skip
    conversion_table = _table(
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
        f'<p>アップリフト (uplift) {_uplift_cell(uplift)} · 95% CI {esc(fmt_ci_points(uplift.get("ci95")))} · '
        f"相対 (relative) {esc(fmt_relative(uplift.get('relative')))}</p>"
    )
    funnel = funnel_svg(_list(scenario.get("funnel")), f"ファネル (funnel): {title}")
    parts = [
        f'<section class="scenario" id="{anchor}">',
        f'<h2>{esc(title)}<span class="badge">{esc(scenario.get("kind") or DASH)}</span></h2>',
        f'<p class="counts"><code>{esc(scenario.get("id", ""))}</code> · {counts}</p>',
        f'<div class="row"><div><h3>転換 (conversion)</h3>{conversion_table}{uplift_line}</div>'
        f"<div><h3>ファネル (funnel)</h3>{funnel}</div></div>",
        _variants(scenario, anchor, title),
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
    table = _table(
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
    return f"<h3>バリアント比較 (variant comparison)</h3>{chart}{table}{note}"


def _steps(steps: list[Json], anchor: str) -> str:
    if not steps:
        return _empty("ステップなし (no steps)")
    headers = ["ステップ (step)", "種類 (kind)", "チャネル (channel)", "送信 (sent)", "開封 (opened)",
               "クリック (clicked)", "開封率 (open rate)", "クリック率 (click rate)", "転換 (conv.)",
               "転換率 (conv. rate)"]  # fmt: skip
    rows = (
        [str(s.get("id", "")), str(s.get("kind") or DASH), str(s.get("channel") or DASH), fmt_int(s.get("sent")),
         fmt_int(s.get("opened")), fmt_int(s.get("clicked")), fmt_rate(s.get("open_rate")),
         fmt_rate(s.get("click_rate")), fmt_int(s.get("conversions")), fmt_rate(s.get("conversion_rate"))]
        for s in steps
    )  # fmt: skip
    return _table(f"{anchor}-steps", headers, rows, numeric_from=3)


def _groups(groups: list[Json], table_id: str, label: str) -> str:
    if not groups:
        return _empty("データなし (none)")
    rows = ([str(g.get("group", "")), *_group_cells(g)] for g in groups)
    return _table(table_id, [label, *_GROUP_HEADERS], rows, spans=(("", 1), *_GROUP_SPANS))


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
        _overview(scenarios, anchors),
        *(_scenario(s, a) for s, a in zip(scenarios, anchors, strict=True)),
    ])  # fmt: skip
    return (
        '<!DOCTYPE html>\n<html lang="ja">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(page_title)}</title>\n<style>\n{CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
