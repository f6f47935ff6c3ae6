"""Deterministic draws per customer: the holdout group and A/B/n variants.

A draw hashes the customer id with the scenario (and step), so it is the same on every run, every machine and
every re-deploy, and independent between scenarios: being in one test's holdout says nothing about another's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def _unit(*parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def in_holdout(customer_id: str, scenario_id: str, percent: int) -> bool:
    """Whether the customer is in the scenario's control group (``percent`` of customers)."""
    return percent > 0 and _unit("holdout", scenario_id, customer_id) % 100 < percent


def pick_variant(customer_id: str, scenario_id: str, node_id: str, weights: Sequence[tuple[str, int]]) -> str:
    """The variant a customer gets, in proportion to the weights."""
    total = sum(weight for _, weight in weights)
    point = _unit("split", scenario_id, node_id, customer_id) % total
    for name, weight in weights:
        if point < weight:
            return name
        point -= weight
    raise AssertionError("weights are positive")
