"""When a goal counts: within its window from entry, also after the last step; without a window, only in the flow."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.runtime.adversarial_helpers import at, build, enrollments, kinds, scenario

SECOND = timedelta(seconds=1)


def test_a_goal_with_within_counts_after_the_last_step_and_one_without_only_in_the_flow(tmp_path: Path) -> None:
    windowed = scenario("windowed", "order.placed", "  send email mail", "  goal order.placed repeat within 10d")
    w = build(
        tmp_path,
        {
            "windowed": windowed,
            "open": scenario("open", "order.placed", "  send email mail", "  goal order.placed repeat"),
        },
    )
    for cid in ("soon", "edge", "late"):
        w.customer(cid)
        w.order(cid, at(1, 10))
    w.tick(at(1, 10))  # enters both scenarios, is sent the one step, completes
    w.order("soon", at(5, 10))
    w.order("edge", at(11, 10))  # exactly 10 days after entry
    w.order("late", at(11, 10) + SECOND)
    w.tick(at(5, 11))
    w.tick(at(11, 11))  # an hour after the edge purchase: the window is judged at the purchase, not the tick
    w.tick(at(12, 11))
    outcome = {(e[1], e[2]): e[3] for e in enrollments(w)}
    assert outcome == {
        ("soon", "windowed"): "converted",
        ("edge", "windowed"): "converted",
        ("late", "windowed"): "completed",
        ("soon", "open"): "completed",
        ("edge", "open"): "completed",
        ("late", "open"): "completed",
    }
    # The journal keeps the order of what happened: completed at the last step, converted later.
    assert [k for k in kinds(w, "soon") if k in ("completed", "converted")] == ["completed", "completed", "converted"]
