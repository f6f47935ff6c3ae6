"""The adapter protocol every channel implements, and the adapters by module."""

from __future__ import annotations

from typing import Protocol

from ecrm_dsl.delivery.batch import BatchFileAdapter
from ecrm_dsl.delivery.line import LineAdapter
from ecrm_dsl.delivery.message import DeliveryResult, Message
from ecrm_dsl.delivery.outbox import ConsoleAdapter, FileAdapter
from ecrm_dsl.delivery.sms import SmsAdapter
from ecrm_dsl.delivery.smtp import EmailAdapter
from ecrm_dsl.delivery.webhook import WebhookAdapter

__all__ = [
    "Adapter",
    "BatchFileAdapter",
    "ConsoleAdapter",
    "EmailAdapter",
    "FileAdapter",
    "LineAdapter",
    "SmsAdapter",
    "WebhookAdapter",
]


class Adapter(Protocol):
    """Sends one message on one channel.

    ``send`` reports delivery problems as a :class:`DeliveryResult` (it raises only on programming errors),
    and logs the outcome to ``ecrm.delivery``. ``close`` releases connections and files. An adapter is used
    by one thread at a time.
    """

    channel: str

    def send(self, message: Message) -> DeliveryResult: ...

    def close(self) -> None: ...
