"""What ``ecrm run`` prints: one line per tick — for a person at a terminal (the shop's time, a one-line summary),
as text for a log file, or as JSON for a log collector.

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
from dataclasses import dataclass
from datetime import datetime, tzinfo

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
        self.sent: Counter[str] = Counter()  # per channel
        self.failures: Counter[OutcomeKey] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        outcome = getattr(record, OUTCOME_FIELD, None)
        if not isinstance(outcome, dict):
            return
        channel, status = str(outcome.get("channel")), str(outcome.get("status"))
        if status == "sent":
            self.sent[channel] += 1
        else:
            self.failures[(channel, status, str(outcome.get("error") or "unknown"))] += 1

    def drain(self) -> tuple[Counter[str], Counter[OutcomeKey]]:
        """What was counted since the last drain: sent per channel, and the failures."""
        taken = self.sent, self.failures
        self.sent, self.failures = Counter(), Counter()
        return taken

    def __enter__(self) -> DeliveryTally:
        log.addHandler(self)
        self._level, self._propagate = log.level, log.propagate
        log.setLevel(logging.INFO)  # successes are logged at INFO, below the default WARNING
        log.propagate = False  # Python's last-resort handler would print each failure
        return self

    def __exit__(self, *_exc: object) -> None:
        log.removeHandler(self)
        log.setLevel(self._level)
        log.propagate = self._propagate


@dataclass(frozen=True)
class TickLog:
    """One tick as the log shows it."""

    now: datetime
    entered: Mapping[str, int]  # per scenario
    decisions: Mapping[str, int]  # per kind of decision
    deliveries: Mapping[str, int]  # delivered, retrying, delivery_failed
    sent: Mapping[str, int]  # messages the providers accepted, per channel
    problems: Mapping[OutcomeKey, int]  # failed and retried deliveries by channel, status and error
    ticker: str | None = None  # the worker that holds the tick lease, when it is not this one

    def to_json(self) -> dict[str, object]:
        """The document of ``--log-format json``."""
        return {
            "now": self.now.isoformat(),
            "ticked_by": self.ticker or "this worker",
            "entered": dict(sorted(self.entered.items())),
            "decisions": dict(sorted(self.decisions.items())),
            "deliveries": dict(sorted(self.deliveries.items())),
            "delivered_by_channel": dict(sorted(self.sent.items())),
            "delivery_problems": [
                {"channel": channel, "status": status, "error": error, "count": n}
                for (channel, status, error), n in sorted(self.problems.items())
            ],
        }

    def human(self, zone: tzinfo, verbose: bool = False) -> str:
        """The tick for a person at a terminal: the shop's local time and what happened, in one line; with
        ``verbose``, who entered each scenario and what went out on each channel. Delivery problems as in text."""
        local = self.now.astimezone(zone)
        when = f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"
        failed, retrying = self.deliveries.get("delivery_failed", 0), self.deliveries.get("retrying", 0)
        if self.ticker is not None:
            summary = (
                f"left to {self.ticker}, which holds the tick lease; delivered {self.deliveries.get('delivered', 0)}"
            )
        else:
            summary = (
                f"entered {sum(self.entered.values())} · sent {self.decisions.get('sent', 0)} · "
                f"skipped {self.decisions.get('skipped', 0)}"
            )
            if self.decisions.get("deferred"):
                summary += f" · deferred {self.decisions['deferred']}"
        summary += f" · failed {failed}" + (f" · retrying {retrying}" if retrying else "")
        lines = [f"{when}  {summary}"]
        if verbose:
            lines += [f"  {sid}: entered {n}" for sid, n in sorted(self.entered.items())]
            lines += [f"  {channel}: delivered {n}" for channel, n in sorted(self.sent.items())]
        for (channel, status, error), n in sorted(self.problems.items()):
            verdict = "will be retried" if status == "transient" else "failed for good"
            lines.append(f"  {channel}: {n} {verdict}: {error}")
        return "\n".join(lines)

    def line(self, log_format: str) -> str:
        """The tick's line (and one more per delivery problem in text), without the final newline."""
        if log_format == "json":
            return json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True)
        decided = [f"{kind} {self.decisions.get(kind, 0)}" for kind in HEADLINE]
        decided += [
            f"{kind} {n}" for kind, n in sorted(self.decisions.items()) if kind not in (*HEADLINE, "entered", *DELIVERY)
        ]
        per_scenario = ", ".join(f"{sid} {n}" for sid, n in sorted(self.entered.items()) if n)
        if self.ticker is not None:
            text = f"{self.now.isoformat()} tick: left to {self.ticker}, which holds the tick lease"
        else:
            text = f"{self.now.isoformat()} tick: entered {sum(self.entered.values())}"
            text += (f" ({per_scenario})" if per_scenario else "") + "; " + ", ".join(decided)
        outcomes = [f"{DELIVERY_WORDS[k]} {self.deliveries.get(k, 0)}" for k in DELIVERY]
        if self.sent:
            outcomes[0] += " (" + ", ".join(f"{channel} {n}" for channel, n in sorted(self.sent.items())) + ")"
        text += "; deliveries: " + ", ".join(outcomes)
        for (channel, status, error), n in sorted(self.problems.items()):
            verdict = "will be retried" if status == "transient" else "failed for good"
            text += f"\n  {channel}: {n} {verdict}: {error}"
        return text


LOG_FORMATS = ("auto", "human", "text", "json")


@dataclass(frozen=True)
class LogStyle:
    """How ``ecrm run`` writes its ticks: ``human`` (``auto`` on a terminal), ``text`` (``auto`` elsewhere) or
    ``json``."""

    format: str
    zone: tzinfo
    verbose: bool = False

    def render(self, tick: TickLog) -> str:
        return tick.human(self.zone, self.verbose) if self.format == "human" else tick.line(self.format)
