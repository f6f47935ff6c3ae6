"""Unique coupon codes by pool (``ecrm import coupons``), drawn by sends whose template names a pool.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ecrm_dsl.store.tables import UTCDateTime

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("coupons"):
        return  # made by an earlier revision's create-all of the metadata (a store adopted from before Alembic)
    op.create_table(
        "coupons",
        sa.Column("pool", sa.String(), primary_key=True),
        sa.Column("code", sa.String(), primary_key=True),
        sa.Column("expires_at", UTCDateTime()),
        sa.Column("customer_id", sa.String()),
        sa.Column("enrollment_id", sa.Integer()),
        sa.Column("assigned_at", UTCDateTime()),
        comment="Unique coupon codes imported by pool; each goes to one enrollment at most.",
    )
    op.create_index("ix_coupons_pool_enrollment_id_expires_at", "coupons", ["pool", "enrollment_id", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_coupons_pool_enrollment_id_expires_at", table_name="coupons")
    op.drop_table("coupons")
