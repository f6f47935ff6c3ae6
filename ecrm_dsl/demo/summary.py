"""The demo's closing report: per-scenario counts and a couple of customer timelines."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection

from ecrm_dsl.runtime.explain import explain
from ecrm_dsl.store import journal, outbox

COLUMNS = ["entered", "holdout", "sent", "skipped", "deferred", "converted", "exited", "completed"]


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
    width = max([len(s) for s in counts] + [8])
    lines = [f"{'scenario':<{width}}  " + "  ".join(f"{c:>9}" for c in COLUMNS)]
    for sid in sorted(counts):
        lines.append(f"{sid:<{width}}  " + "  ".join(f"{counts[sid][c]:>9}" for c in COLUMNS))
        if channels[sid]:
            lines.append(f"{'':<{width}}    sent by channel: {', '.join(channels[sid])}")
        top = sorted(reasons[sid].items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        if top:
            lines.append(f"{'':<{width}}    skipped because: " + "; ".join(f"{r} ({n})" for r, n in top))
    return "\n".join(lines) + "\n"


def _short(reason: str) -> str:
    """Group skip reasons by their kind, not by the channels listed in them."""
    if reason.startswith("no reachable channel"):
        return "no reachable channel (consent or contact)"
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
