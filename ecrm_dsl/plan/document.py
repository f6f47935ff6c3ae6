"""The execution plan file: canonical JSON (sorted keys, fixed separators, UTF-8), content hashes, loading.

Same sources, same bytes: plans are committed and diffed in review, and the runtime records each scenario's
hash with every delivery it makes. ``canonical_json`` is the one way plan bytes are written; ``load_plan`` the
one way the runtime reads a plan: checked against the schema and its own references first, then typed.
"""

from __future__ import annotations

import json
from typing import Any

from ecrm_dsl.language.i18n import n_
from ecrm_dsl.plan.contract import PLAN_FORMAT, PLAN_VERSION
from ecrm_dsl.plan.hashing import content_hash
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.validate import PlanError, parse_plan

__all__ = ["PLAN_FORMAT", "PLAN_VERSION", "RECOMPILE", "PlanError", "canonical_json", "content_hash", "load_plan"]

RECOMPILE = n_("write the plan with `ecrm compile` (plans are the compiler's output, not edited by hand)")


def canonical_json(data: Any) -> str:
    """Deterministic, diff-friendly JSON: sorted keys, two-space indent, Japanese kept readable."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def load_plan(text: str, source: str = "plan", remedy: str = RECOMPILE) -> Plan:
    """The typed plan in ``text``; :class:`PlanError` (a ValueError) names ``source``, the JSON path of each
    problem and ``remedy``, what to do about it."""
    return Plan.from_json(parse_plan(text, source, remedy))
