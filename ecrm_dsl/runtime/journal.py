"""Collects decisions during a step of the tick and writes them in the same transaction as the step."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ecrm_dsl.store import journal as store
from ecrm_dsl.store.enrollments import Enrollment

# Decisions about an enrollment that never became one (refused at entry) keep no enrollment id.
_WITHOUT_ENROLLMENT = {"not_entered"}


class Journal:
    def __init__(self, now: datetime):
        self.now = now
        self.rows: list[tuple[Any, ...]] = []  # in the order of ``store.COLUMNS``
        self.counts: Counter[str] = Counter()  # every decision added, flushed or not

    def add(
        self,
        enrollment: Enrollment,
        kind: str,
        reason: str | None = None,
        *,
        node: str | None = None,
        at: datetime | None = None,
        **detail: Any,
    ) -> None:
        self.rows.append(
            (
                at or self.now,
                enrollment.customer_id,
                enrollment.scenario_id,
                enrollment.scenario_hash,
                None if kind in _WITHOUT_ENROLLMENT else enrollment.id,
                node,
                kind,
                reason,
                detail,
            )
        )
        self.counts[kind] += 1

    def flush(self, conn: Connection) -> None:
        store.append(conn, self.rows)
        self.rows = []
