"""The delivery log: keys, channels, templates and outcomes only.

Nothing here takes a message body, subject or contact point, so a log line cannot leak one: callers pass the
Message and this module picks the safe fields itself.
"""

from __future__ import annotations

import logging

from ecrm_dsl.delivery.message import DeliveryResult, Message

log = logging.getLogger("ecrm.delivery")
# The record attribute with the outcome as data (channel, status, error), for handlers that count rather than print.
OUTCOME_FIELD = "delivery_outcome"


def log_result(message: Message, result: DeliveryResult) -> DeliveryResult:
    """Log one attempt's outcome and return it (so adapters can ``return log_result(...)``)."""
    level = logging.INFO if result.status == "sent" else logging.WARNING
    log.log(
        level,
        "delivery %s key=%s channel=%s template=%s scenario=%s node=%s%s",
        result.status,
        message.idempotency_key,
        message.channel,
        message.template,
        message.scenario_id,
        message.node_id,
        (f" error={result.error}" if result.error else "") + (" test=1" if message.test else ""),
        extra={
            OUTCOME_FIELD: {"channel": message.channel, "status": result.status, "error": result.error}
            | ({"test": True} if message.test else {})
        },
    )
    return result
