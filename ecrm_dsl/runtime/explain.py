"""A customer's timeline: every decision about them, in the shop's time, with its reason; then, for each deployed
scenario they never entered, why not."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from ecrm_dsl.conditions.evaluate import load_snapshots
from ecrm_dsl.language.i18n import lookup, n_, tr
from ecrm_dsl.runtime.model import DeployedPlan
from ecrm_dsl.runtime.reason_text import reason_text
from ecrm_dsl.runtime.why_not import Reasons
from ecrm_dsl.store import deployments, journal, outbox


class UnknownCustomer(LookupError):
    """The store has no customer with this id."""


_WORDS = {
    "entered": n_("entered"),
    "not_entered": n_("not entered"),
    "sent": n_("sent"),
    "skipped": n_("skipped"),
    "deferred": n_("deferred"),
    "branched": n_("branched"),
    "assigned": n_("A/B"),
    "waiting": n_("waiting"),
    "heard": n_("heard"),
    "timed_out": n_("timed out"),
    "updated": n_("updated"),
    "exited": n_("exited"),
    "converted": n_("CONVERTED"),
    "completed": n_("completed"),
    "retimed": n_("retimed"),
    "delivered": n_("delivered"),
    "retrying": n_("retrying"),
    "delivery_failed": n_("delivery_failed"),
}


def timeline(conn: Connection, customer_id: str) -> list[dict[str, Any]]:
    return journal.timeline(conn, customer_id)


def render_timeline(
    customer_id: str, rows: list[dict[str, Any]], deliveries: list[dict[str, Any]], timezone: str
) -> str:
    zone = ZoneInfo(timezone)
    if not rows:
        return tr("customer {customer}: no decisions recorded", customer=customer_id) + "\n"
    lines = [tr("customer {customer} — times in {timezone}", customer=customer_id, timezone=timezone)]
    status = {d["idempotency_key"]: d["status"] for d in deliveries}
    for row in rows:
        when = row["at"].astimezone(zone).strftime("%Y-%m-%d %H:%M")
        step = f" {row['node_id']}" if row["node_id"] else ""
        reason = f" — {reason_text(row['reason'])}" if row["reason"] else ""
        delivery = ""
        key = (row.get("detail") or {}).get("key")
        if key in status:
            delivery = f" [{status[key]}]"
        kind = lookup(_WORDS[row["kind"]]) if row["kind"] in _WORDS else row["kind"]
        lines.append(f"  {when}  {row['scenario_id']}{step}: {kind}{reason}{delivery}")
    return "\n".join(lines) + "\n"


def explain(conn: Connection, customer_id: str, timezone: str) -> str:
    """The timeline, and why the customer is not in the other scenarios of the active deployment."""
    customer = load_snapshots(conn, customer_ids=[customer_id]).get(customer_id)
    if customer is None:
        raise UnknownCustomer(customer_id)
    rows = timeline(conn, customer_id)
    text = render_timeline(customer_id, rows, outbox.for_customer(conn, customer_id), timezone)
    active = deployments.active_deployment(conn)
    if active is None:
        return text
    absences = Reasons(conn, customer, rows).lines(DeployedPlan(active[1], active[0]).scenarios())
    if absences:
        text += tr("why not in the other deployed scenarios:") + "\n" + "\n".join(absences) + "\n"
    return text
