"""The execution plan file: canonical JSON (sorted keys, fixed separators, UTF-8) and content hashes.

Same sources, same bytes: plans are committed and diffed in review, and the runtime records each scenario's
hash with every delivery it makes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

PLAN_FORMAT = "ecrm-plan"
PLAN_VERSION = 1


def canonical_json(data: Any) -> str:
    """Deterministic, diff-friendly JSON: sorted keys, two-space indent, Japanese kept readable."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


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


def load_plan(text: str) -> dict[str, Any]:
    """Parse a plan file, checking its format and version."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise ValueError("not an ecrm-dsl plan (format is not 'ecrm-plan')")
    if data.get("version") != PLAN_VERSION:
        raise ValueError(f"plan version {data.get('version')} is not supported (this ecrm-dsl reads {PLAN_VERSION})")
    return data
