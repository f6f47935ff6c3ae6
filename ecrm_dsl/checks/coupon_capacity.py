"""W530: a coupon pool that would run out within weeks at the pace a replay of the store's recent history asks of it.

Only ``ecrm lint --store`` runs this family: it needs the customers, the codes imported and a replay of the plan.
A pool that runs dry is not an error in the plan — the runtime records each send that finds no code as a
``no_coupon`` skip — but those customers silently get nothing, so the planner should hear of it before launch.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.project.workspace import Workspace
from ecrm_dsl.simulate.estimates import replay_estimates
from ecrm_dsl.simulate.summary import short_of_codes


def coupon_capacity_findings(
    workspace: Workspace, plan: dict[str, Any], store: Engine, now: datetime, span: timedelta, span_label: str
) -> list[Diagnostic]:
    """Replay ``plan`` over the store's last ``span`` and flag, at each template drawing from it, every pool whose
    usable codes would last fewer weeks than the simulate report's threshold."""
    pools = replay_estimates(store, Plan.from_json(plan), now, span).pools
    return pool_findings(workspace, pools, span_label)


def pool_findings(workspace: Workspace, pools: list[dict[str, Any]], span_label: str) -> list[Diagnostic]:
    findings = []
    for pool in pools:
        if not short_of_codes(pool):
            continue
        missed = f"; {pool['missed']:,} sends in the replay found none left" if pool["missed"] else ""
        usable = pool["usable_at_end"]
        lasts = f"lasts about {pool['weeks_left']:,} weeks: {usable:,} usable codes" if usable else "has no usable code"
        message = (
            f"coupon pool '{pool['pool']}' {lasts}, and the scenarios want ~{pool['weekly']:,.0f} a week "
            f"(the pace of a replay of the last {span_label}{missed})"
        )
        hint = (
            f"import more codes for '{pool['pool']}' with `ecrm import coupons FILE` before launch; a send that "
            "finds no code is skipped (no_coupon)"
        )
        for name in sorted(workspace.templates):
            template = workspace.templates[name]
            if template.coupon is not None and template.coupon.pool == pool["pool"]:
                findings.append(Diagnostic("W530", message, template.coupon.span, hint=hint))
    return findings
