"""The product catalogue (``products``: sku, name, category path, price, launch date, stock, links), and the change
log fed by updates of order lines too: importing products fills the category of lines that had none, and a
condition over what a customer bought must see that.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Boolean, Column, Date, Integer, String, Text, inspect, true

from ecrm_dsl.store import changes

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if not inspect(bind).has_table("products"):
        op.create_table(
            "products",
            Column("sku", String, primary_key=True),
            Column("name", Text, nullable=False),
            Column("category", String),
            Column("price", Integer),
            Column("launched_on", Date),
            Column("stock", Integer),
            Column("url", Text),
            Column("image_url", Text),
            Column("active", Boolean, nullable=False, server_default=true()),
            comment="The catalogue: what templates show for a sku and what a recommendation may offer.",
        )
        op.create_index("ix_products_category", "products", ["category"])
    changes.install(bind)  # idempotent: adds the order-line update feed, keeps the others


def downgrade() -> None:
    op.drop_index("ix_products_category", table_name="products")
    op.drop_table("products")
