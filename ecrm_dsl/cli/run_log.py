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
from ecrm_dsl.language.i18n import lookup, n_, tr

# Shown in a text line even when zero, in this order; any other decision kind follows when it happened.
HEADLINE = ("sent", "skipped", "deferred")
DELIVERY = ("delivered", "retrying", "delivery_failed")
DELIVERY_WORDS = {"delivered": n_("delivered"), "retrying": n_("retrying"), "delivery_failed": n_("failed")}
# A decision kind as a text line names it (English: the kind itself); a kind not listed is shown as it is.
KIND_WORDS = {
    "sent": n_("sent"),
    "skipped": n_("skipped"),
    "deferred": n_("deferred"),
    "branched": n_("branched"),
    "assigned": n_("assigned"),
    "waiting": n_("waiting"),
    "heard": n_("heard"),
    "timed_out": n_("timed_out"),
    "updated": n_("updated"),
    "exited": n_("exited"),
    "converted": n_("converted"),
    "completed": n_("completed"),
    "retimed": n_("retimed"),
    "not_entered": n_("not_entered"),
}
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
            summary = tr(
                "left to {worker}, which holds the tick lease; delivered {count}",
                worker=lookup(self.ticker),  # a worker id as it is; "another worker" in the current language
                count=self.deliveries.get("delivered", 0),
            )
        else:
            parts = [
                tr("entered {count}", count=sum(self.entered.values())),
                tr("sent {count}", count=self.decisions.get("sent", 0)),
                tr("skipped {count}", count=self.decisions.get("skipped", 0)),
            ]
            if self.decisions.get("deferred"):
                parts.append(tr("deferred {count}", count=self.decisions["deferred"]))
            summary = " · ".join(parts)
        summary += " · " + tr("failed {count}", count=failed)
        summary += (" · " + tr("retrying {count}", count=retrying)) if retrying else ""
        lines = [f"{when}  {summary}"]
        if verbose:
            lines += [f"  {sid}: " + tr("entered {count}", count=n) for sid, n in sorted(self.entered.items())]
            lines += [f"  {channel}: " + tr("delivered {count}", count=n) for channel, n in sorted(self.sent.items())]
        lines += [_problem(channel, status, error, n) for (channel, status, error), n in sorted(self.problems.items())]
        return "\n".join(lines)

    def line(self, log_format: str) -> str:
        """The tick's line (and one more per delivery problem in text), without the final newline."""
        if log_format == "json":
            return json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True)
        decided = [f"{_kind(kind)} {self.decisions.get(kind, 0)}" for kind in HEADLINE]
        decided += [
            f"{_kind(kind)} {n}"
            for kind, n in sorted(self.decisions.items())
            if kind not in (*HEADLINE, "entered", *DELIVERY)
        ]
        per_scenario = ", ".join(f"{sid} {n}" for sid, n in sorted(self.entered.items()) if n)
        if self.ticker is not None:
            text = tr(
                "{time} tick: left to {worker}, which holds the tick lease",
                time=self.now.isoformat(),
                worker=lookup(self.ticker),  # a worker id as it is; "another worker" in the current language
            )
        else:
            text = tr("{time} tick: entered {count}", time=self.now.isoformat(), count=sum(self.entered.values()))
            text += (f" ({per_scenario})" if per_scenario else "") + "; " + ", ".join(decided)
        outcomes = [f"{lookup(DELIVERY_WORDS[k])} {self.deliveries.get(k, 0)}" for k in DELIVERY]
        if self.sent:
            outcomes[0] += " (" + ", ".join(f"{channel} {n}" for channel, n in sorted(self.sent.items())) + ")"
        text += "; " + tr("deliveries: {outcomes}", outcomes=", ".join(outcomes))
        for (channel, status, error), n in sorted(self.problems.items()):
            text += "\n" + _problem(channel, status, error, n)
        return text


def _kind(kind: str) -> str:
    return lookup(KIND_WORDS[kind]) if kind in KIND_WORDS else kind


def _problem(channel: str, status: str, error: str, count: int) -> str:
    """A line for the deliveries of one channel that failed alike: retried later, or failed for good."""
    if status == "transient":
        return tr("  {channel}: {count} will be retried: {error}", channel=channel, count=count, error=error)
    return tr("  {channel}: {count} failed for good: {error}", channel=channel, count=count, error=error)


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
