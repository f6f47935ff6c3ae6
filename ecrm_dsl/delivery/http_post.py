"""JSON over HTTPS for the HTTP adapters (LINE, SMS gateway, webhooks): one POST, classified.

stdlib urllib: no dependency, and every call here is a single small request. Redirects are not followed (a
POST that is redirected would be replayed without its body, or to a host the token was not meant for).
"""

from __future__ import annotations

import ipaddress
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecrm_dsl.delivery.message import DeliveryResult, permanent, sent, transient
from ecrm_dsl.language.i18n import tr

MAX_RESPONSE_BYTES = 64 * 1024
_TRANSIENT_STATUSES = {408, 425, 429}


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class TransportError(Exception):
    """No HTTP response at all: refused, reset, timed out, DNS. Always worth retrying."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status, which classify() calls permanent


class JsonPoster:
    """POSTs JSON bodies; one per adapter (the opener is reused)."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect())

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResponse:
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("User-Agent", "ecrm-dsl-delivery")
        for name, value in headers.items():
            request.add_header(name, value)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return HttpResponse(response.status, _headers(response.headers), response.read(MAX_RESPONSE_BYTES))
        except urllib.error.HTTPError as error:
            with error:
                return HttpResponse(error.code, _headers(error.headers), error.read(MAX_RESPONSE_BYTES))
        except TimeoutError as error:
            raise TransportError("timeout") from error
        except urllib.error.URLError as error:
            reason = error.reason
            raise TransportError(type(reason).__name__ if isinstance(reason, BaseException) else "url error") from error
        except OSError as error:  # reset while reading, and the like
            raise TransportError(type(error).__name__) from error


def classify(response: HttpResponse, provider_id: str | None = None) -> DeliveryResult:
    """2xx sent; 408/425/429 and 5xx transient (the provider may accept later); other statuses permanent."""
    if 200 <= response.status < 300:
        return sent(provider_id)
    if response.status in _TRANSIENT_STATUSES or response.status >= 500:
        return transient(f"http {response.status}")
    return permanent(f"http {response.status}")


def post_and_classify(poster: JsonPoster, url: str, body: bytes, headers: Mapping[str, str]) -> DeliveryResult:
    try:
        response = poster.post(url, body, headers)
    except TransportError as error:
        return transient(f"connection failed: {error}")
    return classify(response, response.headers.get("x-request-id"))


def check_url(url: str) -> str:
    """The URL, if it is https, or http to a loopback host (a local relay or a test); else ValueError.

    Tokens and customer data must not cross the network in clear text.
    """
    parts = urllib.parse.urlsplit(url)
    # The message shows the URL without user info and query: some gateways take their key there.
    shown = f"{parts.scheme}://{parts.hostname or ''}{parts.path}" if parts.scheme else "(no scheme)"
    if not parts.hostname or parts.scheme not in ("https", "http"):
        raise ValueError(tr("not an http(s) URL: {url}", url=repr(shown)))
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(tr("{url}: use https (http is allowed only to localhost)", url=repr(shown)))
    return url


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost`` or a loopback address): traffic to it never leaves."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _headers(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()} if headers is not None else {}
