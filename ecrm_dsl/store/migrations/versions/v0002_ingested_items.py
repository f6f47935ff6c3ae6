"""Receipts of live ingest (``ecrm serve``): one row per item a sender sent, by the sender's own id.

A store that already has the table (made by a version between ``ecrm serve`` and schema revisions, whose
``create_all`` added it) keeps it as it is.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, MetaData, String, Table

from ecrm_dsl.store.tables import UTCDateTime

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    metadata = MetaData()
    Table(
        "ingested_items",
        metadata,
        Column("source", String, primary_key=True),
        Column("kind", String, primary_key=True),
        Column("item_id", String, primary_key=True),
        Column("digest", String, nullable=False),
        Column("received_at", UTCDateTime, nullable=False),
    )
    metadata.create_all(op.get_bind())  # checkfirst: an existing table is left alone


def downgrade() -> None:
    op.drop_table("ingested_items")
