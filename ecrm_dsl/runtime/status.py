"""What is deployed, whether the scheduler keeps up, and where customers are: ``ecrm status``.

:func:`status_document` gathers it as one JSON-ready document (``--format json``); :func:`status_text` renders
that document for a person. Nothing here reads contact details.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from ecrm_dsl.language.i18n import lookup, n_, tr
from ecrm_dsl.runtime import lease
from ecrm_dsl.runtime.scheduler import last_tick
from ecrm_dsl.store import deployments, leases, outbox
from ecrm_dsl.store import enrollments as store
from ecrm_dsl.store.health import outbox_backlog

FORMAT, VERSION = "ecrm-status", 1
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")
DEFAULT_TIMEZONE = "Asia/Tokyo"  # for a store nothing was deployed to yet
# An enrollment's or a delivery's status as the text names it (English: the status itself).
STATUS_WORDS = {
    "active": n_("active"),
    "converted": n_("converted"),
    "exited": n_("exited"),
    "completed": n_("completed"),
    "pending": n_("pending"),
    "sending": n_("sending"),
    "sent": n_("sent"),
    "failed": n_("failed"),
}


def status_document(conn: Connection, now: datetime) -> dict[str, Any]:
    """The store's state as of ``now``: deployment, last tick and lag, outbox backlog, customers per step."""
    history = deployments.deployment_history(conn)
    active = deployments.active_deployment(conn) if history else None
    plan = active[1] if active else None
    tick = last_tick(conn)
    backlog = outbox_backlog(conn, now)
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "now": _utc(now),
        "timezone": plan.timezone if plan else DEFAULT_TIMEZONE,
        "deployment": None,
        "last_tick": _utc(tick) if tick else None,
        "lag_seconds": _seconds(now - tick) if tick else None,
        "tick_lease": _tick_lease(conn),
        "outbox": {
            **{status: backlog.by_status.get(status, 0) for status in OUTBOX_STATUSES},
            "due": backlog.due,
            "oldest_pending": _utc(backlog.oldest_pending) if backlog.oldest_pending else None,
            "oldest_pending_age_seconds": _seconds(now - backlog.oldest_pending) if backlog.oldest_pending else None,
        },
        "scenarios": [],
    }
    if plan is None:
        return document
    latest = history[-1]
    document["deployment"] = {
        "id": latest["id"],
        "deployed_at": _utc(latest["deployed_at"]),
        "plan_hash": latest["plan_hash"],
        "in_flight": latest["in_flight"],
        "deployments": len(history),
    }
    flying = store.in_flight(conn)
    statuses = store.status_counts(conn)
    sends = outbox.by_status(conn)
    current = {s.id: s.hash for s in plan.scenarios}
    for sid in sorted(set(current) | {k[0] for k in flying}):
        steps = [
            {"step": node, "version": version, "current": current.get(sid) == version, "customers": n}
            for (s, version), at_steps in sorted(flying.items())
            if s == sid
            for node, n in sorted(at_steps.items(), key=lambda kv: str(kv[0]))
        ]
        document["scenarios"].append(
            {
                "id": sid,
                "in_plan": sid in current,
                "enrollments": {st: n for (s, st), n in sorted(statuses.items()) if s == sid},
                "deliveries": {st: n for (s, st), n in sorted(sends.items()) if s == sid},
                "steps": steps,
            }
        )
    return document


def _tick_lease(conn: Connection) -> dict[str, Any] | None:
    """The worker that holds the tick lease now (wall-clock time, whatever ``--now`` says), or None."""
    _, holding = leases.read(conn, lease.NAME)
    if holding is None or holding.until <= time.time():
        return None
    return {"holder": holding.holder, "until": _utc(datetime.fromtimestamp(holding.until, UTC))}


