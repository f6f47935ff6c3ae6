"""The customer store: the canonical tables the condition runtime and the scheduler read and write.

Conventions:

* Every point in time is a :class:`UTCDateTime`: timezone-aware datetimes in, UTC out. Naive datetimes are
  refused, because a naive shop-local time stored as UTC is off by nine hours without anyone noticing. SQLite
  keeps them as ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC text (so text order is time order); PostgreSQL as timestamptz.
* Calendar dates (birthday, delivery date, next shipment) are plain ``Date``: they are shop-local by nature.
* Money is whole yen in ``Integer`` columns.
* JSON columns (custom attributes, event properties) hold JSON scalars and arrays; datetimes inside JSON are
  ISO 8601 strings with an offset (``2025-03-01T10:00:00+00:00``), dates ``YYYY-MM-DD``, money whole yen.
* An order also produces an ``order.placed`` event; ``count(order.placed, 30d)`` reads events, and
  ``customer.order_count`` reads orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: stored in UTC, returned as an aware UTC datetime."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        # SQLite has no timezone type; it keeps naive UTC text, which sorts and compares in time order.
        return dialect.type_descriptor(DateTime(timezone=dialect.name != "sqlite"))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: give the timezone (store times are UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_type() -> TypeEngine[Any]:
    """JSON, as JSONB on PostgreSQL (indexable, and ``@>`` works)."""
    return JSON().with_variant(JSONB(), "postgresql")


@dataclass(frozen=True)
class StoreTables:
    metadata: MetaData
    customers: Table
    customer_tags: Table
    orders: Table
    order_items: Table
    products: Table
    subscriptions: Table
    events: Table
    enrollments: Table
    deployments: Table
    scenario_versions: Table
    trigger_state: Table
    trigger_fires: Table
    segment_members: Table
    decisions: Table
    outbox: Table
    scheduler_state: Table
    customer_changes: Table
    coupons: Table


def make_tables(metadata: MetaData | None = None, schema: str | None = None) -> StoreTables:
    """The store's tables in ``metadata`` (a new one by default), optionally in a database schema."""
    md = metadata if metadata is not None else MetaData()

    def table(name: str, *items: Any, **kw: Any) -> Table:
        return Table(name, md, *items, schema=schema, **kw)

    def index(table_name: str, *columns: str) -> Index:
        return Index(f"ix_{table_name}_{'_'.join(columns)}", *columns)

    def fk(table: str, column: str = "id") -> ForeignKey:
        return ForeignKey(f"{schema}.{table}.{column}" if schema else f"{table}.{column}", ondelete="CASCADE")

    def opt_in(name: str) -> Column[bool]:
        return Column(name, Boolean, nullable=False, default=False, server_default=false())

    customers = table(
        "customers",
        Column("id", String, primary_key=True),
        Column("name", Text),
        Column("email", Text),
        Column("phone", Text),
        Column("line_user_id", Text),
        Column("push_token", Text),
        Column("postal_address", Text),
        Column("birthday", Date),
        Column("signed_up_at", UTCDateTime),
        Column("entry_channel", String),  # where the first purchase came from: ad_lp, organic_search, ...
        Column("persona", String),
        opt_in("email_opt_in"),
        opt_in("line_opt_in"),
        opt_in("sms_opt_in"),
        opt_in("push_opt_in"),
        opt_in("dm_opt_in"),
        opt_in("unsubscribed"),
        Column("attributes", json_type(), nullable=False, default=dict),  # custom attributes by name
        comment="One row per customer; derived attributes (order_count, ...) are computed, never stored.",
    )
    customer_tags = table(
        "customer_tags",
        Column("customer_id", String, fk("customers"), primary_key=True),
        Column("tag", String, primary_key=True),
        index("customer_tags", "tag"),
    )
    orders = table(
        "orders",
        Column("id", String, primary_key=True),
        Column("customer_id", String, fk("customers"), nullable=False),
        Column("ordered_at", UTCDateTime, nullable=False),
        Column("paid_at", UTCDateTime),
        Column("shipped_at", UTCDateTime),
        Column("delivery_date", Date),  # お届け希望日, the date the customer asked for
        Column("amount", Integer, nullable=False),  # whole yen, tax included
        Column("entry_channel", String),
        Column("payment_method", String),
        Column("coupon_code", String),
        Column("cart_id", String),
        Column("is_subscription", Boolean, nullable=False, default=False, server_default=false()),
        index("orders", "customer_id", "ordered_at"),
        index("orders", "ordered_at"),
    )
    order_items = table(
        "order_items",
        Column("order_id", String, fk("orders"), primary_key=True),
        Column("sku", String, primary_key=True),
        Column("category", String),
        Column("quantity", Integer, nullable=False, default=1),
        Column("price", Integer, nullable=False),  # unit price, whole yen
        index("order_items", "category"),
    )
    products = table(
        "products",
        Column("sku", String, primary_key=True),  # the key order lines name; no foreign key from them
        Column("name", Text, nullable=False),
        Column("category", String),  # a path, top level first: skincare/lotion
        Column("price", Integer),  # whole yen, tax included
        Column("launched_on", Date),  # shop-local; a product is not recommended before it
        Column("stock", Integer),  # units in stock; null: not tracked
        Column("url", Text),
        Column("image_url", Text),
        Column("active", Boolean, nullable=False, default=True, server_default=true()),  # false: no longer sold
        index("products", "category"),
        comment="The catalogue: what templates show for a sku and what a recommendation may offer.",
    )
    subscriptions = table(
        "subscriptions",
        Column("id", String, primary_key=True),
        Column("customer_id", String, fk("customers"), nullable=False),
        Column("product", String),
        Column("status", String, nullable=False),  # active | paused | cancelled
        Column("started_at", UTCDateTime),
        Column("shipments", Integer, nullable=False, default=0),  # shipments received so far
        Column("next_shipment_date", Date),
        Column("skips", Integer, nullable=False, default=0),
        index("subscriptions", "customer_id", "status"),
    )
    events = table(
        "events",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("customer_id", String, fk("customers"), nullable=False),
        Column("type", String, nullable=False),  # order.placed, message.opened, ...
        Column("occurred_at", UTCDateTime, nullable=False),
        Column("properties", json_type(), nullable=False, default=dict),
        index("events", "customer_id", "type", "occurred_at"),
        index("events", "type", "occurred_at"),
    )
    enrollments = table(
        "enrollments",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("customer_id", String, fk("customers"), nullable=False),
        Column("scenario_id", String, nullable=False),
        Column("entered_at", UTCDateTime, nullable=False),
        Column("entry_event_id", Integer, fk("events")),  # the event that triggered entry, if any
        Column("entry_order_id", String, fk("orders")),  # the order of an order-event entry, if any
        Column("status", String, nullable=False),  # active | completed | converted | exited
        # The runtime's own state of the enrollment:
        Column("scenario_hash", String, nullable=False, default=""),  # the plan version it runs on
        Column("node_id", String),  # the step it is at; null once the flow has ended
        Column("due_at", UTCDateTime),  # when that step acts (a wait for an event: its timeout)
        Column("previous_at", UTCDateTime),  # when the previous step acted: the 'previous' timing anchor
        Column("waiting_since", UTCDateTime),  # set while a wait-for-event step listens
        Column("holdout", Boolean, nullable=False, default=False, server_default=false()),
        Column("finished_at", UTCDateTime),
        Column("outcome", String),  # why it ended: goal event, stop rule, exit step, end of flow
        index("enrollments", "scenario_id", "status"),
        index("enrollments", "customer_id", "scenario_id"),
        index("enrollments", "status", "due_at"),
        index("enrollments", "entry_event_id"),
    )
    deployments = table(
        "deployments",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("deployed_at", UTCDateTime, nullable=False),
        Column("plan_hash", String, nullable=False),
        Column("plan", Text, nullable=False),  # the canonical plan JSON, kept for history and old versions
        Column("in_flight", String, nullable=False),  # keep | move | retime
        Column("note", Text),
        comment="Every deploy, newest active; versions stay readable for enrollments that keep them.",
    )
    scenario_versions = table(
        "scenario_versions",
        Column("scenario_id", String, primary_key=True),
        Column("scenario_hash", String, primary_key=True),
        Column("deployment_id", Integer, fk("deployments"), nullable=False),  # first deployed in
    )
    trigger_state = table(
        "trigger_state",
        Column("scenario_id", String, primary_key=True),
        Column("watermark", UTCDateTime, nullable=False),  # triggers up to this moment are handled
        Column("started", UTCDateTime, nullable=False),  # first deploy (minus backfill): nothing earlier enters
    )
    trigger_fires = table(
        "trigger_fires",
        Column("scenario_id", String, primary_key=True),
        Column("fire_key", String, primary_key=True),  # event:<id>, date:<local date>, cron:<time>
        comment="Each trigger occurrence is handled once, however often the ticks that see it run.",
    )
    segment_members = table(
        "segment_members",
        Column("scenario_id", String, primary_key=True),
        Column("customer_id", String, fk("customers"), primary_key=True),
        Column("since", UTCDateTime, nullable=False),  # the tick that first saw them match
        index("segment_members", "scenario_id", "since"),  # a tick's entrants, without reading every member
        comment="Who matched a segment-entry trigger at the last tick: entering is starting to match.",
    )
    decisions = table(
        "decisions",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", UTCDateTime, nullable=False),
        Column("customer_id", String, fk("customers"), nullable=False),
        Column("scenario_id", String, nullable=False),
        Column("scenario_hash", String, nullable=False),
        Column("enrollment_id", Integer, fk("enrollments")),
        Column("node_id", String),
        Column("kind", String, nullable=False),  # entered, sent, skipped, deferred, branched, exited, converted, ...
        Column("reason", Text),
        Column("detail", json_type(), nullable=False, default=dict),
        index("decisions", "customer_id", "at"),
        index("decisions", "scenario_id", "kind"),
        # An enrollment's decisions: the report finds its last send through it (and a cascade would).
        index("decisions", "enrollment_id"),
    )
    outbox = table(
        "outbox",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("idempotency_key", String, nullable=False, unique=True),
        Column("enrollment_id", Integer, fk("enrollments")),
        Column("customer_id", String, fk("customers"), nullable=False),
        Column("scenario_id", String, nullable=False),
        Column("scenario_hash", String, nullable=False),
        Column("node_id", String, nullable=False),
        Column("channel", String, nullable=False),
        Column("template", String, nullable=False),
        Column("category", String, nullable=False),  # marketing | transactional
        Column("params", json_type(), nullable=False, default=dict),
        Column("status", String, nullable=False),  # pending | sending | sent | failed
        Column("attempts", Integer, nullable=False, default=0),
        Column("created_at", UTCDateTime, nullable=False),  # when the scheduler decided to send
        Column("next_attempt_at", UTCDateTime, nullable=False),
        Column("sent_at", UTCDateTime),
        Column("provider_id", String),
        Column("last_error", Text),
        index("outbox", "status", "next_attempt_at"),
        index("outbox", "customer_id", "channel", "created_at"),
        index("outbox", "enrollment_id"),  # the same, for the outbox
    )
    scheduler_state = table(
        "scheduler_state",
        Column("key", String, primary_key=True),
        Column("value", Text, nullable=False),
    )
    customer_changes = table(
        "customer_changes",
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("customer_id", String, nullable=False),  # no foreign key: a deleted customer changed too
        # When the change becomes visible to a condition judged "as of now" (an order's time, a sign-up): a
        # replay loads history first and the clock reaches it later. Null: visible at once.
        Column("effective_at", UTCDateTime),
        index("customer_changes", "effective_at", "seq"),
        sqlite_autoincrement=True,  # a sequence never reused, though pruning may empty the table
        comment="Which customers changed, fed by database triggers (see store/changes.py); pruned by the tick.",
    )
    coupons = table(
        "coupons",
        Column("pool", String, primary_key=True),  # the pool a template draws from (its `coupon: {pool: …}`)
        Column("code", String, primary_key=True),
        Column("expires_at", UTCDateTime),  # null: never expires
        # Set once, when a send draws the code; never cleared, so a code is never given twice. Later sends of the
        # same enrollment from the same pool show the same code (a reminder names the coupon already given).
        Column("customer_id", String),
        Column("enrollment_id", Integer),
        Column("assigned_at", UTCDateTime),
        index("coupons", "pool", "enrollment_id", "expires_at"),
        comment="Unique coupon codes imported by pool; each goes to one enrollment at most.",
    )
    return StoreTables(
        md,
        customers,
        customer_tags,
        orders,
        order_items,
        products,
        subscriptions,
        events,
        enrollments,
        deployments,
        scenario_versions,
        trigger_state,
        trigger_fires,
        segment_members,
        decisions,
        outbox,
        scheduler_state,
        customer_changes,
        coupons,
    )


TABLES = make_tables()
metadata = TABLES.metadata

# Live ingest (`ecrm serve`): one receipt per item a sender sent, by the sender's own id, so that a resent item is
# recognised; the digest of its content tells a retry (the same item) from a second, different use of the id.
ingested_items = Table(
    "ingested_items",
    metadata,
    Column("source", String, primary_key=True),  # "api", or the webhook platform ("shopify")
    Column("kind", String, primary_key=True),  # events, orders, customers, subscriptions; "webhook"
    Column("item_id", String, primary_key=True),
    Column("digest", String, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)
