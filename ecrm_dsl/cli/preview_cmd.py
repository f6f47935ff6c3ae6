"""``ecrm preview``: a message exactly as one customer would receive it, on every channel it would go by.

The message is built by the dispatcher's own code from the project compiled now (or ``--plan``) and the store, so
the preview is what a send at ``--at`` would hand the adapter; nothing is written to the store. Contact details
are redacted unless ``--with-contacts``: previews get pasted into chats and tickets.
"""

from __future__ import annotations

import json
import tempfile
import webbrowser
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import click

from ecrm_dsl.cli.common import ExitCode, in_english, project_config
from ecrm_dsl.cli.runtime_cmds import compiled_plan, plan_option, store_option
from ecrm_dsl.cli.store_access import existing_store
from ecrm_dsl.delivery.config import ConfigError, DeliveryConfig
from ecrm_dsl.delivery.outbox import redact
from ecrm_dsl.language.i18n import lookup, n_, tr, trn
from ecrm_dsl.preview import Preview, PreviewError, build_preview, resolve
from ecrm_dsl.preview.bubble import ChromiumMissing, bubble_page, screenshot
from ecrm_dsl.preview.target import UnsentTemplate

UNSENT = n_(
    "no scenario sends it, and a plan holds only the templates its scenarios send: preview it through a step "
    "that sends it"
)
FORMAT = "ecrm-preview"
VERSION = 1


