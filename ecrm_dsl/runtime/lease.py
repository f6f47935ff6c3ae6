"""The tick lease: several ``ecrm run`` workers share a store, one of them ticks at a time, all of them deliver.

Ticking is not divided between workers: a tick is a handful of set-based statements over the whole store, and
two at once would contend for the same rows. The worker holding the lease ticks and renews it in every
transaction of the tick (the renewal is the fence: a worker that lost the lease — paused past its expiry —
cannot commit anything). The others only deliver, claiming outbox rows atomically. When the holder dies, its
lease runs out after ``seconds`` and the next worker to try takes over.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable

from sqlalchemy import Connection, Engine

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store import leases

NAME = "tick"
SECONDS = 120.0


class LostLease(RuntimeError):
    """Another worker holds the tick lease: this worker's tick stopped and its open transaction rolled back."""

    def __init__(self, holder: str):
        self.holder = holder
        super().__init__(
            tr("another worker ({holder}) holds the tick lease; this worker stopped ticking", holder=holder)
        )


def worker_name() -> str:
    """Unique per process, and readable in `ecrm status`: host, process id and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class TickLease:
    def __init__(
        self, holder: str | None = None, seconds: float = SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self.holder = holder or worker_name()
        self.seconds = seconds
        self.clock = clock

    def take(self, engine: Engine) -> bool:
        """Take (or renew) the lease; False when another live worker holds it."""
        with engine.begin() as conn:
            return leases.acquire(conn, NAME, self.holder, self.clock(), self.seconds) is not None

    def fence(self, conn: Connection) -> None:
        """Renew inside ``conn``'s transaction, or raise :class:`LostLease` so that it rolls back."""
        if leases.acquire(conn, NAME, self.holder, self.clock(), self.seconds) is None:
            _, holding = leases.read(conn, NAME)
            raise LostLease(holding.holder if holding is not None else "unknown")

    def release(self, engine: Engine) -> None:
        with engine.begin() as conn:
            leases.release(conn, NAME, self.holder)

    @staticmethod
    def holder_of(engine: Engine, now: float | None = None) -> leases.Holding | None:
        """Who holds the lease now (None: nobody, or it ran out)."""
        with engine.connect() as conn:
            _, holding = leases.read(conn, NAME)
        moment = time.time() if now is None else now
        return holding if holding is not None and holding.until > moment else None
