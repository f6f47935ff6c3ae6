"""What is deployed and where customers are: the text of ``ecrm status``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from ecrm_dsl.store import deployments, outbox
from ecrm_dsl.store import enrollments as store


def status_text(conn: Connection) -> str:
    history = deployments.deployment_history(conn)
    if not history:
        return "nothing deployed yet: run 'ecrm deploy'\n"
    latest = history[-1]
    active = deployments.active_deployment(conn)
    assert active is not None
    plan = active[1]
    zone = ZoneInfo(plan.timezone)
    lines = [
        f"deployment #{latest['id']} at {latest['deployed_at'].astimezone(zone):%Y-%m-%d %H:%M} "
        f"({plan.timezone}), plan {latest['plan_hash'][:19]}, in-flight rule {latest['in_flight']}"
        f" — {len(history)} deployment(s) in history"
    ]
    flying = store.in_flight(conn)
    statuses = store.status_counts(conn)
    sends = outbox.by_status(conn)
    scenario_ids = sorted({s.id for s in plan.scenarios} | {k[0] for k in flying})
    current = {s.id: s.hash for s in plan.scenarios}
    for sid in scenario_ids:
        totals = ", ".join(f"{st} {n}" for (s, st), n in sorted(statuses.items()) if s == sid) or "no enrollments"
        delivered = ", ".join(f"{st} {n}" for (s, st), n in sorted(sends.items()) if s == sid)
        lines.append(
            f"\n{sid}{'' if sid in current else ' (removed from the plan)'}: {totals}"
            + (f"; deliveries: {delivered}" if delivered else "")
        )
        for (s, version), steps in sorted(flying.items()):
            if s != sid:
                continue
            tag = "current" if current.get(sid) == version else "older version"
            for node, n in sorted(steps.items(), key=lambda kv: str(kv[0])):
                lines.append(f"  {n:>7}  at {node}  ({tag} {version[7:19]})")
    return "\n".join(lines) + "\n"