def status_text(document: dict[str, Any]) -> str:
    zone = ZoneInfo(document["timezone"])
    deployment = document["deployment"]
    if deployment is None:
        lines = [tr("nothing deployed yet: run 'ecrm deploy'")]
    else:
        lines = [
            tr(
                "deployment #{id} at {time} ({timezone}), plan {plan}, in-flight rule {in_flight} — {count} "
                "deployment(s) in history",
                id=deployment["id"],
                time=_local(deployment["deployed_at"], zone),
                timezone=document["timezone"],
                plan=deployment["plan_hash"][:19],
                in_flight=deployment["in_flight"],
                count=deployment["deployments"],
            )
        ]
    lines.append(_tick_line(document, zone))
    lines.append(_outbox_line(document["outbox"]))
    for scenario in document["scenarios"]:
        totals = ", ".join(f"{_status(st)} {n}" for st, n in scenario["enrollments"].items()) or tr("no enrollments")
        delivered = ", ".join(f"{_status(st)} {n}" for st, n in scenario["deliveries"].items())
        name = (
            scenario["id"] if scenario["in_plan"] else tr("{scenario} (removed from the plan)", scenario=scenario["id"])
        )
        lines.append(
            f"\n{name}: {totals}" + ("; " + tr("deliveries: {outcomes}", outcomes=delivered) if delivered else "")
        )
        for step in scenario["steps"]:
            fields = {"customers": f"{step['customers']:>7}", "step": step["step"], "version": step["version"][7:19]}
            if step["current"]:
                lines.append(tr("  {customers}  at {step}  (current {version})", **fields))
            else:
                lines.append(tr("  {customers}  at {step}  (older version {version})", **fields))
    return "\n".join(lines) + "\n"


def _status(status: str) -> str:
    return lookup(STATUS_WORDS[status]) if status in STATUS_WORDS else status


def _tick_line(document: dict[str, Any], zone: ZoneInfo) -> str:
    if document["last_tick"] is None:
        return tr("last tick: never (start `ecrm run`)")
    lag = document["lag_seconds"]
    last = _local(document["last_tick"], zone)
    if lag >= 0:
        line = tr("last tick: {time}, {duration} ago", time=last, duration=duration_words(lag))
    else:
        line = tr("last tick: {time}, {duration} ahead of now", time=last, duration=duration_words(-lag))
    held = document.get("tick_lease")
    if held:
        line += "; " + tr(
            "ticking: {worker} (lease until {time})", worker=held["holder"], time=_local(held["until"], zone)
        )
    return line


def _outbox_line(backlog: dict[str, Any]) -> str:
    line = tr(
        "outbox: pending {pending} ({due} due now), sending {sending}, failed {failed}, sent {sent}",
        pending=f"{backlog['pending']:,}",
        due=f"{backlog['due']:,}",
        sending=f"{backlog['sending']:,}",
        failed=f"{backlog['failed']:,}",
        sent=f"{backlog['sent']:,}",
    )
    age = backlog["oldest_pending_age_seconds"]
    if age is not None:
        line += "; " + tr("oldest pending decided {duration} ago", duration=duration_words(max(age, 0)))
    return line


def duration_words(seconds: float) -> str:
    """``42 s``, ``5 min``, ``3 h 20 min``, ``2 d 4 h``: coarse enough to read at a glance."""
    whole = int(seconds)
    if whole < 60:
        return tr("{seconds} s", seconds=whole)
    if whole < 3600:
        return tr("{minutes} min", minutes=whole // 60)
    if whole < 86400:
        hours, minutes = divmod(whole // 60, 60)
        if minutes:
            return tr("{hours} h {minutes} min", hours=hours, minutes=minutes)
        return tr("{hours} h", hours=hours)
    days, hours = divmod(whole // 3600, 24)
    return tr("{days} d {hours} h", days=days, hours=hours) if hours else tr("{days} d", days=days)


def _local(moment: str, zone: ZoneInfo) -> str:
    return f"{datetime.fromisoformat(moment).astimezone(zone):%Y-%m-%d %H:%M}"


def _utc(moment: datetime) -> str:
    """Every time in the document in UTC, as the store keeps them; the text shows them in the shop's zone."""
    return moment.astimezone(UTC).isoformat()


def _seconds(delta: timedelta) -> float:
    return round(delta.total_seconds(), 3)
