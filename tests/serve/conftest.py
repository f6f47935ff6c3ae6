from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve.live import Live, f2_world, live_server


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    with live_server(f2_world(tmp_path)) as running:
        yield running
