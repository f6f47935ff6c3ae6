from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve.live import Live, f2_world, live_server


@pytest.fixture
def live(tmp_path: Path, world_backend: str) -> Iterator[Live]:
    """A running server on a fresh store, once on SQLite and once on PostgreSQL (``world_backend``)."""
    with live_server(f2_world(tmp_path)) as running:
        yield running
