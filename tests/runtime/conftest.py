"""Every runtime test runs on SQLite and on PostgreSQL (the ``world_backend`` fixture of tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _both_backends(world_backend: str) -> str:
    return world_backend
