"""Delivery settings from the environment and an optional TOML file, and the adapters they configure.

Precedence: environment variables (``ECRM_*``) over the ``[delivery]`` table of the TOML file over defaults.
Credentials (passwords, tokens, signing secrets) are read from the environment only: TOML files tend to be
committed next to the scenarios, and no scenario or project file may carry a credential.
"""

from __future__ import annotations

import os
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from ecrm_dsl.delivery import unsubscribe
from ecrm_dsl.delivery.adapters import (
    Adapter,
    BatchFileAdapter,
    EmailAdapter,
    FileAdapter,
    LineAdapter,
    SmsAdapter,
    WebhookAdapter,
)
from ecrm_dsl.delivery.batch import BATCH_CHANNELS
from ecrm_dsl.delivery.http_post import check_url, is_loopback
from ecrm_dsl.delivery.smtp_session import DEFAULT_PORTS, TlsMode
from ecrm_dsl.language.i18n import tr

CHANNELS = ("email", "line", "sms", "push", "dm", "insert", "webhook")


class ConfigError(ValueError):
    """The delivery configuration is invalid; the message lists every problem."""


def _secret() -> Any:
    return field(default=None, repr=False)  # never printed in reprs, tracebacks or logs


@dataclass(frozen=True)
class DeliveryConfig:
    smtp_host: str | None = None
    smtp_port: int | None = None  # default 587 with STARTTLS, 465 with implicit TLS, 25 without TLS
    smtp_user: str | None = None
    smtp_password: str | None = _secret()
    smtp_starttls: bool = True
    smtp_implicit_tls: bool = False
    smtp_tls: str | None = None  # starttls | implicit | none; wins over the two flags above
    mail_from: str | None = None  # "みのり堂 <info@minori.example>"
    line_channel_token: str | None = _secret()
    line_base_url: str = "https://api.line.me"
    sms_url: str | None = None
    sms_token: str | None = _secret()
    webhook_url: str | None = None
    webhook_token: str | None = _secret()
    webhook_secret: str | None = _secret()  # HMAC-SHA256 signing key
    batch_dir: Path | None = None  # dm and insert CSV files
    demo_outbox: Path | None = None  # if set, channels without a provider write JSON lines here
    unsubscribe_base_url: str | None = None
    unsubscribe_secret: str | None = _secret()
    shop_name: str = ""
    shop_url: str = ""
    shop_support_email: str = ""
    timezone: str = "Asia/Tokyo"  # the shop's; names the day of batch files
    http_timeout: float = 10.0

    @classmethod
    def load(cls, path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> DeliveryConfig:
        """From the ``[delivery]`` table of the TOML file at ``path`` (optional), then ``environ`` (os.environ)."""
        return load_config(path, environ)

    @property
    def smtp_tls_mode(self) -> TlsMode:
        """``smtp_tls`` if set, else what the older ``smtp_starttls`` / ``smtp_implicit_tls`` flags say."""
        if self.smtp_tls:
            return TlsMode(self.smtp_tls)
        return TlsMode.IMPLICIT if self.smtp_implicit_tls else TlsMode.STARTTLS if self.smtp_starttls else TlsMode.NONE

    @property
    def shop(self) -> dict[str, str]:
        """The ``shop`` argument of render()."""
        return {"name": self.shop_name, "url": self.shop_url, "support_email": self.shop_support_email}

    def unsubscribe_url(self, customer_id: str, channel: str = "email") -> str | None:
        """The customer's signed unsubscribe link, or None when no unsubscribe endpoint is configured."""
        if not self.unsubscribe_base_url or not self.unsubscribe_secret:
            return None
        return unsubscribe.unsubscribe_url(self.unsubscribe_base_url, self.unsubscribe_secret, customer_id, channel)


ENV_NAMES = {
    "smtp_host": "ECRM_SMTP_HOST",
    "smtp_port": "ECRM_SMTP_PORT",
    "smtp_user": "ECRM_SMTP_USER",
    "smtp_password": "ECRM_SMTP_PASSWORD",
    "smtp_starttls": "ECRM_SMTP_STARTTLS",
    "smtp_implicit_tls": "ECRM_SMTP_SSL",
    "smtp_tls": "ECRM_SMTP_TLS",
    "mail_from": "ECRM_MAIL_FROM",
    "line_channel_token": "ECRM_LINE_CHANNEL_TOKEN",
    "line_base_url": "ECRM_LINE_BASE_URL",
    "sms_url": "ECRM_SMS_URL",
    "sms_token": "ECRM_SMS_TOKEN",
    "webhook_url": "ECRM_WEBHOOK_URL",
    "webhook_token": "ECRM_WEBHOOK_TOKEN",
    "webhook_secret": "ECRM_WEBHOOK_SECRET",
    "batch_dir": "ECRM_BATCH_DIR",
    "demo_outbox": "ECRM_DEMO_OUTBOX",
    "unsubscribe_base_url": "ECRM_UNSUBSCRIBE_BASE_URL",
    "unsubscribe_secret": "ECRM_UNSUBSCRIBE_SECRET",
    "shop_name": "ECRM_SHOP_NAME",
    "shop_url": "ECRM_SHOP_URL",
    "shop_support_email": "ECRM_SHOP_SUPPORT_EMAIL",
    "timezone": "ECRM_TIMEZONE",
    "http_timeout": "ECRM_HTTP_TIMEOUT",
}
SECRETS = frozenset(f.name for f in fields(DeliveryConfig) if not f.repr)
_URLS = ("line_base_url", "sms_url", "webhook_url", "unsubscribe_base_url")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> DeliveryConfig:
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    raw: dict[str, tuple[Any, Path]] = {}  # field -> (value, folder relative paths start from)
    if path is not None:
        raw.update(_from_toml(Path(path), problems))
    for name, variable in ENV_NAMES.items():
        value = environ.get(variable)
        if value not in (None, ""):
            raw[name] = (value, Path.cwd())
    types = {f.name: f.type for f in fields(DeliveryConfig)}
    values: dict[str, Any] = {}
    for name, (value, base) in raw.items():
        try:
            values[name] = _convert(str(types[name]), value, base)
        except ValueError as error:
            problems.append(f"{ENV_NAMES[name]} / {name}: {error}")
    problems += _check(values)
    if problems:
        raise ConfigError(tr("invalid delivery configuration:") + "\n  " + "\n  ".join(problems))
    return DeliveryConfig(**values)


def _from_toml(path: Path, problems: list[str]) -> dict[str, tuple[Any, Path]]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        problems.append(f"{path}: {error}")
        return {}
    table = document.get("delivery", {})
    if not isinstance(table, dict):
        problems.append(f"{path}: " + tr("[delivery] must be a table"))
        return {}
    found = {}
    for key, value in table.items():
        if key in SECRETS:
            problems.append(
                f"{path}: "
                + tr(
                    "{key} is a credential; set {variable} in the environment instead", key=key, variable=ENV_NAMES[key]
                )
            )
        elif key not in ENV_NAMES:
            problems.append(f"{path}: " + tr("unknown setting [delivery] {key}", key=key))
        else:
            found[key] = (value, path.parent)
    return found


def _convert(type_name: str, value: Any, base: Path) -> Any:
    if "bool" in type_name:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(tr("{value} is not a boolean (true or false)", value=repr(value)))
    if "int" in type_name:
        if isinstance(value, bool):
            raise ValueError(tr("{value} is not a number", value=repr(value)))
        return int(value)
    if "float" in type_name:
        return float(value)
    if "Path" in type_name:
        return base / Path(str(value)).expanduser()
    if not isinstance(value, str):
        raise ValueError(tr("{value} is not text", value=repr(value)))
    return value


def _check(values: dict[str, Any]) -> list[str]:
    problems = []
    for name in _URLS:
        if values.get(name):
            try:
                check_url(values[name])
            except ValueError as error:
                problems.append(f"{ENV_NAMES[name]}: {error}")
    problems += _check_smtp_tls(values)
    if values.get("smtp_host") and not values.get("mail_from"):
        problems.append(tr("ECRM_MAIL_FROM: needed to send email (ECRM_SMTP_HOST is set)"))
    if values.get("mail_from") and not _valid_from(values["mail_from"]):
        problems.append(
            tr(
                "ECRM_MAIL_FROM: {value} is not an address like 'Shop <info@shop.example>'",
                value=repr(values["mail_from"]),
            )
        )
    if values.get("unsubscribe_base_url") and not values.get("unsubscribe_secret"):
        problems.append(
            tr("ECRM_UNSUBSCRIBE_SECRET: needed to sign unsubscribe links (ECRM_UNSUBSCRIBE_BASE_URL is set)")
        )
    try:
        zoneinfo.ZoneInfo(values.get("timezone", "Asia/Tokyo"))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(tr("ECRM_TIMEZONE: unknown timezone {value}", value=repr(values["timezone"])))
    return problems


def _check_smtp_tls(values: dict[str, Any]) -> list[str]:
    mode = values.get("smtp_tls")
    if mode is not None and mode not in set(TlsMode):
        return [tr("ECRM_SMTP_TLS: {value} is not one of {choices}", value=repr(mode), choices=", ".join(TlsMode))]
    plain = mode == TlsMode.NONE or (mode is None and values.get("smtp_starttls") is False)
    host = values.get("smtp_host")
    if plain and host and values.get("smtp_user") and not is_loopback(host):
        # A password must not cross the network in clear text; a relay on this machine is fine.
        return [
            tr(
                "ECRM_SMTP_TLS: logging in to {host} without TLS would send ECRM_SMTP_PASSWORD in clear text; use "
                "starttls or implicit, or a relay on this machine (localhost)",
                host=host,
            )
        ]
    return []


def _valid_from(text: str) -> bool:
    display, addr = parseaddr(text)
    try:
        return bool(Address(display_name=display, addr_spec=addr).domain)
    except (ValueError, IndexError, MessageError):
        return False


def build_adapters(config: DeliveryConfig, *, clock: Callable[[], datetime] | None = None) -> dict[str, Adapter]:
    """An adapter for every configured channel.

    A channel without a provider is absent (the scheduler records "no adapter" rather than pretending to
    deliver) unless ``demo_outbox`` is set: then it gets a :class:`FileAdapter` writing
    ``<demo_outbox>/<channel>.jsonl``. ``push`` has no provider adapter yet, so it is demo-only.
    """
    timing: dict[str, Any] = {"clock": clock} if clock is not None else {}
    adapters: dict[str, Adapter] = {}
    if config.smtp_host and config.mail_from:
        mode = config.smtp_tls_mode
        adapters["email"] = EmailAdapter(
            config.smtp_host,
            config.smtp_port or DEFAULT_PORTS[mode],
            mail_from=config.mail_from,
            username=config.smtp_user,
            password=config.smtp_password,
            tls=mode,
            timeout=config.http_timeout,
            **timing,
        )
    if config.line_channel_token:
        adapters["line"] = LineAdapter(config.line_channel_token, config.line_base_url, config.http_timeout)
    if config.sms_url:
        adapters["sms"] = SmsAdapter(config.sms_url, config.sms_token, config.http_timeout)
    if config.webhook_url:
        adapters["webhook"] = WebhookAdapter(
            config.webhook_url, secret=config.webhook_secret, token=config.webhook_token, timeout=config.http_timeout
        )
    if config.batch_dir is not None:
        for channel in BATCH_CHANNELS:
            adapters[channel] = BatchFileAdapter(channel, config.batch_dir, timezone=config.timezone, **timing)
    if config.demo_outbox is not None:
        for channel in CHANNELS:
            adapters.setdefault(channel, FileAdapter(channel, config.demo_outbox / f"{channel}.jsonl"))
    return adapters
