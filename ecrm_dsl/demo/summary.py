"""The demo's closing report: per-scenario counts and a couple of customer timelines."""

from __future__ import annotations

import unicodedata
from collections import defaultdict

from sqlalchemy import Connection

from ecrm_dsl.language.i18n import lookup, n_, tr
from ecrm_dsl.runtime.explain import explain
from ecrm_dsl.runtime.reason_text import reason_text
from ecrm_dsl.store import journal, outbox

COLUMNS = ["entered", "holdout", "sent", "skipped", "deferred", "converted", "exited", "completed"]
# The columns' headings, in the current language when shown (keys of the counts stay as above).
HEADINGS = {
    "entered": n_("entered"),
    "holdout": n_("holdout"),
    "sent": n_("sent"),
    "skipped": n_("skipped"),
    "deferred": n_("deferred"),
    "converted": n_("converted"),
    "exited": n_("exited"),
    "completed": n_("completed"),
}


def scenario_table(conn: Connection) -> str:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reasons: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in journal.counts(conn):
        sid, kind, reason, n = row["scenario_id"], row["kind"], row["reason"], row["n"]
        counts[sid][kind] += n
        if kind == "entered" and reason and "holdout" in reason:
            counts[sid]["holdout"] += n
        if kind == "skipped" and reason:
            reasons[sid][_short(reason)] += n
    channels: dict[str, list[str]] = defaultdict(list)
    for (sid, channel), n in sorted(outbox.by_channel(conn).items()):
        channels[sid].append(f"{channel} {n}")
    heading = tr("scenario")
    width = max([len(s) for s in counts] + [_columns(heading)])
    titles = [lookup(HEADINGS[c]) for c in COLUMNS]
    widths = [max(9, _columns(t)) for t in titles]
    lines = [_left(heading, width) + "  " + "  ".join(_right(t, w) for t, w in zip(titles, widths, strict=True))]
    for sid in sorted(counts):
        cells = (f"{counts[sid][c]:>{w}}" for c, w in zip(COLUMNS, widths, strict=True))
        lines.append(f"{sid:<{width}}  " + "  ".join(cells))
        if channels[sid]:
            lines.append(f"{'':<{width}}    " + tr("sent by channel: {channels}", channels=", ".join(channels[sid])))
        top = sorted(reasons[sid].items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        if top:
            because = "; ".join(f"{reason_text(r)} ({n})" for r, n in top)
            lines.append(f"{'':<{width}}    " + tr("skipped because: {reasons}", reasons=because))
    return "\n".join(lines) + "\n"


def _columns(text: str) -> int:
    """The columns ``text`` takes on a terminal: two for a wide (Japanese) character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _left(text: str, width: int) -> str:
    return text + " " * max(0, width - _columns(text))


def _right(text: str, width: int) -> str:
    return " " * max(0, width - _columns(text)) + text


def _short(reason: str) -> str:
    """Group skip reasons by their kind, not by the channels listed in them."""
    if reason.startswith("no reachable channel"):
        return tr("no reachable channel (consent or contact)")
    if ", kept for higher-priority " in reason:  # without the step and time of the send it made room for
        return reason.split(" (", 1)[0]
    return reason.split(":")[0] if reason.startswith("holdout") else reason


def sample_timelines(conn: Connection, timezone: str) -> str:
    """The story of a converted customer and of a customer who could not be reached, when there are any."""
    shown = []
    for scenario, kind in (("f2_step_mail", "converted"), ("cart_abandonment", "converted"), ("f2_step_mail", "sent")):
        customer = journal.first_customer(conn, scenario, kind)
        if customer and customer not in shown:
            shown.append(customer)
        if len(shown) == 2:
            break
    return "\n".join(explain(conn, c, timezone) for c in shown)
