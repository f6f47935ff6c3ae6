"""Baseline: the store as ecrm-dsl 0.1.0 made it — its tables, indexes and the triggers that feed the change log.

Run on an empty database it creates the store. Run on a store made before migrations existed (our tables, no
``alembic_version``) it adopts it: what that store lacks (tables, indexes, the change log's triggers) is added and
nothing else is touched, and a store with history whose change log is new gets that history logged once.

The tables are a frozen copy below; the triggers come from :mod:`ecrm_dsl.store.changes`, whose statements are
idempotent (``IF NOT EXISTS``, ``OR REPLACE``): a later change to what feeds the log is a new revision that
drops and recreates them.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

from typing import Any

from alembic import op
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    inspect,
)

from ecrm_dsl.store import changes
from ecrm_dsl.store.tables import UTCDateTime, json_type

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    bind = op.get_bind()
    found = inspect(bind)
    had_history = found.has_table("events")
    new_log = not found.has_table("customer_changes")
    metadata = baseline_metadata()
    metadata.create_all(bind)  # skips the tables an adopted store has, and their indexes with them
    for table in metadata.sorted_tables:
        for index in table.indexes:
            index.create(bind, checkfirst=True)
    changes.install(bind)
    if had_history and new_log:
        changes.backfill(bind)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: drop the database instead")


def baseline_metadata() -> MetaData:
    """The store's tables as this revision made them (a copy: tables.py moves on, this revision does not)."""
    md = MetaData()

    def table(name: str, *items: Any, **kw: Any) -> Table:
        return Table(name, md, *items, **kw)

    def index(table_name: str, *columns: str) -> Index:
        return Index(f"ix_{table_name}_{'_'.join(columns)}", *columns)

    def fk(table: str, column: str = "id") -> ForeignKey:
        return ForeignKey(f"{table}.{column}", ondelete="CASCADE")

    def opt_in(name: str) -> Column[bool]:
        return Column(name, Boolean, nullable=False, default=False, server_default=false())

    table(
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
        Column("entry_channel", String),
        Column("persona", String),
        opt_in("email_opt_in"),
        opt_in("line_opt_in"),
        opt_in("sms_opt_in"),
        opt_in("push_opt_in"),
        opt_in("dm_opt_in"),
        opt_in("unsubscribed"),
        Column("attributes", json_type(), nullable=False, default=dict),
        comment="One row per customer; derived attributes (order_count, ...) are computed, never stored.",
    )
    table(
        "customer_tags",
        Column("customer_id", String, fk("customers"), primary_key=True),
        Column("tag", String, primary_key=True),
        index("customer_tags", "tag"),
    )
    table(
        "orders",
        Column("id", String, primary_key=True),
        Column("customer_id", String, fk("customers"), nullable=False),
        Column("ordered_at", UTCDateTime, nullable=False),
        Column("paid_at", UTCDateTime),
        Column("shipped_at", UTCDateTime),
        Column("delivery_date", Date),
        Column("amount", Integer, nullable=False),
        Column("entry_channel", String),
        Column("payment_method", String),
        Column("coupon_code", String),
        Column("cart_id", String),
        Column("is_subscription", Boolean, nullable=False, default=False, server_default=false()),
        index("orders", "customer_id", "ordered_at"),
        index("orders", "ordered_at"),
    )
    table(
        "order_items",
        Column("order_id", String, fk("orders"), primary_key=True),
        Column("sku", String, primary_key=True),
        Column("category", String),
        Column("quantity", Integer, nullable=False, default=1),
        Column("price", Integer, nullable=False),
        index("order_items", "category"),
    )
    table(
        "subscriptions",
        Column("id", String, primary_key=True),
        Column("customer_id", String, fk("customers"), nullable=False),
        Column("product", String),
        Column("status", String, nullable=False),
        Column("started_at", UTCDateTime),
        Column("shipments", Integer, nullable=False, default=0),
        Column("next_shipment_date", Date),
        Column("skips", Integer, nullable=False, default=0),
        index("subscriptions", "customer_id", "status"),
    )
    table(
        "events",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("customer_id", String, fk("customers"), nullable=False),
        Column("type", String, nullable=False),
        Column("occurred_at", UTCDateTime, nullable=False),
        Column("properties", json_type(), nullable=False, default=dict),
        index("events", "customer_id", "type", "occurred_at"),
        index("events", "type", "occurred_at"),
    )
    table(
        "enrollments",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("customer_id", String, fk("customers"), nullable=False),
        Column("scenario_id", String, nullable=False),
        Column("entered_at", UTCDateTime, nullable=False),
        Column("entry_event_id", Integer, fk("events")),
        Column("entry_order_id", String, fk("orders")),
        Column("status", String, nullable=False),
        Column("scenario_hash", String, nullable=False, default=""),
        Column("node_id", String),
        Column("due_at", UTCDateTime),
        Column("previous_at", UTCDateTime),
        Column("waiting_since", UTCDateTime),
        Column("holdout", Boolean, nullable=False, default=False, server_default=false()),
        Column("finished_at", UTCDateTime),
        Column("outcome", String),
        index("enrollments", "scenario_id", "status"),
        index("enrollments", "customer_id", "scenario_id"),
        index("enrollments", "status", "due_at"),
        index("enrollments", "entry_event_id"),
    )
    table(
        "deployments",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("deployed_at", UTCDateTime, nullable=False),
        Column("plan_hash", String, nullable=False),
        Column("plan", Text, nullable=False),
        Column("in_flight", String, nullable=False),
        Column("note", Text),
        comment="Every deploy, newest active; versions stay readable for enrollments that keep them.",
    )
    table(
        "scenario_versions",
        Column("scenario_id", String, primary_key=True),
        Column("scenario_hash", String, primary_key=True),
        Column("deployment_id", Integer, fk("deployments"), nullable=False),
    )
    table(
        "trigger_state",
        Column("scenario_id", String, primary_key=True),
        Column("watermark", UTCDateTime, nullable=False),
        Column("started", UTCDateTime, nullable=False),
    )
    table(
        "trigger_fires",
        Column("scenario_id", String, primary_key=True),
        Column("fire_key", String, primary_key=True),
        comment="Each trigger occurrence is handled once, however often the ticks that see it run.",
    )
    table(
        "segment_members",
        Column("scenario_id", String, primary_key=True),
        Column("customer_id", String, fk("customers"), primary_key=True),
        Column("since", UTCDateTime, nullable=False),
        comment="Who matched a segment-entry trigger at the last tick: entering is starting to match.",
    )
    table(
        "decisions",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", UTCDateTime, nullable=False),
        Column("customer_id", String, fk("customers"), nullable=False),
        Column("scenario_id", String, nullable=False),
        Column("scenario_hash", String, nullable=False),
        Column("enrollment_id", Integer, fk("enrollments")),
        Column("node_id", String),
        Column("kind", String, nullable=False),
        Column("reason", Text),
        Column("detail", json_type(), nullable=False, default=dict),
        index("decisions", "customer_id", "at"),
        index("decisions", "scenario_id", "kind"),
        index("decisions", "enrollment_id"),
    )
    table(
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
        Column("category", String, nullable=False),
        Column("params", json_type(), nullable=False, default=dict),
        Column("status", String, nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("created_at", UTCDateTime, nullable=False),
        Column("next_attempt_at", UTCDateTime, nullable=False),
        Column("sent_at", UTCDateTime),
        Column("provider_id", String),
        Column("last_error", Text),
        index("outbox", "status", "next_attempt_at"),
        index("outbox", "customer_id", "channel", "created_at"),
        index("outbox", "enrollment_id"),
    )
    table(
        "scheduler_state",
        Column("key", String, primary_key=True),
        Column("value", Text, nullable=False),
    )
    table(
        "customer_changes",
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("customer_id", String, nullable=False),
        Column("effective_at", UTCDateTime),
        index("customer_changes", "effective_at", "seq"),
        sqlite_autoincrement=True,
        comment="Which customers changed, fed by database triggers (see store/changes.py); pruned by the tick.",
    )
    return md
