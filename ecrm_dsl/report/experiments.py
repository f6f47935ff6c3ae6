"""Whether a scenario's experiments can be trusted: a sample-ratio-mismatch check on the holdout and on every
split, and a warning where a group is too small to conclude anything.

A sample-ratio mismatch (SRM) is a split whose observed group sizes are too far from the configured shares to be
chance: the assignment or the logging is broken, and every comparison built on it is suspect. As experimentation
platforms do, it is flagged when Pearson's chi-square test of the observed counts against the configured shares
gives p < 0.001 (the strict threshold keeps false alarms rare across many checks).
"""

from __future__ import annotations

from typing import Any

from ecrm_dsl.plan.nodes import SplitNode
from ecrm_dsl.plan.scenario import ScenarioPlan
from ecrm_dsl.report.stats import chi_square, chi_square_p, rounded

SRM_P = 0.001
MIN_CONVERSIONS = 10  # per group: below this a rate comparison cannot conclude (state it, do not hide it)
SMALL_RULE = f"a group with fewer than {MIN_CONVERSIONS} conversions (or buyers, for revenue) is too small to conclude"
SRM_MEANING = (
    "sample ratio mismatch: the groups' sizes differ from the configured shares by more than chance allows "
    "(p < 0.001), so the comparison is not trustworthy; check that the holdout or split was not changed while "
    "the scenario ran, that no group is filtered differently (consent, caps, guards before the split), and that "
    "enrollments or decisions were not lost"
)


def srm_check(kind: str, name: str, groups: list[tuple[str, float, int]]) -> dict[str, Any]:
    """``groups`` are (name, configured share, observed count). With fewer than two non-empty expectations or no
    observations there is nothing to test (p is None)."""
    observed = [count for _, _, count in groups]
    shares = [share for _, share, _ in groups]
    total = sum(observed)
    p = statistic = None
    if total > 0 and sum(1 for s in shares if s > 0) >= 2:
        statistic, dof = chi_square(observed, shares)
        p = chi_square_p(statistic, dof)
    mismatch = p is not None and p < SRM_P
    return {
        "kind": kind,
        "name": name,
        "groups": [
            {"group": g, "expected_share": rounded(share), "observed": count, "observed_share": rounded(count / total)}
            if total
            else {"group": g, "expected_share": rounded(share), "observed": count, "observed_share": None}
            for g, share, count in groups
        ],
        "chi2": rounded(statistic),
        "p": None if p is None else float(f"{p:.6g}"),
        "mismatch": mismatch,
        "message": SRM_MEANING if mismatch else None,
    }


def scenario_checks(
    scenario: ScenarioPlan, messaged: int, holdout: int, assigned: dict[tuple[str, str], int]
) -> list[dict[str, Any]]:
    """The holdout check (messaged against held out) and one check per split step: ``assigned`` counts the
    customers drawn for each (split step, variant), held out or not (the draw does not depend on the holdout)."""
    checks = []
    if scenario.holdout_percent > 0:
        share = scenario.holdout_percent / 100
        checks.append(srm_check("holdout", "holdout", [("messaged", 1 - share, messaged), ("holdout", share, holdout)]))
    for node in scenario.nodes:
        if isinstance(node, SplitNode):
            total = sum(v.weight for v in node.variants)
            groups = [(v.name, v.weight / total, assigned.get((node.id, v.name), 0)) for v in node.variants]
            checks.append(srm_check("split", node.id, groups))
    return checks


def too_small(*conversions: int) -> bool:
    return any(n < MIN_CONVERSIONS for n in conversions)
