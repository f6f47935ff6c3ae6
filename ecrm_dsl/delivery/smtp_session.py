"""Opening an SMTP session, and saying exactly what went wrong when it cannot be opened.

An SMTP session fails for reasons of configuration far more often than for reasons of the mail: a relay that
offers no STARTTLS, a port that speaks TLS from the first byte (465) or not at all (25, 587), a certificate for
another host name, a server that offers login only over TLS, a wrong password. smtplib reports several of these
with the same exception class (``SMTPNotSupportedError`` for a missing STARTTLS, a missing AUTH and a missing
SMTPUTF8 alike), so each step here is checked on its own and failures become a :class:`SessionError` whose
message names the cause and the setting that fixes it. Messages carry host and port, never a credential.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from enum import StrEnum


class TlsMode(StrEnum):
    """How the connection is protected (``ECRM_SMTP_TLS``)."""

    STARTTLS = "starttls"  # plain connect, then STARTTLS, required (submission, port 587)
    IMPLICIT = "implicit"  # TLS from the first byte (port 465)
    NONE = "none"  # no TLS at all: a relay on this machine or a test server; no login allowed off loopback


DEFAULT_PORTS = {TlsMode.STARTTLS: 587, TlsMode.IMPLICIT: 465, TlsMode.NONE: 25}


class SessionError(Exception):
    """The session could not be opened; the message says why and what to change."""


@dataclass(frozen=True)
class SessionSettings:
    host: str
    port: int
    tls: TlsMode
    username: str | None
    password: str | None
    timeout: float


def open_session(settings: SessionSettings) -> smtplib.SMTP:
    """A connected, greeted, secured and logged-in session, or :class:`SessionError`."""
    where = f"{settings.host}:{settings.port}"
    smtp = _connect(settings, where)
    try:
        _hello(smtp, where)
        if settings.tls is TlsMode.STARTTLS:
            _starttls(smtp, settings.host, where)
        if settings.username:
            _login(smtp, settings, where)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _connect(settings: SessionSettings, where: str) -> smtplib.SMTP:
    try:
        if settings.tls is TlsMode.IMPLICIT:
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    except ssl.SSLCertVerificationError as error:
        raise SessionError(_certificate(error, settings.host, where)) from None
    except ssl.SSLError as error:
        raise SessionError(
            f"TLS handshake with the SMTP server {where} failed ({error.reason or error}): ECRM_SMTP_TLS=implicit "
            "expects TLS from the first byte (usually port 465); for a server that starts plain and offers "
            "STARTTLS (usually port 587) set ECRM_SMTP_TLS=starttls"
        ) from None
    except socket.gaierror:
        raise SessionError(f"cannot find the SMTP server {settings.host}: check ECRM_SMTP_HOST") from None
    except TimeoutError:
        raise SessionError(
            f"no answer from the SMTP server {where} within {settings.timeout:g} s: check ECRM_SMTP_HOST and "
            "ECRM_SMTP_PORT, and that a firewall lets the connection through"
        ) from None
    except ConnectionRefusedError:
        raise SessionError(
            f"the SMTP server {where} refused the connection: is it running, and are ECRM_SMTP_HOST and "
            "ECRM_SMTP_PORT right?"
        ) from None
    except smtplib.SMTPConnectError as error:
        raise SessionError(f"the SMTP server {where} turned the connection away ({_reply(error)})") from None
    except (smtplib.SMTPException, OSError) as error:
        raise SessionError(f"cannot connect to the SMTP server {where} ({_describe(error)})") from None


def _hello(smtp: smtplib.SMTP, where: str) -> None:
    try:
        code, _ = smtp.ehlo()
        if code != 250:
            code, _ = smtp.helo()
    except (smtplib.SMTPException, OSError) as error:
        raise SessionError(f"the SMTP server {where} broke off the greeting ({_describe(error)})") from None
    if code != 250:
        raise SessionError(f"the SMTP server {where} refused EHLO and HELO ({code})")


def _starttls(smtp: smtplib.SMTP, host: str, where: str) -> None:
    if not smtp.has_extn("starttls"):
        raise SessionError(
            f"the SMTP server {where} does not offer STARTTLS, and mail goes over TLS unless told otherwise: for "
            "a relay on this machine or a test server without TLS set ECRM_SMTP_TLS=none; for a server that "
            "speaks TLS from the first byte (usually port 465) set ECRM_SMTP_TLS=implicit"
        )
    try:
        smtp.starttls(context=ssl.create_default_context())
        smtp.ehlo()
    except ssl.SSLCertVerificationError as error:
        raise SessionError(_certificate(error, host, where)) from None
    except smtplib.SMTPResponseException as error:
        raise SessionError(f"the SMTP server {where} refused STARTTLS ({_reply(error)})") from None
    except (smtplib.SMTPException, OSError) as error:
        raise SessionError(f"STARTTLS with the SMTP server {where} failed ({_describe(error)})") from None


def _login(smtp: smtplib.SMTP, settings: SessionSettings, where: str) -> None:
    if not smtp.has_extn("auth"):
        hint = (
            "servers usually offer it only over TLS: set ECRM_SMTP_TLS=starttls or implicit"
            if settings.tls is TlsMode.NONE
            else "unset ECRM_SMTP_USER if this server needs no login"
        )
        raise SessionError(f"the SMTP server {where} does not offer login (AUTH) on this connection; {hint}")
    try:
        smtp.login(settings.username or "", settings.password or "")
    except smtplib.SMTPAuthenticationError as error:
        raise SessionError(
            f"the SMTP server {where} refused the login ({_reply(error)}): check ECRM_SMTP_USER and ECRM_SMTP_PASSWORD"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise SessionError(
            f"the SMTP server {where} offers no login method smtplib speaks (CRAM-MD5, PLAIN, LOGIN)"
        ) from None
    except smtplib.SMTPResponseException as error:
        raise SessionError(f"the SMTP server {where} failed the login ({_reply(error)})") from None
    except (smtplib.SMTPException, OSError) as error:
        raise SessionError(f"login to the SMTP server {where} failed ({_describe(error)})") from None


def _certificate(error: ssl.SSLCertVerificationError, host: str, where: str) -> str:
    return (
        f"the certificate of the SMTP server {where} was not accepted ({error.verify_message}): set ECRM_SMTP_HOST "
        f"to the name the certificate is issued for (not {host} if that differs), or install the issuing CA"
    )


def _reply(error: smtplib.SMTPResponseException) -> str:
    """``code text``, the server's first line, shortened: its words, which never hold our credentials."""
    text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
    first = text.strip().splitlines()[0][:120] if text.strip() else ""
    return f"{error.smtp_code} {first}".strip()


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return _reply(error)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    return type(error).__name__
