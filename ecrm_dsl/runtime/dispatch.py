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
from ecrm_dsl.delivery.render import RenderError, render
from ecrm_dsl.delivery.retry import backoff, should_retry
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
        self._templates: dict[str, dict[str, Any]] = {}

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
                templates = self._plan_templates(conn, {r["scenario_hash"] for r in rows})
            for row in rows:
                result = self._deliver(
                    row,
                    profiles.get(row["customer_id"]),
                    events.get(row["enrollment_id"], {}),
                    templates.get(row["scenario_hash"], {}),
                )
                counts[self._settle(row, result, now)] += 1

    def _deliver(
        self, row: dict[str, Any], profile: dict[str, Any] | None, event: dict[str, Any], templates: dict[str, Any]
    ) -> DeliveryResult:
        adapter = self.adapters.get(row["channel"])
        if adapter is None:
            return permanent(f"no delivery adapter is configured for {row['channel']}")
        if profile is None:
            return permanent("the customer no longer exists")
        template = templates.get(row["template"])
        if template is None:
            return permanent(f"template {row['template']} is not in the plan version")
        link = self.unsubscribe(row["customer_id"], row["channel"]) if row["category"] == "marketing" else None
        customer = {**(profile.get("attributes") or {}), **{k: v for k, v in profile.items() if k != "attributes"}}
        try:
            content = render(
                template,
                row["channel"],
                customer=customer,
                params=row["params"] or {},
                event=event,
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

    def _plan_templates(self, conn: Any, hashes: set[str]) -> dict[str, dict[str, Any]]:
        """Templates for each delivery's scenario version: the active plan's when it still runs that version
        (a corrected template applies at once), else those of the deployment that introduced the version."""
        active = deployments.active_deployment(conn)
        if active is not None:
            for scenario in active[1]["scenarios"]:
                if scenario["hash"] in hashes:
                    self._templates[scenario["hash"]] = active[1]["templates"]
        missing = hashes - set(self._templates)
        for scenario_hash, deployment_id in deployments.version_deployments(conn, missing).items():
            self._templates[scenario_hash] = deployments.deployment_plan(conn, deployment_id)["templates"]
        return {h: self._templates.get(h, {}) for h in hashes}
