"""DeliveryConfig (environment over TOML, credentials from the environment only), build_adapters, retry, links."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest

from ecrm_dsl.delivery import (
    MAX_ATTEMPTS,
    BatchFileAdapter,
    ConfigError,
    DeliveryConfig,
    EmailAdapter,
    FileAdapter,
    LineAdapter,
    SmsAdapter,
    WebhookAdapter,
    backoff,
    build_adapters,
    should_retry,
)
from ecrm_dsl.delivery.config import CHANNELS, ENV_NAMES, SECRETS
from ecrm_dsl.delivery.unsubscribe import unsubscribe_url, verify_token

FULL_ENV = {
    "ECRM_SMTP_HOST": "smtp.example.jp",
    "ECRM_SMTP_USER": "shop",
    "ECRM_SMTP_PASSWORD": "smtp-pass",
    "ECRM_MAIL_FROM": "みのり堂 <info@minori.example>",
    "ECRM_LINE_CHANNEL_TOKEN": "line-token",
    "ECRM_SMS_URL": "https://sms.example.jp/v1/send",
    "ECRM_SMS_TOKEN": "sms-token",
    "ECRM_WEBHOOK_URL": "https://hooks.minori.example/ecrm",
    "ECRM_WEBHOOK_SECRET": "whsec",
    "ECRM_UNSUBSCRIBE_BASE_URL": "https://minori.example/unsubscribe",
    "ECRM_UNSUBSCRIBE_SECRET": "unsub-secret",
}


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "delivery.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_configuration() -> None:
    config = DeliveryConfig.load(environ={})
    assert config == DeliveryConfig()
    assert build_adapters(config) == {}  # nothing configured: no channel pretends to deliver


def test_environment_wins_over_toml_and_toml_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        '[delivery]\nsmtp_host = "toml.example.jp"\nsmtp_port = 2525\nsmtp_starttls = false\n'
        'mail_from = "info@minori.example"\nbatch_dir = "out/batches"\nshop_name = "みのり堂"\n',
    )
    config = DeliveryConfig.load(path, environ={"ECRM_SMTP_HOST": "env.example.jp", "ECRM_SMTP_STARTTLS": "yes"})
    assert config.smtp_host == "env.example.jp"
    assert config.smtp_port == 2525 and config.smtp_starttls is True
    assert config.batch_dir == tmp_path / "out" / "batches"
    assert config.shop == {"name": "みのり堂", "url": "", "support_email": ""}


def test_credentials_are_refused_in_toml(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[delivery]\nsmtp_password = "hunter2"\nline_channel_token = "t"\nsmtp_hots = "x"\n')
    with pytest.raises(ConfigError) as error:
        DeliveryConfig.load(path, environ={})
    message = str(error.value)
    assert "ECRM_SMTP_PASSWORD" in message and "ECRM_LINE_CHANNEL_TOKEN" in message
    assert "unknown setting [delivery] smtp_hots" in message
    assert "hunter2" not in message


def test_mail_from_is_needed_with_an_smtp_host() -> None:
    with pytest.raises(ConfigError, match="ECRM_MAIL_FROM: needed"):
        DeliveryConfig.load(environ={"ECRM_SMTP_HOST": "smtp.example.jp"})


def test_every_problem_is_reported_at_once() -> None:
    environ = {
        "ECRM_SMTP_HOST": "smtp.example.jp",
        "ECRM_SMTP_PORT": "five",
        "ECRM_MAIL_FROM": "info@",
        "ECRM_SMTP_STARTTLS": "maybe",
        "ECRM_SMS_URL": "http://sms.example.jp/send",
        "ECRM_UNSUBSCRIBE_BASE_URL": "https://minori.example/u",
        "ECRM_TIMEZONE": "Mars/Olympus",
    }
    with pytest.raises(ConfigError) as error:
        DeliveryConfig.load(environ=environ)
    message = str(error.value)
    for expected in (
        "ECRM_SMTP_PORT",
        "ECRM_SMTP_STARTTLS",
        "ECRM_SMS_URL",
        "ECRM_MAIL_FROM",
        "ECRM_UNSUBSCRIBE_SECRET",
    ):
        assert expected in message
    assert "Mars/Olympus" in message


def test_secrets_stay_out_of_repr() -> None:
    config = DeliveryConfig.load(environ=FULL_ENV)
    assert SECRETS == {
        "smtp_password",
        "line_channel_token",
        "sms_token",
        "webhook_token",
        "webhook_secret",
        "unsubscribe_secret",
    }
    text = repr(config)
    for name in SECRETS:
        value = FULL_ENV.get(ENV_NAMES[name])
        assert value is None or value not in text


def test_build_adapters_for_configured_channels(tmp_path: Path) -> None:
    config = DeliveryConfig.load(environ={**FULL_ENV, "ECRM_BATCH_DIR": str(tmp_path)})
    adapters = build_adapters(config)
    assert {name: type(a) for name, a in adapters.items()} == {
        "email": EmailAdapter,
        "line": LineAdapter,
        "sms": SmsAdapter,
        "webhook": WebhookAdapter,
        "dm": BatchFileAdapter,
        "insert": BatchFileAdapter,
    }
    assert all(adapter.channel == name for name, adapter in adapters.items())


def test_demo_outbox_covers_every_unconfigured_channel(tmp_path: Path) -> None:
    config = DeliveryConfig.load(environ={"ECRM_DEMO_OUTBOX": str(tmp_path), "ECRM_LINE_CHANNEL_TOKEN": "t"})
    adapters = build_adapters(config)
    assert set(adapters) == set(CHANNELS)
    assert isinstance(adapters["line"], LineAdapter)
    push = adapters["push"]
    assert isinstance(push, FileAdapter) and push.path == tmp_path / "push.jsonl"


def test_unsubscribe_links_are_signed_per_customer() -> None:
    config = DeliveryConfig.load(environ=FULL_ENV)
    url = config.unsubscribe_url("c-1001")
    assert url is not None and url.startswith("https://minori.example/unsubscribe?c=c-1001&ch=email&t=")
    token = url.rsplit("t=", 1)[1]
    assert verify_token("unsub-secret", "c-1001", "email", token)
    assert not verify_token("unsub-secret", "c-1002", "email", token)  # cannot be reused for someone else
    assert unsubscribe_url("https://x.example/u?lang=ja", "s", "c 1").startswith("https://x.example/u?lang=ja&c=c+1&")
    assert DeliveryConfig().unsubscribe_url("c-1001") is None


def test_backoff_grows_is_capped_and_jitters_deterministically() -> None:
    delays = [backoff(attempt, "42:coupon") for attempt in range(1, 10)]
    assert delays == [backoff(attempt, "42:coupon") for attempt in range(1, 10)]  # reproducible
    assert all(a < b for a, b in itertools.pairwise(delays[:5]))
    assert timedelta(minutes=4) <= delays[0] <= timedelta(minutes=5)
    assert all(timedelta(hours=4, minutes=48) <= d <= timedelta(hours=6) for d in delays[4:])
    first = [backoff(1, f"{n}:coupon") for n in range(50)]  # deliveries that failed together spread out
    assert len(set(first)) > 25 and max(first) - min(first) >= timedelta(seconds=40)
    assert backoff(10**6, "k") <= timedelta(hours=6)
    with pytest.raises(ValueError):
        backoff(0)
    assert should_retry(MAX_ATTEMPTS - 1) and not should_retry(MAX_ATTEMPTS)
