"""Every way an SMTP session fails names its real cause and the setting that fixes it (aiosmtpd on loopback).

Before, a plain local server (no TLS) failed every mail with "server does not support SMTPUTF8": smtplib raises
the same exception class for a missing STARTTLS, a missing AUTH and a missing SMTPUTF8.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from ecrm_dsl.delivery.config import ConfigError, DeliveryConfig, build_adapters
from ecrm_dsl.delivery.smtp import EmailAdapter
from ecrm_dsl.delivery.smtp_session import TlsMode
from tests.test_delivery_support import RECIPIENT, Inbox, make_message, smtp_server

FROM = "みのり堂 <info@minori.example>"


def adapter(port: int, tls: TlsMode, **kwargs: Any) -> EmailAdapter:
    return EmailAdapter("127.0.0.1", port, mail_from=FROM, tls=tls, timeout=3, **kwargs)


def test_a_plain_server_and_the_default_starttls_says_starttls_is_missing_and_how_to_allow_plain() -> None:
    box = Inbox()
    with smtp_server(box) as server:
        result = adapter(server.port, TlsMode.STARTTLS).send(make_message("email"))
    assert result.status == "transient"
    assert result.error == (
        f"the SMTP server 127.0.0.1:{server.port} does not offer STARTTLS, and mail goes over TLS unless told "
        "otherwise: for a relay on this machine or a test server without TLS set ECRM_SMTP_TLS=none; for a server "
        "that speaks TLS from the first byte (usually port 465) set ECRM_SMTP_TLS=implicit"
    )
    assert "SMTPUTF8" not in result.error
    assert box.messages == []


def test_tls_none_delivers_to_a_plain_local_server_with_japanese_intact() -> None:
    box = Inbox()
    with smtp_server(box) as server:
        mail = adapter(server.port, TlsMode.NONE)
        assert mail.send(make_message("email")).status == "sent"
        mail.close()
    [received] = box.messages
    assert received.rcpt_tos == [RECIPIENT.email]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_on_a_server_that_offers_auth_only_over_tls_says_so() -> None:
    def accept(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        return AuthResult(success=isinstance(data, LoginPassword))

    box = Inbox()
    with smtp_server(box, authenticator=accept) as server:  # aiosmtpd offers AUTH only after STARTTLS by default
        result = adapter(server.port, TlsMode.NONE, username="shop", password="s3cret-pass").send(make_message("email"))
    assert result.status == "transient"
    assert result.error == (
        f"the SMTP server 127.0.0.1:{server.port} does not offer login (AUTH) on this connection; servers usually "
        "offer it only over TLS: set ECRM_SMTP_TLS=starttls or implicit"
    )


def test_implicit_tls_against_a_plain_port_says_the_handshake_failed_and_what_to_set() -> None:
    with smtp_server(Inbox()) as server:
        result = adapter(server.port, TlsMode.IMPLICIT).send(make_message("email"))
    assert result.status == "transient" and result.error is not None
    assert result.error.startswith(f"TLS handshake with the SMTP server 127.0.0.1:{server.port} failed (")
    assert "set ECRM_SMTP_TLS=starttls" in result.error


@pytest.fixture
def self_signed(tmp_path: Path) -> ssl.SSLContext:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1"]
    subprocess.run(
        [*command, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_starttls_with_a_certificate_nobody_vouches_for_names_the_certificate(self_signed: ssl.SSLContext) -> None:
    with smtp_server(Inbox(), tls_context=self_signed) as server:
        result = adapter(server.port, TlsMode.STARTTLS).send(make_message("email"))
    assert result.status == "transient" and result.error is not None
    assert result.error.startswith(f"the certificate of the SMTP server 127.0.0.1:{server.port} was not accepted (")
    assert "self-signed certificate" in result.error and "install the issuing CA" in result.error


def test_only_a_non_ascii_address_on_a_server_without_smtputf8_blames_smtputf8() -> None:
    box = Inbox()
    with smtp_server(box, enable_SMTPUTF8=False) as server:
        mail = adapter(server.port, TlsMode.NONE)
        japanese = mail.send(make_message("email", recipient=replace(RECIPIENT, email="hanako@例え.jp")))
        ascii_one = mail.send(make_message("email", key="43:coupon"))
        mail.close()
    assert japanese.status == "permanent" and japanese.error is not None
    assert japanese.error.startswith("the address is not ASCII and the SMTP server does not offer SMTPUTF8")
    assert ascii_one.status == "sent" and len(box.messages) == 1  # the session survived


def test_after_a_session_failure_the_rest_of_the_batch_fails_at_once_with_the_same_cause() -> None:
    with smtp_server(Inbox()) as server:
        mail = adapter(server.port, TlsMode.STARTTLS)
        first = mail.send(make_message("email"))
    # The server is gone: a new connection would be refused, so the same answer shows none was tried.
    second = mail.send(make_message("email", key="43:coupon"))
    assert first.status == second.status == "transient"
    assert first.error == second.error and "does not offer STARTTLS" in (second.error or "")


def test_tls_setting_is_read_checked_and_picks_the_port() -> None:
    base = {"ECRM_SMTP_HOST": "127.0.0.1", "ECRM_MAIL_FROM": FROM}
    plain = DeliveryConfig.load(environ={**base, "ECRM_SMTP_TLS": "none"})
    assert plain.smtp_tls_mode is TlsMode.NONE
    assert build_adapters(plain)["email"]._session.port == 25  # type: ignore[attr-defined]
    implicit = DeliveryConfig.load(environ={**base, "ECRM_SMTP_TLS": "implicit"})
    assert build_adapters(implicit)["email"]._session.port == 465  # type: ignore[attr-defined]
    assert DeliveryConfig.load(environ=base).smtp_tls_mode is TlsMode.STARTTLS
    assert DeliveryConfig.load(environ={**base, "ECRM_SMTP_SSL": "true"}).smtp_tls_mode is TlsMode.IMPLICIT
    with pytest.raises(ConfigError, match="ECRM_SMTP_TLS: 'off' is not one of starttls, implicit, none"):
        DeliveryConfig.load(environ={**base, "ECRM_SMTP_TLS": "off"})


def test_a_password_never_goes_in_clear_text_off_this_machine() -> None:
    login = {"ECRM_MAIL_FROM": FROM, "ECRM_SMTP_USER": "shop", "ECRM_SMTP_PASSWORD": "s3cret-pass"}
    with pytest.raises(ConfigError) as refused:
        DeliveryConfig.load(environ={**login, "ECRM_SMTP_HOST": "smtp.example.jp", "ECRM_SMTP_TLS": "none"})
    assert "would send ECRM_SMTP_PASSWORD in clear text" in str(refused.value)
    assert "s3cret-pass" not in str(refused.value)
    local = DeliveryConfig.load(environ={**login, "ECRM_SMTP_HOST": "localhost", "ECRM_SMTP_TLS": "none"})
    assert local.smtp_tls_mode is TlsMode.NONE
