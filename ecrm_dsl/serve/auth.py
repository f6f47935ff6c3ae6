"""Bearer tokens for the ingest API, from ``ECRM_INGEST_TOKENS`` (comma-separated); never logged or echoed."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from ecrm_dsl.language.i18n import tr, trn

TOKENS_VARIABLE = "ECRM_INGEST_TOKENS"
MIN_LENGTH = 16


class TokenError(ValueError):
    """The environment gives no usable token; the sentence says what to set."""


class Tokens:
    """The accepted tokens, kept only as SHA-256 digests so that comparing takes the same time for any guess."""

    def __init__(self, tokens: list[str]):
        self._digests = [hashlib.sha256(t.encode()).digest() for t in tokens]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Tokens:
        raw = environ.get(TOKENS_VARIABLE, "")
        tokens = [t.strip() for t in raw.split(",") if t.strip()]
        if not tokens:
            raise TokenError(
                tr(
                    "no ingest token: set {variable} to one or more secret tokens, comma-separated (e.g. from "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)",
                    variable=TOKENS_VARIABLE,
                )
            )
        short = sum(1 for t in tokens if len(t) < MIN_LENGTH)
        if short:
            raise TokenError(
                trn(
                    "{count} of the tokens in {variable} is shorter than {length} characters; use long random tokens",
                    "{count} of the tokens in {variable} are shorter than {length} characters; use long random tokens",
                    short,
                    count=short,
                    variable=TOKENS_VARIABLE,
                    length=MIN_LENGTH,
                )
            )
        return cls(tokens)

    def allows(self, authorization: str | None) -> bool:
        """Whether an ``Authorization: Bearer …`` header carries one of the tokens (every token is compared)."""
        scheme, _, given = (authorization or "").partition(" ")
        digest = hashlib.sha256(given.strip().encode()).digest()
        matches = [hmac.compare_digest(digest, known) for known in self._digests]
        return scheme.lower() == "bearer" and any(matches)
