"""The receipts of live ingest (``ecrm serve``): which items a sender already sent, with a digest of each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, insert, select, update

from ecrm_dsl.store.tables import ingested_items


def stored_digests(conn: Connection, source: str, kind: str, item_ids: Iterable[str]) -> dict[str, str]:
    """The digest stored for each of ``item_ids`` that was received before."""
    wanted = list(dict.fromkeys(item_ids))
    t = ingested_items
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):  # well under SQLite's bound-parameter limit
        chunk = wanted[start : start + 500]
        query = select(t.c.item_id, t.c.digest).where(t.c.source == source, t.c.kind == kind, t.c.item_id.in_(chunk))
        found.update({row.item_id: row.digest for row in conn.execute(query)})
    return found


def record_receipts(
    conn: Connection,
    source: str,
    kind: str,
    new: Sequence[tuple[str, str]],
    changed: Sequence[tuple[str, str]],
    at: datetime,
) -> None:
    """Insert the receipts of first-time items and replace the digest of items sent again with new content."""
    t = ingested_items
    if new:
        rows = [{"source": source, "kind": kind, "item_id": i, "digest": d, "received_at": at} for i, d in new]
        conn.execute(insert(t), rows)
    if changed:
        statement = (
            update(t)
            .where(and_(t.c.source == source, t.c.kind == kind, t.c.item_id == bindparam("b_item_id")))
            .values(digest=bindparam("b_digest"), received_at=at)
        )
        conn.execute(statement, [{"b_item_id": i, "b_digest": d} for i, d in changed])