def parse_moment(text: str | None, timezone: str, command: str) -> datetime:
    """``--at``: a shop-local time (2025-03-08T10:00) or one with its offset; default now."""
    zone = ZoneInfo(timezone)
    if text is None:
        return datetime.now(zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(
            command,
            tr("--at '{text}' is not a time; write it shop-local (2025-03-08T10:00) or with an offset", text=text),
            2,
        )
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def parse_params(pairs: tuple[str, ...], command: str) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail(command, tr("--param '{pair}': write NAME=VALUE, e.g. --param coupon_code=SPRING10", pair=pair), 2)
        params[name.strip()] = value
    return params


def load_delivery_config(path: Path | None, command: str) -> DeliveryConfig:
    try:
        return DeliveryConfig.load(path)
    except ConfigError as exc:
        fail(command, str(exc), 2)


def make_preview(
    ctx: click.Context,
    command: str,
    target_text: str,
    customer: str,
    at_text: str | None,
    plan_file: Path | None,
    store: str | None,
    config: DeliveryConfig,
    params: tuple[str, ...],
    channels: list[str] | None,
    unsubscribe: Callable[[str, str], str | None] | None = None,
) -> Preview:
    """The preview both commands start from; unknown names are exit 1, a store or setting problem exit 2."""
    plan = compiled_plan(ctx, plan_file, command)
    try:
        target = resolve(plan, target_text)
    except UnsentTemplate as exc:
        folder = project_config(ctx).templates
        written = [
            folder / f"{target_text}.{ext}" for ext in ("yaml", "yml") if (folder / f"{target_text}.{ext}").is_file()
        ]
        why = tr("; {file} exists, but {why}", file=written[0].name, why=lookup(UNSENT)) if written else ""
        fail(command, f"{exc}{why}", 1)
    except PreviewError as exc:
        fail(command, str(exc), 1)
    at = parse_moment(at_text, plan.timezone, command)
    overrides = parse_params(params, command)
    engine = existing_store(ctx, store, command, upgrade=False)
    try:
        with engine.connect() as conn:
            return build_preview(
                conn, plan, target, customer, at, config, params=overrides, channels=channels, unsubscribe=unsubscribe
            )
    except PreviewError as exc:
        fail(command, str(exc), 1)
    finally:
        engine.dispose()


def shared_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``preview`` and ``send-test`` share: who, when, which plan, store and delivery settings."""
    for option in reversed(
        [
            click.argument("target", metavar="TEMPLATE|SCENARIO:STEP"),
            click.option("--customer", required=True, metavar="ID", help="The customer to render it for."),
            click.option(
                "--at", "at_text", metavar="TIME", help="As of this shop-local time (2025-03-08T10:00); default now."
            ),
            click.option(
                "--param", "params", multiple=True, metavar="NAME=VALUE", help="Give or override a template param."
            ),
            click.option(
                "--delivery-config",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                envvar="ECRM_DELIVERY_CONFIG",
                help="TOML file with the [delivery] settings (shop, sender, unsubscribe links), as `ecrm run` reads "
                "it; the ECRM_* environment wins.",
            ),
            plan_option,
            store_option,
        ]
    ):
        command = option(command)
    return command


@click.command("preview")
@shared_options
@click.option(
    "--channel",
    "channel",
    help="Show only this channel (default: a step's channel for this customer, or every channel of a template).",
)
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML page here.")
@click.option("--open", "open_page", is_flag=True, help="Open the HTML page in the browser.")
@click.option(
    "--picture",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.png",
    help="Write a picture of the LINE message (headless Chromium).",
)
@click.option("--with-contacts", is_flag=True, help="Show the name, address, LINE id and phone (redacted otherwise).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def preview_command(
    ctx: click.Context,
    target: str,
    customer: str,
    at_text: str | None,
    params: tuple[str, ...],
    delivery_config: Path | None,
    plan_file: Path | None,
    store: str | None,
    channel: str | None,
    html_file: Path | None,
    open_page: bool,
    picture: Path | None,
    with_contacts: bool,
    fmt: str,
) -> None:
    """Render TEMPLATE, or the send step SCENARIO:STEP, exactly as customer ID would receive it.

    Email as its headers, text and HTML body (--html FILE, --open); LINE as the JSON the adapter posts (--picture
    FILE.png draws it); SMS with its segment count; webhook, direct mail and insert as their document or row. A
    step shows the channel the customer would get and why, and says when they would get nothing (consent,
    holdout, a cap). Coupon codes are the pool's next unused one, not reserved. Nothing is written to the store.
    Exit 0 shown, 1 an unknown template, scenario, step or customer, 2 usage, store or settings.
    """
    config = load_delivery_config(delivery_config, "preview")
    with in_english() if fmt == "json" else nullcontext():  # JSON's sentences are English, as its keys are
        shown = make_preview(
            ctx, "preview", target, customer, at_text, plan_file, store, config, params, [channel] if channel else None
        )
    secrets = () if with_contacts else shown.contact_details
    if fmt == "json":
        click.echo(json.dumps(redact(preview_document(shown), secrets), ensure_ascii=False, indent=2))
    else:
        click.echo(preview_text(shown, secrets), nl=False)
    page = _page(shown, secrets, config.shop_name) if html_file or open_page else None
    if page is not None:
        if html_file is None:
            with tempfile.NamedTemporaryFile("w", prefix="ecrm-preview-", suffix=".html", delete=False) as handle:
                html_file = Path(handle.name)
        path = html_file
        path.write_text(page, encoding="utf-8")
        click.echo("ecrm preview: " + tr("wrote {path}", path=path), err=True)
        if open_page:
            webbrowser.open(path.resolve().as_uri())
    if picture is not None:
        _picture(shown, secrets, config.shop_name, picture)


def preview_document(shown: Preview) -> dict[str, Any]:
    """The preview as data (``--format json``): format and version first, then what and for whom."""
    target = shown.target
    return {
        "format": FORMAT,
        "version": VERSION,
        "target": str(target),
        "template": target.template,
        "scenario": target.scenario.id if target.scenario else None,
        "step": target.step.id if target.step else None,
        "customer_id": shown.customer_id,
        "at": shown.at.isoformat(),
        "category": shown.category,
        "would_send": shown.would_send,
        "delivery": list(shown.delivery),
        "context": list(shown.context),
        "coupon": shown.coupon,
        "channels": [{"channel": c.channel, "payload": c.payload, "notes": list(c.notes)} for c in shown.channels],
    }


def preview_text(shown: Preview, secrets: tuple[str, ...]) -> str:
    target = shown.target
    lines = [
        tr(
            "preview of {target} for customer {customer} at {at}",
            target=target,
            customer=shown.customer_id,
            at=shown.at.isoformat(),
        ),
        tr("template {template} ({category})", template=target.template, category=shown.category),
    ]
    if not shown.would_send:
        lines.append(tr("! they would not receive it now (see below); shown as it would read"))
    lines += [f"  {line}" for line in (*shown.delivery, *shown.context)]
    coupon = shown.coupon
    if coupon is not None:
        whose = (
            tr("the code their enrollment holds")
            if coupon["held"]
            else tr("preview only: the pool's next unused code, not reserved; a send draws its own")
        )
        fields = {"code": coupon["code"], "pool": coupon["pool"], "whose": whose}
        if coupon["expires_on"]:
            said = tr(
                "coupon: {code}, valid through {until} from pool {pool} ({whose})", until=coupon["expires_on"], **fields
            )
        else:
            said = tr("coupon: {code} from pool {pool} ({whose})", **fields)
        lines.append(f"  {said}")
    for channel in shown.channels:
        lines += ["", f"== {channel.channel} ==", *_channel_text(channel.channel, redact(channel.payload, secrets))]
        lines += [f"  ! {note}" for note in channel.notes]
    return "\n".join(lines) + "\n"


def _channel_text(channel: str, payload: dict[str, Any]) -> list[str]:
    if channel == "email":
        headers = [f"{name}: {value}" for name, value in payload["headers"].items()]
        html = payload["html"]
        if html:
            tail = tr("(HTML body: {count} characters; --html FILE writes it, --open opens it)", count=f"{len(html):,}")
        else:
            tail = tr("(no HTML)")
        return [*headers, "", payload["text"].replace("\r\n", "\n").rstrip("\n"), "", tail]
    if channel == "sms":
        count = payload["segments"]
        said = trn(
            "({count} segment, {encoding})",
            "({count} segments, {encoding})",
            count,
            count=count,
            encoding=payload["encoding"],
        )
        return [payload["text"], "", said]
    what = {
        "line": n_("(the push body the LINE adapter posts)"),
        "webhook": n_("(the document the webhook adapter posts)"),
    }
    head = [lookup(what[channel])] if channel in what else []
    return [*head, json.dumps(payload, ensure_ascii=False, indent=2)]


def _page(shown: Preview, secrets: tuple[str, ...], shop: str) -> str:
    """The email's HTML body (its text in a page when it has none), else the LINE bubble page."""
    by_channel = {c.channel: redact(c.payload, secrets) for c in shown.channels}
    if "email" in by_channel:
        email = by_channel["email"]
        if email["html"]:
            return str(email["html"])
        return f'<!doctype html><meta charset="utf-8"><pre>{escape(email["text"])}</pre>\n'
    if "line" in by_channel:
        return bubble_page(by_channel["line"]["messages"], shop)
    fail("preview", tr("there is no email or LINE message to show as a page; the text above is all there is"), 1)


def _picture(shown: Preview, secrets: tuple[str, ...], shop: str, path: Path) -> None:
    line = next((c for c in shown.channels if c.channel == "line"), None)
    if line is None:
        fail("preview", tr("--picture draws a LINE message, and this preview has none (try --channel line)"), 1)
    try:
        screenshot(bubble_page(redact(line.payload, secrets)["messages"], shop), path)
    except ChromiumMissing as exc:
        fail("preview", f"--picture: {exc}", 2)
    click.echo("ecrm preview: " + tr("wrote {path}", path=path), err=True)


def fail(command: str, message: str, code: int) -> NoReturn:
    click.echo(f"ecrm {command}: {message}", err=True)
    raise SystemExit(int(ExitCode(code)))
