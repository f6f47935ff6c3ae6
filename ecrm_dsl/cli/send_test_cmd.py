"""``ecrm send-test``: the customer's message, marked as a test, through the real adapter to a staff address.

Only addresses on the allow-list (``[test_send] allow`` in the delivery settings file) can receive one. A test
is not queued: it never enters the outbox or the journal, so ``ecrm report`` and ``ecrm status`` never count it;
the delivery log records it with ``test=1``. The address is shown masked, credentials never.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ecrm_dsl.cli.preview_cmd import fail, load_delivery_config, make_preview, shared_options
from ecrm_dsl.delivery.config import build_adapters
from ecrm_dsl.delivery.logs import log as delivery_log
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.preview.staff_send import CHANNELS, TEST_CUSTOMER, AllowList, AllowListError, as_test, channel_of, mask

SETTINGS = {
    "email": "ECRM_SMTP_HOST and ECRM_MAIL_FROM",
    "line": "ECRM_LINE_CHANNEL_TOKEN",
    "sms": "ECRM_SMS_URL",
}


@click.command("send-test")
@shared_options
@click.option(
    "--to", "address", required=True, metavar="ADDRESS", help="A staff email address, LINE user id or phone number."
)
@click.option("--channel", type=click.Choice(CHANNELS), help="The channel (default: the kind of address --to is).")
@click.pass_context
def send_test_command(
    ctx: click.Context,
    target: str,
    customer: str,
    at_text: str | None,
    params: tuple[str, ...],
    delivery_config: Path | None,
    plan_file: Path | None,
    store: str | None,
    address: str,
    channel: str | None,
) -> None:
    """Send TEMPLATE, or the send step SCENARIO:STEP, as customer ID would receive it, to a staff address on the
    test-send allow-list, marked as a test.

    The subject (email) or text (LINE, SMS) starts with "[TEST] " and the message carries X-Ecrm-Test: 1. It goes
    through the adapter `ecrm run` uses, with the same settings (--delivery-config, ECRM_*), but is never queued
    or journaled: reports do not count it. Exit 0 sent, 1 not sent or an unknown name, 2 an address not on the
    allow-list ([test_send] allow in the delivery settings file), usage, store or settings.
    """
    config = load_delivery_config(delivery_config, "send-test")
    try:
        allowed = AllowList.load(delivery_config)
    except AllowListError as exc:
        fail("send-test", str(exc), 2)
    channel = channel or channel_of(address)
    if channel is None:
        fail(
            "send-test",
            tr(
                "--to {address} is not an email address, a LINE user id (U + 32 hex) or a phone number",
                address=mask(address),
            ),
            2,
        )
    if channel_of(address) != channel:
        fail(
            "send-test", tr("--to {address} is not an address for {channel}", address=mask(address), channel=channel), 2
        )
    if not allowed.allows(address):
        if delivery_config:
            where = tr("[test_send] allow in {path}", path=delivery_config)
        else:
            where = tr("no --delivery-config file was given")
        refusal = tr(
            "{address} is not on the test-send allow-list ({where}); tests go to staff only: add the address there "
            '(allow = ["staff@shop.example", "*@shop.example", "U…"]) if it is one of yours',
            address=mask(address),
            where=where,
        )
        fail("send-test", refusal, 2)
    adapter = build_adapters(config).get(channel)
    if adapter is None:
        fail(
            "send-test",
            tr(
                "no delivery setting serves {channel}: set {settings} (see 'Delivery settings')",
                channel=channel,
                settings=SETTINGS[channel],
            ),
            2,
        )
    shown = make_preview(
        ctx,
        "send-test",
        target,
        customer,
        at_text,
        plan_file,
        store,
        config,
        params,
        [channel],
        unsubscribe=lambda _customer, link_channel: config.unsubscribe_url(TEST_CUSTOMER, link_channel),
    )
    for line in (*shown.delivery, *shown.context):
        click.echo("ecrm send-test: " + tr("note: {line}", line=line), err=True)
    [built] = shown.channels
    message = as_test(built.message, address)
    with _delivery_log():
        try:
            result = adapter.send(message)
        finally:
            adapter.close()
    what = tr(
        "a test of {target} ({channel}, as customer {customer} would get it) to {address}",
        target=shown.target,
        channel=channel,
        customer=customer,
        address=mask(address),
    )
    if result.status != "sent":
        fail("send-test", tr("{test} was not sent: {error}", test=what, error=result.error), 1)
    if result.provider_id:
        click.echo(tr("sent {test}; provider id {provider}", test=what, provider=result.provider_id))
    else:
        click.echo(tr("sent {test}", test=what))


@contextmanager
def _delivery_log() -> Iterator[None]:
    """The delivery log's line for the test (key, channel, template, status, test=1) on standard error."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("ecrm send-test: %(message)s"))
    previous = delivery_log.level
    delivery_log.addHandler(handler)
    delivery_log.setLevel(logging.INFO)
    try:
        yield
    finally:
        delivery_log.removeHandler(handler)
        delivery_log.setLevel(previous)
