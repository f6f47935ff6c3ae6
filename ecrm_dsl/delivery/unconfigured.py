"""The stand-in for a channel no setting serves: every message fails, and says so in the delivery log.

Without it the dispatcher fails such messages silently (it finds no adapter); with it ``ecrm run`` reports them
in its tick line by channel and cause, as it reports a provider's failures.
"""

from __future__ import annotations

from ecrm_dsl.delivery.logs import log_result
from ecrm_dsl.delivery.message import DeliveryResult, Message, permanent


class UnconfiguredAdapter:
    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send(self, message: Message) -> DeliveryResult:
        return log_result(message, permanent(f"no delivery adapter is configured for {self.channel}"))

    def close(self) -> None:
        pass
