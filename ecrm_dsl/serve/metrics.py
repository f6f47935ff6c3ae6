"""``GET /metrics`` in the Prometheus text format (prometheus_client): what ingest did since the server started,
and gauges read from the store at scrape time — the last tick and its lag, decisions, outbox messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ecrm_dsl.store import ingest_gauges

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StoreGauges(Collector):
    """Reads the store on every scrape; a store that cannot be read gives ``ecrm_store_up 0`` and no other gauge."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]):
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("ecrm_store_up", "1 if the store could be read at this scrape")
        try:
            with self.engine.connect() as conn:
                tick = ingest_gauges.last_tick(conn)
                decisions = ingest_gauges.decisions_by_scenario_and_kind(conn)
                outbox = ingest_gauges.outbox_by_status(conn)
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        if tick is not None:
            yield GaugeMetricFamily(
                "ecrm_last_tick_timestamp_seconds", "When the last scheduler tick ran (Unix time)", tick.timestamp()
            )
            yield GaugeMetricFamily(
                "ecrm_tick_lag_seconds",
                "Seconds since the last scheduler tick",
                max(0.0, (self.clock() - tick).total_seconds()),
            )
        by_kind = GaugeMetricFamily(
            "ecrm_decisions", "Decisions recorded, by scenario and kind", labels=["scenario", "kind"]
        )
        for (scenario, kind), count in sorted(decisions.items()):
            by_kind.add_metric([scenario, kind], count)
        yield by_kind
        by_status = GaugeMetricFamily("ecrm_outbox_messages", "Outbox messages by delivery status", labels=["status"])
        for status, count in sorted(outbox.items()):
            by_status.add_metric([status], count)
        yield by_status


class Metrics:
    """One registry per server (not the process-wide default), so that several servers in one process stay apart."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None):
        self.registry = CollectorRegistry()
        self.items = Counter(
            "ecrm_ingest_items",
            "Items received, by kind and outcome (accepted, duplicate, rejected)",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ecrm_ingest_request_seconds",
            "Time to handle an ingest request, by endpoint",
            ["endpoint"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.turned_away = Counter(
            "ecrm_ingest_busy_responses",
            "Requests answered 503 because too many batches were in flight",
            registry=self.registry,
        )
        self.in_flight = Gauge("ecrm_ingest_batches_in_flight", "Batches being handled now", registry=self.registry)
        self.registry.register(StoreGauges(engine, clock or (lambda: datetime.now(UTC))))

    def count(self, kind: str, accepted: int, duplicates: int, rejected: int) -> None:
        for outcome, n in (("accepted", accepted), ("duplicate", duplicates), ("rejected", rejected)):
            if n:
                self.items.labels(kind, outcome).inc(n)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
