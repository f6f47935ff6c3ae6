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
from ecrm_dsl.language.i18n import tr
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
        message = _running_out(pool, span_label)
        hint = tr(
            "import more codes for '{pool}' with `ecrm import coupons FILE` before launch; a send that finds no code "
            "is skipped (no_coupon)",
            pool=pool["pool"],
        )
        for name in sorted(workspace.templates):
            template = workspace.templates[name]
            if template.coupon is not None and template.coupon.pool == pool["pool"]:
                findings.append(Diagnostic("W530", message, template.coupon.span, hint=hint))
    return findings


def _running_out(pool: dict[str, Any], span_label: str) -> str:
    """W530's sentence: how long the usable codes last (or that none are left), and whether the replay already
    ran out (four whole sentences, so each language can order its words)."""
    fields = {
        "pool": pool["pool"],
        "weekly": f"{pool['weekly']:,.0f}",
        "span": span_label,
        "weeks": f"{pool['weeks_left']:,}",
        "usable": f"{pool['usable_at_end']:,}",
        "missed": f"{pool['missed']:,}",
    }
    if pool["usable_at_end"]:
        if pool["missed"]:
            return tr(
                "coupon pool '{pool}' lasts about {weeks} weeks: {usable} usable codes, and the scenarios want "
                "~{weekly} a week (the pace of a replay of the last {span}; {missed} sends in the replay found none "
                "left)",
                **fields,
            )
        return tr(
            "coupon pool '{pool}' lasts about {weeks} weeks: {usable} usable codes, and the scenarios want ~{weekly} "
            "a week (the pace of a replay of the last {span})",
            **fields,
        )
    if pool["missed"]:
        return tr(
            "coupon pool '{pool}' has no usable code, and the scenarios want ~{weekly} a week (the pace of a replay "
            "of the last {span}; {missed} sends in the replay found none left)",
            **fields,
        )
    return tr(
        "coupon pool '{pool}' has no usable code, and the scenarios want ~{weekly} a week (the pace of a replay of "
        "the last {span})",
        **fields,
    )
