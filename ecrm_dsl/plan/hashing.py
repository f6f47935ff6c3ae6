"""Content hashes: a scenario version (and a template) is known by the sha256 of its canonical content."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_hash(data: Any) -> str:
    """sha256 of the compact canonical form; ``hash`` keys inside are ignored so the hash can be stored alongside."""
    compact = json.dumps(_without_hash(data), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(compact.encode("utf-8")).hexdigest()


def _without_hash(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _without_hash(v) for k, v in data.items() if k != "hash"}
    if isinstance(data, list):
        return [_without_hash(v) for v in data]
    return data
