"""Delivering the outbox: render each message from its plan version and hand it to the channel's adapter.

A delivery is leased (status ``sending``) before the provider is called and settled after. If the process dies
in between, the lease runs out and the delivery is tried again with the same idempotency key, which LINE
(X-Line-Retry-Key), the SMS gateway and webhooks (Idempotency-Key) and the batch files deduplicate; email
carries a Message-ID derived from the key. Transient failures are retried with backoff; permanent ones are
recorded and never retried.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from ecrm_dsl.delivery.adapters import Adapter
from ecrm_dsl.delivery.message import DeliveryResult, Message, Recipient, permanent
from ecrm_dsl.delivery.render import RenderError, mark_money, render
from ecrm_dsl.delivery.retry import backoff, should_retry
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.runtime.model import DeployedPlan
from ecrm_dsl.runtime.policy import reachable
from ecrm_dsl.store import customers, deployments, journal, outbox
from ecrm_dsl.store import enrollments as store

LEASE = timedelta(minutes=10)
BATCH = 500


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        adapters: Mapping[str, Adapter],
        *,
        shop: Mapping[str, str] | None = None,
        unsubscribe: Callable[[str, str], str | None] | None = None,
    ):
        self.engine = engine
        self.adapters = adapters
        self.shop = dict(shop or {})
        self.unsubscribe = unsubscribe or (lambda customer_id, channel: None)
        self._plans: dict[str, Plan] = {}  # scenario version → the plan that runs it

    def run(self, now: datetime) -> Counter[str]:
        """Deliver everything due at ``now``; returns how many were sent, retried and failed."""
        counts: Counter[str] = Counter()
        while True:
            with self.engine.begin() as conn:
                rows = outbox.claim(conn, now, now + LEASE, BATCH)
            if not rows:
                return counts
            with self.engine.connect() as conn:
                profiles = customers.profiles(conn, [r["customer_id"] for r in rows])
                events = self._entry_events(conn, rows)
                plans = self._plans_for(conn, {r["scenario_hash"] for r in rows})
            for row in rows:
                result = self._deliver(
                    row,
                    profiles.get(row["customer_id"]),
                    events.get(row["enrollment_id"], {}),
                    plans.get(row["scenario_hash"]),
                )
                counts[self._settle(row, result, now)] += 1

    def _deliver(
        self, row: dict[str, Any], profile: dict[str, Any] | None, event: dict[str, Any], plan: Plan | None
    ) -> DeliveryResult:
        adapter = self.adapters.get(row["channel"])
        if adapter is None:
            return permanent(f"no delivery adapter is configured for {row['channel']}")
        if profile is None:
            return permanent("the customer no longer exists")
        template = plan.templates.get(row["template"]) if plan is not None else None
        if plan is None or template is None:
            return permanent(f"template {row['template']} is not in the plan version")
        if row["category"] == "marketing":
            # Consent must hold when the message leaves, not only when it was decided (特定電子メール法).
            reach = reachable([row["channel"]], profile, True, plan.policies.consent, True)
            if reach.channel is None:
                return permanent(f"not delivered: {reach.reasons[0].split(': ', 1)[1]} since the decision")
        link = self.unsubscribe(row["customer_id"], row["channel"]) if row["category"] == "marketing" else None
        view = DeployedPlan(plan, 0)
        scenario = next((s for s in plan.scenarios if s.hash == row["scenario_hash"]), None)
        entry_event = scenario.entry_event if scenario else None
        customer = mark_money(
            {**(profile.get("attributes") or {}), **{k: v for k, v in profile.items() if k != "attributes"}},
            view.types(None).attributes,
        )
        try:
            content = render(
                template.to_json(),
                row["channel"],
                customer=customer,
                params={**template.defaults, **(row["params"] or {})},
                event=mark_money(event, view.types(entry_event).event_properties),
                shop=self.shop,
                unsubscribe_url=link,
            )
        except RenderError as exc:
            return permanent(f"cannot render: {exc}")
        message = Message(
            idempotency_key=row["idempotency_key"],
            channel=row["channel"],
            template=row["template"],
            category=row["category"],
            recipient=Recipient.from_customer(profile),
            content=content,
            scenario_id=row["scenario_id"],
            scenario_hash=row["scenario_hash"],
            node_id=row["node_id"],
            unsubscribe_url=link,
        )
        return adapter.send(message)

    def _settle(self, row: dict[str, Any], result: DeliveryResult, now: datetime) -> str:
        attempt = int(row["attempts"]) + 1  # claim() counted this attempt
        with self.engine.begin() as conn:
            if result.status == "sent":
                outbox.settle(conn, row["id"], status="sent", at=now, provider_id=result.provider_id)
                outcome, reason = "delivered", None
            elif result.status == "transient" and should_retry(attempt):
                retry_at = now + backoff(attempt, row["idempotency_key"])
                outbox.settle(conn, row["id"], status="pending", at=now, error=result.error, retry_at=retry_at)
                outcome, reason = "retrying", f"{result.error}; attempt {attempt}, next at {retry_at.isoformat()}"
            else:
                outbox.settle(conn, row["id"], status="failed", at=now, error=result.error)
                outcome, reason = "delivery_failed", result.error
            journal.write(
                conn,
                [
                    {
                        "at": now,
                        "customer_id": row["customer_id"],
                        "scenario_id": row["scenario_id"],
                        "scenario_hash": row["scenario_hash"],
                        "enrollment_id": row["enrollment_id"],
                        "node_id": row["node_id"],
                        "kind": outcome,
                        "reason": reason,
                        "detail": {"key": row["idempotency_key"], "channel": row["channel"], "attempt": attempt},
                    }
                ],
            )
        return outcome

    def _entry_events(self, conn: Any, rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        enrollments = store.by_ids(conn, sorted({r["enrollment_id"] for r in rows if r["enrollment_id"]}))
        props = customers.entry_event_properties(conn, [e.entry_event_id for e in enrollments if e.entry_event_id])
        return {e.id: props.get(e.entry_event_id or -1, {}) for e in enrollments}

    def _plans_for(self, conn: Any, hashes: set[str]) -> dict[str, Plan]:
        """The plan for each delivery's scenario version: the active plan while it still runs that version (a
        corrected template applies at once), else the deployment that introduced the version."""
        active = deployments.active_deployment(conn)
        if active is not None:
            for scenario in active[1].scenarios:
                if scenario.hash in hashes:
                    self._plans[scenario.hash] = active[1]
        missing = hashes - set(self._plans)
        for scenario_hash, deployment_id in deployments.version_deployments(conn, missing).items():
            self._plans[scenario_hash] = deployments.deployment_plan(conn, deployment_id)
        return {h: self._plans[h] for h in hashes if h in self._plans}

    def close(self) -> None:
        """Close the adapters' connections (SMTP keeps one open between messages)."""
        for adapter in self.adapters.values():
            adapter.close()
