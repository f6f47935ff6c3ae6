"""Back-pressure: at most so many batches in flight; beyond that a request is turned away at once (503 with
``Retry-After``) rather than queued, so a sender that outruns the store slows down instead of timing out."""

from __future__ import annotations

from dataclasses import dataclass

MAX_ITEMS = 1_000  # items in one batch
MAX_BODY_BYTES = 8 * 1024 * 1024  # a full batch of large orders stays well under this


@dataclass
class InFlight:
    """Batches being handled now. The event loop is single-threaded, so a counter is enough."""

    limit: int
    current: int = 0

    def try_enter(self) -> bool:
        if self.current >= self.limit:
            return False
        self.current += 1
        return True

    def leave(self) -> None:
        self.current -= 1
