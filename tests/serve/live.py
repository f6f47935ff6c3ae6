"""A real uvicorn server on a loopback port, in a thread, over a real SQLite store and a compiled project."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.workspace import load_workspace
from ecrm_dsl.serve.app import ServeSettings, create_app
from ecrm_dsl.serve.auth import Tokens
from ecrm_dsl.serve.ingest import Ingestor
from ecrm_dsl.serve.server import bind, make_server
from tests.runtime.world import World, template

TOKEN = "test-token-3f9a1c7e5b2d8a64"  # long enough for ecrm serve to accept
OTHER_TOKEN = "second-token-7c1e2a9f0b3d5e84"
SHOPIFY_SECRET = "shpss_test_secret_0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
F2 = """scenario f2 "初回購入後のF2" {
  kind sell
  hypothesis f2_rate "初回購入のお礼"
  when order.placed where customer.order_count == 1
  after 1h: send email thanks
}
"""


def f2_world(root: Path) -> World:
    """The test world's project with an F2 scenario deployed."""
    import datetime as dt

    world = World(root)
    world.templates(template("thanks"))
    world.write("scenarios/f2.ecrm", F2)
    world.write(
        "customer_schema.yaml",
        "customer_schema: test_shop\nattributes:\n  rank: {type: string, values: [bronze, silver, gold]}\n"
        "  first_visit_at: {type: datetime}\n"
        "events:\n  review.posted:\n    properties: {rating: int, comment: string}\n",
    )
    world.deploy(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    return world


@dataclass
class Live:
    world: World
    url: str
    ingestor: Ingestor

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kw)

    def post(self, path: str, items: list[dict[str, Any]], headers: dict[str, str] | None = None) -> httpx.Response:
        with self.client() as client:
            return client.post(path, json={"items": items}, headers=AUTH if headers is None else headers)


@contextmanager
def live_server(world: World, **settings: Any) -> Iterator[Live]:
    config = load_config(world.root / "project" / "ecrm.toml")
    schema = load_workspace(config).schema
    ingestor = Ingestor(world.engine, schema)
    options = {"shopify_secret": SHOPIFY_SECRET, **settings}
    app = create_app(ingestor, ServeSettings(Tokens([TOKEN, OTHER_TOKEN]), **options))
    sock = bind("127.0.0.1", 0)
    server = make_server(app, "warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield Live(world, f"http://127.0.0.1:{sock.getsockname()[1]}", ingestor)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
