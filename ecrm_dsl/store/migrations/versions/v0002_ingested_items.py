"""Live ingest's receipts: one row per item a sender sent through ``ecrm serve``, by the sender's own id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, String, inspect

from ecrm_dsl.store.tables import UTCDateTime

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if inspect(op.get_bind()).has_table("ingested_items"):
        return  # a store the serve branch made before this revision existed
    op.create_table(
        "ingested_items",
        Column("source", String, primary_key=True),  # "api", or the webhook platform ("shopify")
        Column("kind", String, primary_key=True),  # events, orders, customers, subscriptions; "webhook"
        Column("item_id", String, primary_key=True),
        Column("digest", String, nullable=False),
        Column("received_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ingested_items")
