"""The token and signature checks on their own: which headers pass, and what the environment must give."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from ecrm_dsl.serve.auth import TokenError, Tokens
from ecrm_dsl.serve.shopify import signature_ok

GOOD = "a-long-enough-token-0001"


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        (f"Bearer {GOOD}", True),
        (f"bearer {GOOD}", True),  # the scheme is case-insensitive (RFC 7235)
        (f"Bearer  {GOOD} ", True),
        (f"Bearer {GOOD[:-1]}", False),
        (f"Bearer {GOOD}0", False),
        (f"Basic {GOOD}", False),
        (GOOD, False),
        ("Bearer ", False),
        ("", False),
        (None, False),
    ],
)
def test_only_a_bearer_header_with_a_configured_token_passes(header: str | None, allowed: bool) -> None:
    assert (
        Tokens.from_environment({"ECRM_INGEST_TOKENS": f" {GOOD} ,, other-token-000000002"}).allows(header) is allowed
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "no ingest token: set ECRM_INGEST_TOKENS"),
        (" , ", "no ingest token: set ECRM_INGEST_TOKENS"),
        (f"{GOOD},abc123", "1 of the tokens in ECRM_INGEST_TOKENS is shorter than 16 characters"),
    ],
)
def test_the_environment_must_give_long_tokens(value: str | None, message: str) -> None:
    environ = {} if value is None else {"ECRM_INGEST_TOKENS": value}
    with pytest.raises(TokenError, match=message) as raised:
        Tokens.from_environment(environ)
    assert "abc123" not in str(raised.value) and GOOD not in str(raised.value)  # never a token in a message


def test_the_shopify_signature_is_the_base64_hmac_sha256_of_the_raw_body() -> None:
    body = '{"id": 1, "note": "のし付き"}'.encode()
    header = base64.b64encode(hmac.new(b"secret", body, hashlib.sha256).digest()).decode()
    assert signature_ok("secret", body, header)
    assert not signature_ok("secret", body + b" ", header)  # any change to the bytes
    assert not signature_ok("other", body, header)
    assert not signature_ok("secret", body, hmac.new(b"secret", body, hashlib.sha256).hexdigest())  # hex is wrong
    assert not signature_ok("secret", body, None)
