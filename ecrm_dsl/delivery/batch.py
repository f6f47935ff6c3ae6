"""Direct mail (dm) and package inserts (insert, 同梱物): rows appended to a CSV file per channel and day.

The print vendor or the warehouse picks the files up (``<dir>/dm/2025-03-01.csv``). Files are UTF-8 with a
BOM, so Excel opens the Japanese correctly, and a key already written is never written again — not on a
retry, and not by a second process (appends hold a lock).
"""

from __future__ import annotations

import contextlib
import csv
import os
import zoneinfo
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ecrm_dsl.delivery.logs import log_result
from ecrm_dsl.delivery.message import DeliveryResult, Message, permanent, sent, transient

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process lock, one writer assumed
    fcntl = None  # type: ignore[assignment]

COLUMNS = ("idempotency_key", "customer_id", "name", "postal_address", "design", "copy", "scenario", "node")
BATCH_CHANNELS = ("dm", "insert")
# Retries land within a day of the first attempt (see retry.py); a week of files covers a stalled scheduler too.
DEDUP_DAYS = 7
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class BatchFileAdapter:
    def __init__(
        self,
        channel: str,
        directory: Path | str,
        *,
        timezone: str = "Asia/Tokyo",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if channel not in BATCH_CHANNELS:
            raise ValueError(f"batch files are for {', '.join(BATCH_CHANNELS)}, not {channel!r}")
        self.channel = channel
        self._dir = Path(directory) / channel
        self._tz = zoneinfo.ZoneInfo(timezone)
        self._clock = clock
        self._keys: dict[Path, tuple[tuple[int, int], set[str]]] = {}  # per file: (mtime_ns, size) -> keys

    def path_for(self, day: date) -> Path:
        return self._dir / f"{day.isoformat()}.csv"

    def send(self, message: Message) -> DeliveryResult:
        return log_result(message, self._send(message))

    def _send(self, message: Message) -> DeliveryResult:
        recipient, content = message.recipient, message.content
        if self.channel == "dm" and not recipient.postal_address:
            return permanent("no postal address")
        if not content.get("design"):
            return permanent("no print design")
        today = self._clock().astimezone(self._tz).date()
        path = self.path_for(today)
        row = csv_row(message)
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            with self._lock():
                for day in range(DEDUP_DAYS):
                    earlier = self.path_for(today - timedelta(days=day))
                    if message.idempotency_key in self._keys_in(earlier):
                        return sent(f"{self.channel}/{earlier.name}")  # written by an earlier attempt
                self._append(path, row)
        except OSError as error:  # disk full, permissions: the operator can fix it, so try again later
            return transient(f"batch file: {type(error).__name__}")
        return sent(f"{self.channel}/{path.name}")

    def _append(self, path: Path, row: list[str]) -> None:
        with path.open("a", encoding="utf-8", newline="") as out:
            if out.tell() == 0:
                out.write("\ufeff")  # only at the start: a BOM in the middle would corrupt a row
                csv.writer(out).writerow(COLUMNS)
            csv.writer(out).writerow(row)
            out.flush()
            os.fsync(out.fileno())

    def _keys_in(self, path: Path) -> set[str]:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return set()
        signature = (stat.st_mtime_ns, stat.st_size)
        cached = self._keys.get(path)
        if cached is None or cached[0] != signature:
            with path.open(encoding="utf-8-sig", newline="") as rows:
                keys = {row.get("idempotency_key") or "" for row in csv.DictReader(rows)}
            cached = self._keys[path] = (signature, keys)
        return cached[1]

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        with (self._dir / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def close(self) -> None:
        self._keys.clear()


def csv_row(message: Message) -> list[str]:
    """The CSV row written for ``message``, in the order of :data:`COLUMNS`."""
    recipient, content = message.recipient, message.content
    return [
        message.idempotency_key,
        recipient.customer_id,
        _cell(recipient.name),
        _cell(recipient.postal_address),
        _cell(content.get("design")),
        _cell(content.get("copy")),
        message.scenario_id,
        message.node_id,
    ]


def _cell(value: str | None) -> str:
    """Text for a CSV cell; a leading = + - @ is quoted with ' so Excel does not run it as a formula."""
    text = value or ""
    return "'" + text if text.startswith(_FORMULA_START) else text
