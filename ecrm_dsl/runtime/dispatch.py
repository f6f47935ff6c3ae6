"""Delivering the outbox: render each message from its plan version and hand it to the channel's adapter.

Deliveries are claimed a batch at a time and leased (status ``sending``) before the provider is called; the
batch is settled after, in one transaction (one statement for the outbox, one for the journal). If the process
dies in between, the lease runs out and the batch is tried again with the same idempotency keys, which LINE
(X-Line-Retry-Key), the SMS gateway and webhooks (Idempotency-Key) and the batch files deduplicate; email
carries a Message-ID derived from the key. Transient failures are retried with backoff; permanent ones are
recorded and never retried.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from ecrm_dsl.delivery.adapters import Adapter
from ecrm_dsl.delivery.message import DeliveryResult, Message, Recipient, permanent
from ecrm_dsl.delivery.render import RenderError, mark_money, product_namespaces, render
from ecrm_dsl.delivery.retry import backoff, should_retry
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.runtime.model import DeployedPlan
from ecrm_dsl.runtime.policy import reachable
from ecrm_dsl.runtime.product_context import Namespaces, Wanted, product_context
from ecrm_dsl.store import customers, deliveries, deployments, journal, outbox
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
        lease: timedelta = LEASE,
    ):
        """``lease``: how long a claimed batch is this dispatcher's; if the process dies, other dispatchers take
        the batch after it. A batch is settled within half of it, whatever the providers' pace."""
        self.engine = engine
        self.lease = lease
        self.handover_budget = lease.total_seconds() / 2
        self.adapters = adapters
        self.shop = dict(shop or {})
        self.unsubscribe = unsubscribe or (lambda customer_id, channel: None)
        self._plans: dict[str, Plan] = {}  # scenario version → the plan that runs it
        # (template hash, channel) → the product namespaces its text shows; by the template's own hash, as a
        # corrected template applies to a running version at once
        self._product_uses: dict[tuple[str, str], frozenset[str]] = {}

    def run(self, now: datetime) -> Counter[str]:
        """Deliver everything due at ``now``; returns how many were sent, retried and failed."""
        counts: Counter[str] = Counter()
        while True:
            with self.engine.begin() as conn:
                rows = outbox.claim(conn, now, now + self.lease, BATCH)
            if not rows:
                return counts
            with self.engine.connect() as conn:
                profiles = customers.profiles(conn, [r["customer_id"] for r in rows])
                events = self._entry_events(conn, rows)
                plans = self._plans_for(conn, {r["scenario_hash"] for r in rows})
                shown = self._products(conn, rows, events, plans, now)
            handed: list[tuple[dict[str, Any], DeliveryResult]] = []
            in_doubt: dict[str, Any] | None = None
            began = time.monotonic()
            try:
                for row in rows:
                    if handed and time.monotonic() - began > self.handover_budget:
                        break  # settle in time: past the lease, another dispatcher may take these rows
                    in_doubt = row
                    profile = profiles.get(row["customer_id"])
                    event = events.get(row["enrollment_id"], {})
                    plan = plans.get(row["scenario_hash"])
                    handed.append((row, self._deliver(row, profile, event, plan, shown.get(row["id"]))))
                    in_doubt = None
            finally:
                # Even when a delivery raised, what was handed over is recorded and what was not is given back;
                # the one in progress keeps its lease (the provider may have it) and is retried after it.
                untouched = [r for r in rows[len(handed) :] if r is not in_doubt]
                counts.update(self._settle(handed, untouched, now))

    def _settle(
        self, handed: list[tuple[dict[str, Any], DeliveryResult]], untouched: list[dict[str, Any]], now: datetime
    ) -> Counter[str]:
        """Record a batch in one transaction: one statement for the outbox, one for the journal. Rows that were
        not handed over go back to pending at once, their claimed attempt given back."""
        settled: list[deliveries.Settled] = []
        decisions: list[dict[str, Any]] = []
        counts: Counter[str] = Counter()
        for row, result in handed:
            attempt = int(row["attempts"])  # claim() counted this attempt
            if result.status == "sent":
                settled.append(deliveries.Settled(row["id"], "sent", sent_at=now, provider_id=result.provider_id))
                outcome, reason = "delivered", None
            elif result.status == "transient" and should_retry(attempt):
                retry_at = now + backoff(attempt, row["idempotency_key"])
                settled.append(deliveries.Settled(row["id"], "pending", result.error, next_attempt_at=retry_at))
                outcome, reason = "retrying", f"{result.error}; attempt {attempt}, next at {retry_at.isoformat()}"
            else:
                settled.append(deliveries.Settled(row["id"], "failed", result.error))
                outcome, reason = "delivery_failed", result.error
            counts[outcome] += 1
            decisions.append(
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
            )
        for row in untouched:
            settled.append(
                deliveries.Settled(row["id"], "pending", row["last_error"], next_attempt_at=now, unclaim=True)
            )
        with self.engine.begin() as conn:
            deliveries.settle_batch(conn, settled)
            journal.write(conn, decisions)
        return counts

    def _deliver(
        self,
        row: dict[str, Any],
        profile: dict[str, Any] | None,
        event: dict[str, Any],
        plan: Plan | None,
        products: Namespaces | None = None,
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
        try:
            message = compose(row, profile, event, plan, products, shop=self.shop, unsubscribe=self.unsubscribe)
        except RenderError as exc:
            return permanent(f"cannot render: {exc}")
        return adapter.send(message)

    def _products(
        self,
        conn: Any,
        rows: list[dict[str, Any]],
        events: Mapping[int, dict[str, Any]],
        plans: Mapping[str, Plan],
        now: datetime,
    ) -> dict[int, Namespaces]:
        """The product namespaces of the rows whose template shows products, by outbox id, as of ``now``."""
        wanted: dict[int, Wanted] = {}
        timezone = None
        for row in rows:
            plan = plans.get(row["scenario_hash"])
            template = plan.templates.get(row["template"]) if plan is not None else None
            if plan is None or template is None:
                continue
            key = (template.hash, row["channel"])
            if key not in self._product_uses:
                self._product_uses[key] = product_namespaces(template.content.get(row["channel"]))
            if used := self._product_uses[key]:
                order_id = events.get(row["enrollment_id"], {}).get("order_id")  # an order event's entry
                wanted[row["id"]] = Wanted(row["customer_id"], order_id, used)
                timezone = plan.timezone
        if timezone is None:
            return {}
        return product_context(conn, wanted, now, now.astimezone(ZoneInfo(timezone)).date())

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


def compose(
    row: Mapping[str, Any],
    profile: Mapping[str, Any],
    event: Mapping[str, Any],
    plan: Plan,
    products: Namespaces | None,
    *,
    shop: Mapping[str, str],
    unsubscribe: Callable[[str, str], str | None],
) -> Message:
    """The message an adapter is handed for an outbox ``row``: its template rendered for the customer's
    ``profile`` and entry ``event``, with the row's params and the product namespaces. ``ecrm preview`` and
    ``ecrm send-test`` build theirs here too, so that what they show is what is sent. Raises RenderError."""
    template = plan.templates[row["template"]]
    link = unsubscribe(row["customer_id"], row["channel"]) if row["category"] == "marketing" else None
    view = DeployedPlan(plan, 0)
    scenario = next((s for s in plan.scenarios if s.hash == row["scenario_hash"]), None)
    entry_event = scenario.entry_event if scenario else None
    customer = mark_money(
        {**(profile.get("attributes") or {}), **{k: v for k, v in profile.items() if k != "attributes"}},
        view.types(None).attributes,
    )
    content = render(
        template.to_json(),
        row["channel"],
        customer=customer,
        params={**template.defaults, **(row["params"] or {})},
        event=mark_money(event, view.types(entry_event).event_properties),
        shop=shop,
        unsubscribe_url=link,
        products=products,
    )
    return Message(
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
