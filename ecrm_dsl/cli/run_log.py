"""What ``ecrm run`` prints: one line per tick, as text for a person or as JSON for a log collector.

A tick line says when the tick ran, how many customers entered, what was decided and how the deliveries went;
failed and retried deliveries are grouped by channel and cause (one line each), so a misconfigured provider
shows up as one clear line per tick rather than as a line per message. Nothing here sees a contact point, a
message body or a credential: the adapters' log records carry only channel, status and error.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from ecrm_dsl.delivery.logs import OUTCOME_FIELD, log

# Shown in a text line even when zero, in this order; any other decision kind follows when it happened.
HEADLINE = ("sent", "skipped", "deferred")
DELIVERY = ("delivered", "retrying", "delivery_failed")
DELIVERY_WORDS = {"delivered": "delivered", "retrying": "retrying", "delivery_failed": "failed"}
OutcomeKey = tuple[str, str, str]  # channel, status (transient | permanent), error


class DeliveryTally(logging.Handler):
    """Collects the adapters' outcome records between two ticks (instead of a log line per message)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.failures: Counter[OutcomeKey] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        outcome = getattr(record, OUTCOME_FIELD, None)
        if isinstance(outcome, dict) and outcome.get("status") != "sent":
            key = (str(outcome.get("channel")), str(outcome.get("status")), str(outcome.get("error") or "unknown"))
            self.failures[key] += 1

    def drain(self) -> Counter[OutcomeKey]:
        taken, self.failures = self.failures, Counter()
        return taken

    def __enter__(self) -> DeliveryTally:
        log.addHandler(self)
        self._propagate, log.propagate = log.propagate, False  # Python's last-resort handler would print each one
        return self

    def __exit__(self, *_exc: object) -> None:
        log.removeHandler(self)
        log.propagate = self._propagate


def tick_record(
    now: datetime,
    entered: Mapping[str, int],
    decisions: Mapping[str, int],
    deliveries: Mapping[str, int],
    failures: Mapping[OutcomeKey, int],
) -> dict[str, object]:
    """The tick as one JSON-ready document (``--log-format json``)."""
    return {
        "now": now.isoformat(),
        "entered": dict(sorted(entered.items())),
        "decisions": dict(sorted(decisions.items())),
        "deliveries": dict(sorted(deliveries.items())),
        "delivery_problems": [
            {"channel": channel, "status": status, "error": error, "count": n}
            for (channel, status, error), n in sorted(failures.items())
        ],
    }


def format_tick(record: Mapping[str, object], log_format: str) -> str:
    """The line(s) for one tick, without the final newline."""
    if log_format == "json":
        return json.dumps(record, ensure_ascii=False, sort_keys=True)
    entered = _counts(record["entered"])
    decisions = _counts(record["decisions"])
    deliveries = _counts(record["deliveries"])
    decided = [f"{kind} {decisions.get(kind, 0)}" for kind in HEADLINE]
    decided += [f"{kind} {n}" for kind, n in sorted(decisions.items()) if kind not in (*HEADLINE, "entered", *DELIVERY)]
    per_scenario = ", ".join(f"{sid} {n}" for sid, n in sorted(entered.items()) if n)
    line = f"{record['now']} tick: entered {sum(entered.values())}" + (f" ({per_scenario})" if per_scenario else "")
    line += "; " + ", ".join(decided)
    line += "; deliveries: " + ", ".join(f"{DELIVERY_WORDS[k]} {deliveries.get(k, 0)}" for k in DELIVERY)
    problems = record["delivery_problems"]
    assert isinstance(problems, list)
    for problem in problems:
        verdict = "will be retried" if problem["status"] == "transient" else "failed for good"
        line += f"\n  {problem['channel']}: {problem['count']} {verdict}: {problem['error']}"
    return line


def _counts(value: object) -> dict[str, int]:
    assert isinstance(value, dict)
    return {str(k): int(v) for k, v in value.items()}
