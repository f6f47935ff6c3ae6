"""The HTTP API of ``ecrm serve`` (Starlette): batches in, per-item results out, never a traceback.

Status codes: 200 for a batch that was read, with per-item results (valid items are stored even when others are
rejected); 400 a body that is not JSON (with its line and column); 401 no or a wrong bearer token; 404 an unknown
kind or topic; 413 a body over the size limit or more than 1,000 items; 422 a body that is not
``{"items": [...]}``; 503 too many batches in flight or the store busy, with ``Retry-After``; 500 a failure of the
server itself, after which nothing of the batch is stored.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.serve import shopify
from ecrm_dsl.serve.auth import Tokens
from ecrm_dsl.serve.ingest import BatchResult, Ingestor
from ecrm_dsl.serve.item_schemas import KINDS, schema_text
from ecrm_dsl.serve.limits import MAX_BODY_BYTES, MAX_ITEMS, InFlight
from ecrm_dsl.serve.metrics import CONTENT_TYPE, Metrics
from ecrm_dsl.store import ingest_gauges
from ecrm_dsl.store.ingest_receipts import record_receipts, stored_digests

ACCESS = logging.getLogger("ecrm.serve.access")  # method, path, status, time: never bodies, tokens or ids
ERRORS = logging.getLogger("ecrm.serve")
RETRY_AFTER = "1"
ALL_KINDS = frozenset(KINDS)


@dataclass
class ServeSettings:
    tokens: Tokens
    shopify_secret: str | None = None
    max_in_flight: int = 4
    max_body_bytes: int = MAX_BODY_BYTES


class BadRequest(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def create_app(ingestor: Ingestor, settings: ServeSettings, metrics: Metrics | None = None) -> Starlette:
    metrics = metrics or Metrics(ingestor.engine)
    in_flight = InFlight(settings.max_in_flight)
    metrics.in_flight.set_function(lambda: in_flight.current)

    def guarded(endpoint: str, handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Any]:
        """Timing, the access log line, and a sentence instead of a traceback."""

        async def run(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except BadRequest as exc:
                response = error(exc.status, exc.message, exc.headers)
            except OperationalError as exc:  # e.g. the database is locked beyond the busy timeout
                ERRORS.warning("store busy or unreachable on %s: %s", endpoint, type(exc.orig or exc).__name__)
                busy = tr("the store is busy or unreachable; retry shortly")
                response = error(503, busy, {"Retry-After": RETRY_AFTER})
            except Exception as exc:  # never a traceback to the client, nor data in the log
                ERRORS.error("failed on %s: %s", endpoint, type(exc).__name__)
                failed = tr("the server failed ({error}); nothing of this request was stored", error=type(exc).__name__)
                response = error(500, failed)
            seconds = time.perf_counter() - started
            metrics.latency.labels(endpoint).observe(seconds)
            ACCESS.info("%s %s %d %.1fms", request.method, request.url.path, response.status_code, seconds * 1000)
            return response

        return run

    async def body_of(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        too_big = tr(
            "the body is over {bytes:,} bytes — send at most {items:,} items a batch",
            bytes=settings.max_body_bytes,
            items=MAX_ITEMS,
        )
        if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
            raise BadRequest(413, too_big)
        chunks, size = [], 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > settings.max_body_bytes:
                    raise BadRequest(413, too_big)
                chunks.append(chunk)
        except ClientDisconnect:
            raise BadRequest(400, tr("the client closed the connection before the body was sent")) from None
        return b"".join(chunks)

    def parse(body: bytes) -> Any:
        try:
            return json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise BadRequest(
                400, tr("the body is not UTF-8 (byte {byte}) — send JSON in UTF-8", byte=exc.start + 1)
            ) from None
        except json.JSONDecodeError as exc:
            raise BadRequest(
                400,
                tr(
                    "the body is not valid JSON: {problem} at line {line}, column {column}",
                    problem=exc.msg,
                    line=exc.lineno,
                    column=exc.colno,
                ),
            ) from None
        except RecursionError:
            raise BadRequest(400, tr("the body nests too deeply — items are flat objects")) from None

    def authorised(request: Request) -> None:
        if not settings.tokens.allows(request.headers.get("authorization")):
            raise BadRequest(
                401,
                tr(
                    "missing or wrong bearer token — send 'Authorization: Bearer <token>' with a token from "
                    "ECRM_INGEST_TOKENS"
                ),
                {"WWW-Authenticate": "Bearer"},
            )

    async def bounded(work: Callable[[], Awaitable[Response]]) -> Response:
        if not in_flight.try_enter():
            metrics.turned_away.inc()
            raise BadRequest(
                503,
                tr("{limit} batches are in flight already; retry after a second", limit=in_flight.limit),
                {"Retry-After": RETRY_AFTER},
            )
        try:
            return await work()
        finally:
            in_flight.leave()

    def counted(kind: str, result: BatchResult) -> BatchResult:
        metrics.count(kind, result.accepted, result.duplicates, len({e.index for e in result.rejected}))
        return result

    async def ingest(request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in KINDS:
            raise BadRequest(
                404, tr("no such kind '{kind}' — POST to {paths}", kind=kind, paths="/v1/" + ", /v1/".join(KINDS))
            )
        authorised(request)

        async def work() -> Response:
            body = parse(await body_of(request))
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise BadRequest(422, tr('the body must be a JSON object {{"items": [...]}} with the items in a list'))
            items = body["items"]
            if len(items) > MAX_ITEMS:
                raise BadRequest(
                    413, tr("{count:,} items — send at most {items:,} items a batch", count=len(items), items=MAX_ITEMS)
                )
            result = await run_in_threadpool(ingestor.ingest, kind, items)
            return JSONResponse(counted(kind, result).as_json())

        return await bounded(work)

    async def schema(request: Request) -> Response:
        kind = request.path_params["kind"].removesuffix(".json")
        if kind not in KINDS:
            raise BadRequest(404, tr("no schema '{kind}' — schemas: {kinds}", kind=kind, kinds=", ".join(KINDS)))
        return Response(schema_text(kind), media_type="application/schema+json")

    async def healthz(request: Request) -> Response:
        def check() -> tuple[list[str], str | None]:
            with ingestor.engine.connect() as conn:
                ingest_gauges.ping(conn)
                tick = ingest_gauges.last_tick(conn)
                return ingest_gauges.missing_tables(conn), tick.isoformat() if tick else None

        try:
            missing, tick = await run_in_threadpool(check)
        except SQLAlchemyError as exc:
            name = type(getattr(exc, "orig", None) or exc).__name__
            unreadable = tr("the store cannot be read ({error})", error=name)
            return JSONResponse({"status": "unavailable", "error": unreadable}, 503)
        if missing:
            return JSONResponse(
                {"status": "unavailable", "error": tr("the store lacks tables: {tables}", tables=", ".join(missing))},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "last_tick": tick})

    async def metrics_endpoint(request: Request) -> Response:
        return Response(await run_in_threadpool(metrics.exposition), media_type=CONTENT_TYPE)

    async def shopify_webhook(request: Request) -> Response:
        topic = f"{request.path_params['resource']}/{request.path_params['action']}"
        if topic not in shopify.TOPICS:
            raise BadRequest(
                404,
                tr("no receiver for topic '{topic}' — topics: {topics}", topic=topic, topics=", ".join(shopify.TOPICS)),
            )
        if not settings.shopify_secret:
            raise BadRequest(
                404,
                tr("Shopify webhooks are off: start ecrm serve with {variable} set", variable=shopify.SECRET_VARIABLE),
            )
        secret = settings.shopify_secret

        async def work() -> Response:
            body = await body_of(request)
            if not shopify.signature_ok(secret, body, request.headers.get("x-shopify-hmac-sha256")):
                raise BadRequest(401, tr("the X-Shopify-Hmac-Sha256 signature does not match the body and the secret"))
            webhook_id = request.headers.get("x-shopify-webhook-id", "").strip()
            if not webhook_id:
                raise BadRequest(400, tr("X-Shopify-Webhook-Id is missing; Shopify sends it with every delivery"))
            return JSONResponse(await run_in_threadpool(deliver, topic, webhook_id, parse(body)))

        return await bounded(work)

    def deliver(topic: str, webhook_id: str, payload: Any) -> dict[str, Any]:
        """One webhook: once per webhook id; its items stored in order, each kind latest-wins (Shopify's state)."""
        with ingestor.engine.connect() as conn:
            if stored_digests(conn, "shopify", "webhook", [webhook_id]):
                return {"topic": topic, "duplicate": True}
        try:
            items = shopify.items_of(topic, payload)
        except shopify.PayloadError as exc:  # answered 200: Shopify would only send the same payload again
            ERRORS.warning("shopify %s webhook not stored: %s", topic, exc)
            return {"topic": topic, "stored": False, "error": str(exc)}
        results = {
            kind: counted(kind, ingestor.ingest(kind, batch, "shopify", ALL_KINDS)).as_json()
            for kind, batch in items.by_kind()
        }
        try:
            with ingestor.engine.begin() as conn:
                record_receipts(conn, "shopify", "webhook", [(webhook_id, topic)], [], ingestor.clock())
        except IntegrityError:  # the same delivery, handled at the same time by another request
            pass
        return {"topic": topic, "results": results}

    routes = [
        Route("/v1/schemas/{kind}", guarded("schema", schema), methods=["GET"]),
        Route("/v1/{kind}", guarded("ingest", ingest), methods=["POST"]),
        Route("/healthz", guarded("healthz", healthz), methods=["GET"]),
        Route("/metrics", guarded("metrics", metrics_endpoint), methods=["GET"]),
        Route("/webhooks/shopify/{resource}/{action}", guarded("shopify", shopify_webhook), methods=["POST"]),
    ]
    return Starlette(routes=routes)
