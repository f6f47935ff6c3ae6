"""Email over SMTP (smtplib): a proper MIME message, deduplicable and unsubscribable.

- The Message-ID is derived from the idempotency key, so a mail sent twice after a lost reply has the same id
  and receivers (and our own bounce handling) can recognise the duplicate.
- Marketing mail carries RFC 8058 one-click unsubscribe headers (required by Gmail and Yahoo for bulk senders
  since 2024); transactional mail does not, since it is not something to unsubscribe from.
- The SMTP connection is kept open between sends and checked with NOOP before reuse; an adapter is meant for
  one thread.
"""

from __future__ import annotations

import hashlib
import html
import re
import smtplib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr

from ecrm_dsl.delivery.logs import log_result
from ecrm_dsl.delivery.message import TEST_HEADER, DeliveryResult, Message, permanent, sent, transient
from ecrm_dsl.delivery.smtp_session import SessionError, SessionSettings, TlsMode, open_session

_ENHANCED_STATUS = re.compile(rb"^\s*([245]\.\d{1,3}\.\d{1,3})")
_BODY_TAG = re.compile(r"<body[^>]*>", re.IGNORECASE)
_UNFOLDED = {"list-unsubscribe", "list-unsubscribe-post"}
SESSION_RETRY_SECONDS = 30.0  # after a session failed, later messages fail at once for this long


class _MailPolicy(EmailPolicy):
    """SMTP policy that keeps the unsubscribe headers on one line.

    A long URL would otherwise be folded onto a continuation line; that is legal, but naive parsers then see
    a value starting with whitespace instead of ``<https://``. URLs are ASCII and far below 998 characters.
    """

    def fold(self, name: str, value: str) -> str:
        if name.lower() in _UNFOLDED:
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _UNFOLDED:
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


MAIL_POLICY = _MailPolicy(linesep="\r\n")


def message_id(idempotency_key: str, domain: str) -> str:
    digest = hashlib.sha256(f"ecrm-dsl:{idempotency_key}".encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


class EmailAdapter:
    channel = "email"

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        mail_from: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        implicit_tls: bool = False,
        tls: TlsMode | str | None = None,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``tls`` (starttls, implicit or none) wins over the older ``starttls`` / ``implicit_tls`` flags."""
        display, addr = parseaddr(mail_from)
        self._from = Address(display_name=display, addr_spec=addr)
        if not self._from.domain:
            raise ValueError(f"mail from {mail_from!r} has no domain")
        if tls is None:
            tls = TlsMode.IMPLICIT if implicit_tls else TlsMode.STARTTLS if starttls else TlsMode.NONE
        self._session = SessionSettings(host, port, TlsMode(tls), username, password, timeout)
        self._clock = clock
        self._smtp: smtplib.SMTP | None = None
        # A session that could not be opened is not retried for every message of a batch: each would wait for the
        # same timeout and fail the same way.
        self._failed: tuple[float, str] | None = None

    # ------------------------------------------------------------------ the message

    def build(self, message: Message) -> EmailMessage:
        """The MIME message for ``message`` (ValueError when an address is unusable)."""
        content = message.content
        mime = EmailMessage(policy=MAIL_POLICY)
        mime["From"] = self._from
        mime["To"] = Address(display_name=_one_line(message.recipient.name or ""), addr_spec=message.recipient.email)
        mime["Subject"] = _one_line(content.get("subject", ""))
        mime["Date"] = format_datetime(self._clock())
        mime["Message-ID"] = message_id(message.idempotency_key, self._from.domain)
        if message.marketing and message.unsubscribe_url:
            mime["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        if message.test:
            mime[TEST_HEADER] = "1"
        # base64 keeps Japanese intact through any relay, 8BITMIME or not.
        mime.set_content(content.get("body", ""), charset="utf-8", cte="base64")
        if content.get("html"):
            page = _with_preheader(content["html"], content.get("preheader"))
            mime.add_alternative(page, subtype="html", charset="utf-8", cte="base64")
        return mime

    # ------------------------------------------------------------------ sending

    def send(self, message: Message) -> DeliveryResult:
        return log_result(message, self._send(message))

    def _send(self, message: Message) -> DeliveryResult:
        to = message.recipient.email
        if not to:
            return permanent("no email address")
        url = message.unsubscribe_url or ""
        if message.marketing and not (url.startswith("https://") and url.isascii() and len(url) < 900):
            return permanent("marketing mail needs an https unsubscribe URL")
        try:
            mime = self.build(message)
        except (ValueError, IndexError, MessageError):  # the email package's parse errors, defects ("foo@")
            return permanent("invalid email address")
        try:
            smtp = self._connection()
        except SessionError as error:
            self._failed = (time.monotonic(), str(error))
            return transient(str(error))
        try:
            smtp.send_message(mime, from_addr=self._from.addr_spec, to_addrs=[to])
        # smtplib sends RSET after a refused recipient, sender or DATA, so the connection stays usable.
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()), (0, b""))
            return _by_code(code, reply, "recipient refused")
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            return _by_code(error.smtp_code, _reply_bytes(error.smtp_error), "rejected")
        except smtplib.SMTPNotSupportedError:
            # The session is open, so this is send_message's own check: a non-ASCII address needs SMTPUTF8.
            return permanent(
                "the address is not ASCII and the SMTP server does not offer SMTPUTF8 (internationalised email); "
                "use a server that does, or an ASCII address"
            )
        except smtplib.SMTPResponseException as error:
            self.close()
            return transient(f"smtp {error.smtp_code} during the transaction; the connection was reset")
        except (smtplib.SMTPException, OSError) as error:  # reset, timed out, disconnected mid-mail
            self.close()
            return transient(f"the SMTP connection broke during the transaction ({type(error).__name__})")
        return sent(mime["Message-ID"])

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            try:
                if self._smtp.noop()[0] == 250:
                    return self._smtp
            except (smtplib.SMTPException, OSError):
                pass
            self.close()
        if self._failed is not None and time.monotonic() - self._failed[0] < SESSION_RETRY_SECONDS:
            raise SessionError(self._failed[1])
        self._smtp = open_session(self._session)
        self._failed = None
        return self._smtp

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _by_code(code: int, reply: bytes, what: str) -> DeliveryResult:
    """4xx is a try-again-later (greylisting, full mailbox); 5xx is final for this message."""
    enhanced = _ENHANCED_STATUS.match(reply)
    detail = f"smtp {code}" + (f" {enhanced.group(1).decode()}" if enhanced else "") + f" {what}"
    return transient(detail) if 400 <= code < 500 else permanent(detail)


def _reply_bytes(reply: bytes | str) -> bytes:
    return reply.encode("utf-8", "replace") if isinstance(reply, str) else reply


def _one_line(text: str) -> str:
    """Header text on one line: a rendered value with a line break must not add headers."""
    return " ".join(text.split("\n")).replace("\r", " ").strip()


def _with_preheader(page: str, preheader: str | None) -> str:
    """The preheader as the hidden first text of the HTML body (the preview line in mail clients)."""
    if not preheader:
        return page
    hidden = '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">' + html.escape(preheader) + "</div>"
    match = _BODY_TAG.search(page)
    return page[: match.end()] + hidden + page[match.end() :] if match else hidden + page
