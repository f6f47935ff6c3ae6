"""Delivery: render a plan template for one customer and send it through a channel adapter.

The scheduler's view, in order: ``render()`` the node's template into content, wrap it in a :class:`Message`,
``send()`` it with the channel's adapter from ``build_adapters(DeliveryConfig.load(...))``, and on a
``transient`` result try again after ``backoff(attempt, key)`` while ``should_retry(attempt)``.
"""

from ecrm_dsl.delivery.adapters import (
    Adapter,
    BatchFileAdapter,
    ConsoleAdapter,
    EmailAdapter,
    FileAdapter,
    LineAdapter,
    SmsAdapter,
    WebhookAdapter,
)
from ecrm_dsl.delivery.config import ConfigError, DeliveryConfig, build_adapters, load_config
from ecrm_dsl.delivery.message import DeliveryResult, Message, Recipient
from ecrm_dsl.delivery.render import RenderError, mark_money, render
from ecrm_dsl.delivery.retry import MAX_ATTEMPTS, backoff, should_retry

__all__ = [
    "MAX_ATTEMPTS",
    "Adapter",
    "BatchFileAdapter",
    "ConfigError",
    "ConsoleAdapter",
    "DeliveryConfig",
    "DeliveryResult",
    "EmailAdapter",
    "FileAdapter",
    "LineAdapter",
    "Message",
    "Recipient",
    "RenderError",
    "SmsAdapter",
    "WebhookAdapter",
    "backoff",
    "build_adapters",
    "load_config",
    "mark_money",
    "render",
    "should_retry",
]
