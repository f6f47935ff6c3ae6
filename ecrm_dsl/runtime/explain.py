"""A customer's timeline: every decision about them, in the shop's time, with its reason."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from ecrm_dsl.store import journal, outbox

_WORDS = {
    "entered": "entered",
    "not_entered": "not entered",
    "sent": "sent",
    "skipped": "skipped",
    "deferred": "deferred",
    "branched": "branched",
    "assigned": "A/B",
    "waiting": "waiting",
    "heard": "heard",
    "timed_out": "timed out",
    "updated": "updated",
    "exited": "exited",
    "converted": "CONVERTED",
    "completed": "completed",
    "retimed": "retimed",
}


def timeline(conn: Connection, customer_id: str) -> list[dict[str, Any]]:
    return journal.timeline(conn, customer_id)


def render_timeline(
    customer_id: str, rows: list[dict[str, Any]], deliveries: list[dict[str, Any]], timezone: str
) -> str:
    zone = ZoneInfo(timezone)
    if not rows:
        return f"customer {customer_id}: no decisions recorded\n"
    lines = [f"customer {customer_id} — times in {timezone}"]
    status = {d["idempotency_key"]: d["status"] for d in deliveries}
    for row in rows:
        when = row["at"].astimezone(zone).strftime("%Y-%m-%d %H:%M")
        step = f" {row['node_id']}" if row["node_id"] else ""
        reason = f" — {row['reason']}" if row["reason"] else ""
        delivery = ""
        key = (row.get("detail") or {}).get("key")
        if key in status:
            delivery = f" [{status[key]}]"
        lines.append(f"  {when}  {row['scenario_id']}{step}: {_WORDS.get(row['kind'], row['kind'])}{reason}{delivery}")
    return "\n".join(lines) + "\n"


def explain(conn: Connection, customer_id: str, timezone: str) -> str:
    return render_timeline(customer_id, timeline(conn, customer_id), outbox.for_customer(conn, customer_id), timezone)
