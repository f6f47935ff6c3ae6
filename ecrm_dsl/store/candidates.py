"""A batch of trigger candidates as a table inside the query that judges their entry condition.

An entry condition reads the columns of the enrollment it would become (its customer, entry time, entry event
and entry order). Bound as one parameter and read as a table (``json_each`` on SQLite, ``jsonb_to_recordset``
on PostgreSQL) with those columns, a batch is judged before anything is written: only entrants become rows.
Before, every candidate was inserted as a pending enrollment (its indexes written), judged, and the refused
deleted again (the indexes written twice more): most order events enter no scenario.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import FromClause, Integer, String, bindparam, column, func, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from ecrm_dsl.store.bulk import sqlite_instant
from ecrm_dsl.store.enrollments import Candidate
from ecrm_dsl.store.tables import TABLES

PARAMETER = "entry_candidates"
NAME = "entering"  # the table's name in the statement: it stands where ``enrollments`` would


def candidate_table(dialect: str) -> FromClause:
    """The candidates bound as :data:`PARAMETER` (see :func:`candidate_value`) as a table with ``enrollments``'
    columns ``id`` (the candidate's position in the batch), ``customer_id``, ``entered_at``, ``entry_event_id``
    and ``entry_order_id``."""
    entered_at = TABLES.enrollments.c.entered_at.type
    if dialect == "postgresql":
        return (
            func.jsonb_to_recordset(bindparam(PARAMETER, type_=JSONB()))
            .table_valued(
                column("id", Integer()),
                column("customer_id", String()),
                column("entered_at", entered_at),
                column("entry_event_id", Integer()),
                column("entry_order_id", String()),
            )
            .render_derived(name=NAME, with_types=True)
        )
    rows = func.json_each(bindparam(PARAMETER, type_=String())).table_valued("value")
    field = rows.c.value
    return (
        select(
            type_coerce(func.json_extract(field, "$[0]"), Integer()).label("id"),
            type_coerce(func.json_extract(field, "$[1]"), String()).label("customer_id"),
            type_coerce(func.json_extract(field, "$[2]"), entered_at).label("entered_at"),
            type_coerce(func.json_extract(field, "$[3]"), Integer()).label("entry_event_id"),
            type_coerce(func.json_extract(field, "$[4]"), String()).label("entry_order_id"),
        )
        .select_from(rows)
        .subquery(NAME)
    )


def candidate_value(dialect: str, candidates: Sequence[tuple[int, Candidate]]) -> Any:
    """The parameter's value for (position, candidate) pairs: each entry time as the store keeps it, so that the
    condition compares it with stored times exactly as it would a stored enrollment's."""
    if dialect == "postgresql":
        return [
            {
                "id": position,
                "customer_id": c.customer_id,
                "entered_at": c.entered_at.isoformat(),
                "entry_event_id": c.entry_event_id,
                "entry_order_id": c.entry_order_id,
            }
            for position, c in candidates
        ]
    rows = [
        [position, c.customer_id, sqlite_instant(c.entered_at), c.entry_event_id, c.entry_order_id]
        for position, c in candidates
    ]
    return json.dumps(rows, ensure_ascii=False)
