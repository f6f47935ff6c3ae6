"""An index for a segment trigger's entrants of a tick (``segment_members`` by scenario and ``since``): without it
every tick read all of a segment's members — 77,000 newsletter readers at 100k customers — to find the new ones.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import inspect

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

NAME = "ix_segment_members_scenario_id_since"


def upgrade() -> None:
    existing = {index["name"] for index in inspect(op.get_bind()).get_indexes("segment_members")}
    if NAME not in existing:  # a store whose revision was set back by hand may have it already
        op.create_index(NAME, "segment_members", ["scenario_id", "since"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="segment_members")
