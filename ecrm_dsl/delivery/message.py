"""What the delivery layer is given (a rendered message for one customer) and what it hands back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["sent", "transient", "permanent"]
# Carried by a test send (email header, HTTP header), so that receivers and filters can tell it from a real one.
TEST_HEADER = "X-Ecrm-Test"


@dataclass(frozen=True)
class Recipient:
    """The customer's contact points; a field is None when the customer has none."""

    customer_id: str
    name: str | None
    email: str | None
    phone: str | None
    line_user_id: str | None
    push_token: str | None
    postal_address: str | None

    @classmethod
    def from_customer(cls, row: Mapping[str, Any]) -> Recipient:
        """From a customers-table row (or any mapping with its column names); blank strings count as missing."""

        def text(key: str) -> str | None:
            value = row.get(key)
            return str(value) if value not in (None, "") else None

        return cls(
            customer_id=str(row["id"]),
            name=text("name"),
            email=text("email"),
            phone=text("phone"),
            line_user_id=text("line_user_id"),
            push_token=text("push_token"),
            postal_address=text("postal_address"),
        )

    def contact_details(self) -> tuple[str, ...]:
        """Every personal value that must never appear in logs or redacted output."""
        values = (self.name, self.email, self.phone, self.line_user_id, self.push_token, self.postal_address)
        return tuple(v for v in values if v)


@dataclass(frozen=True)
class Message:
    """One delivery: a rendered template for one recipient on one channel."""

    idempotency_key: str  # unique per delivery and stable across retries, e.g. "42:coupon" (enrollment:node)
    channel: str  # email | line | sms | push | dm | insert | webhook
    template: str
    category: str  # marketing | transactional
    recipient: Recipient
    content: dict[str, Any]  # the rendered fields of the channel (see render.render); LINE's may nest
    scenario_id: str
    scenario_hash: str
    node_id: str
    unsubscribe_url: str | None  # required for marketing email
    test: bool = False  # a staff test send (ecrm send-test): marked as such, never in the outbox or journal

    @property
    def marketing(self) -> bool:
        return self.category == "marketing"


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one attempt. ``transient`` may be retried (see retry.backoff); ``permanent`` must not."""

    status: Status
    provider_id: str | None = None
    error: str | None = None  # short; never contains message bodies or contact details


def sent(provider_id: str | None = None) -> DeliveryResult:
    return DeliveryResult("sent", provider_id)


def transient(error: str) -> DeliveryResult:
    return DeliveryResult("transient", None, error)


def permanent(error: str) -> DeliveryResult:
    return DeliveryResult("permanent", None, error)
