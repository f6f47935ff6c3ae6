"""LineAdapter against a loopback server that checks every request against LINE's OpenAPI description."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from ecrm_dsl.delivery.line import LineAdapter, retry_key
from tests.test_delivery_support import (
    CONTENT,
    DATA,
    RECIPIENT,
    LoopbackHttp,
    Reply,
    Request,
    closed_port,
    http_server,
    json_reply,
    make_message,
)

TOKEN = "test-channel-access-token"
PUSH_PATH = "/v2/bot/message/push"
FORMATS = jsonschema.FormatChecker()  # every format jsonschema knows, uuid included
StartLine = Callable[..., tuple[LoopbackHttp, list[str]]]
SPEC_URI = "urn:line-messaging-api"


@functools.cache
def spec() -> dict[str, Any]:
    with (DATA / "line-messaging-api.yml").open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.cache
def validator(component: str) -> jsonschema.Draft4Validator:
    """A validator for ``#/components/schemas/<component>``, its $refs resolved inside the description.

    OpenAPI 3.0 schema objects are a draft-04 dialect.
    """
    registry = Registry().with_resource(SPEC_URI, Resource(contents=spec(), specification=DRAFT4))
    schema = {"$ref": f"{SPEC_URI}#/components/schemas/{component}"}
    return jsonschema.Draft4Validator(
        schema, registry=registry, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def push_operation() -> dict[str, Any]:
    return spec()["paths"][PUSH_PATH]["post"]


def problems(request: Request) -> list[str]:
    """Everything wrong with ``request`` as a LINE push, per the OpenAPI description."""
    found = []
    if request.path != PUSH_PATH:
        found.append(f"path {request.path}")
    if request.headers.get("authorization") != f"Bearer {TOKEN}":
        found.append("authorization")
    if not request.headers.get("content-type", "").startswith("application/json"):
        found.append("content type")
    key = request.headers.get("x-line-retry-key", "")
    [retry_param] = [p for p in push_operation()["parameters"] if p["name"] == "X-Line-Retry-Key"]
    try:
        if str(uuid.UUID(key)) != key:
            found.append("retry key is not a canonical UUID")
    except ValueError:
        found.append("retry key is not a UUID")
    found += [
        f"retry key: {e.message}"
        for e in jsonschema.Draft4Validator(retry_param["schema"], format_checker=FORMATS).iter_errors(key)
    ]
    body_schema = push_operation()["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return found + payload_problems(body_schema.rsplit("/", 1)[-1], request.json())


def payload_problems(component: str, instance: Any, where: str = "body") -> list[str]:
    """``instance`` checked against ``#/components/schemas/<component>`` and, since jsonschema ignores OpenAPI's
    discriminator, each object below it against the schema its ``type`` names (a message, a template, an action)."""
    found = [f"{where}: {e.message}" for e in validator(component).iter_errors(instance)]
    if not isinstance(instance, dict):
        return found
    schema = spec()["components"]["schemas"][component]
    discriminator = schema.get("discriminator")
    if discriminator is not None:
        kind = instance.get(discriminator["propertyName"])
        target = discriminator["mapping"].get(kind)
        if target is None:
            return [*found, f"{where}: unknown {component} type {kind!r}"]
        return found + payload_problems(target.rsplit("/", 1)[-1], instance, f"{where} ({kind})")
    for part in [schema, *schema.get("allOf", [])]:
        for name, prop in (part.get("properties") or {}).items():
            ref = prop.get("$ref") or (prop.get("items") or {}).get("$ref")
            if ref is None or name not in instance or ref.rsplit("/", 1)[-1] == component:
                continue
            values = instance[name] if "items" in prop and isinstance(instance[name], list) else [instance[name]]
            for index, value in enumerate(values):
                found += payload_problems(ref.rsplit("/", 1)[-1], value, f"{where}.{name}[{index}]")
    return found


@pytest.fixture
def line() -> Iterator[StartLine]:
    """Starts a LINE stand-in answering with ``replies`` in order; returns (server, violations)."""
    with_servers = []

    def start(*replies: Reply) -> tuple[LoopbackHttp, list[str]]:
        script, violations = list(replies), []

        def respond(request: Request) -> Reply:
            violations.extend(problems(request))
            return script.pop(0)

        context = http_server(respond)
        with_servers.append(context)
        return context.__enter__(), violations

    yield start
    for context in with_servers:
        context.__exit__(None, None, None)


def ok(request_id: str) -> Reply:
    sent_messages = {"sentMessages": [{"id": "461230966842064897", "quoteToken": "q"}]}
    return json_reply(200, sent_messages, **{"X-Line-Request-Id": request_id})


def test_the_validator_catches_malformed_pushes() -> None:
    bad = Request(PUSH_PATH, {"authorization": "Bearer nope"}, b'{"to": "U1", "messages": [{"type": "text"}]}')
    found = problems(bad)
    assert "authorization" in found and "retry key is not a UUID" in found
    assert any("'text' is a required property" in p for p in found)  # from TextMessage, via the discriminator
    assert any("'messages' is a required property" in p for p in problems(replace(bad, body=b'{"to": "U1"}')))


def test_push_is_a_valid_push_message_request(line: StartLine) -> None:
    server, violations = line(ok("req-42"))
    adapter = LineAdapter(TOKEN, server.url)
    result = adapter.send(make_message("line"))
    assert (result.status, result.provider_id) == ("sent", "req-42")
    assert violations == []
    [request] = server.requests
    text = CONTENT["line"]["text"]
    assert request.json() == {"to": RECIPIENT.line_user_id, "messages": [{"type": "text", "text": text}]}
    assert request.headers["x-line-retry-key"] == retry_key("42:coupon")


def test_retries_reuse_the_retry_key_and_409_means_already_accepted(
    line: StartLine,
) -> None:
    server, violations = line(
        json_reply(500, {"message": "Internal error"}),
        json_reply(429, {"message": "The API rate limit has been exceeded. Try again later."}),
        json_reply(409, {"message": "The retry key is already accepted"}, **{"X-Line-Accepted-Request-Id": "req-1"}),
    )
    message = make_message("line")
    results = [LineAdapter(TOKEN, server.url).send(message) for _ in range(3)]  # a fresh adapter: as after a restart
    assert [r.status for r in results] == ["transient", "transient", "sent"]
    assert results[2].provider_id == "req-1"
    assert [r.headers["x-line-retry-key"] for r in server.requests] == [retry_key("42:coupon")] * 3
    assert violations == []


def test_each_delivery_has_its_own_retry_key() -> None:
    assert retry_key("42:coupon") == retry_key("42:coupon") != retry_key("43:coupon")
    assert uuid.UUID(retry_key("42:coupon")).version == 5


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, "permanent"), (401, "permanent"), (403, "permanent"), (429, "transient"), (500, "transient")],
)
def test_status_classification(line: StartLine, status: int, expected: str) -> None:
    server, violations = line(json_reply(status, {"message": "error"}))
    result = LineAdapter(TOKEN, server.url).send(make_message("line"))
    assert (result.status, result.error) == (expected, f"http {status}")
    assert violations == []


def test_no_line_id_is_permanent_without_a_request(line: StartLine) -> None:
    server, _ = line()
    result = LineAdapter(TOKEN, server.url).send(make_message("line", recipient=replace(RECIPIENT, line_user_id=None)))
    assert (result.status, result.error) == ("permanent", "no LINE user id")
    assert server.requests == []


def test_unreachable_api_is_transient() -> None:
    result = LineAdapter(TOKEN, f"http://127.0.0.1:{closed_port()}").send(make_message("line"))
    assert result.status == "transient" and result.error is not None and "connection failed" in result.error


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ValueError, match="https"):
        LineAdapter(TOKEN, "http://api.line.me")
