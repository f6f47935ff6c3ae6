"""A segment read only by a wait's condition reaches the plan, and the tick that hears the event uses it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.runtime.world import JST, World, template


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, tzinfo=JST)


SCENARIO = """scenario s {
  kind nurture
  hypothesis engagement "t"
  when order.shipped

  @ask send email mail
  @answer wait for survey.answered where in_segment(golds) timeout 3d {
    on event {
      @thanks send line mail
    }
    on timeout {
      @remind send sms mail
    }
  }
}
"""


def test_a_segment_named_only_in_a_wait_condition_is_compiled_and_evaluated(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.templates(template("mail", channels=("email", "line", "sms")))
    w.write("segments/golds.yaml", 'segment: golds\nwhere: customer.rank == "gold"\n')
    w.write("scenarios/s.ecrm", SCENARIO)
    assert "golds" in w.compile()["segments"]
    w.deploy(at(1, 0))
    w.customer("gold", attributes={"rank": "gold"})
    w.customer("silver", attributes={"rank": "silver"})
    for cid in ("gold", "silver"):
        w.event(cid, "order.shipped", at(1, 10), order_id=cid)
        w.event(cid, "survey.answered", at(2, 10), satisfaction=4)
    w.ticks(at(1, 10), at(5, 10), every=dt.timedelta(hours=6))
    assert [s[1] for s in w.sends("gold")] == ["ask", "thanks"]
    assert [s[1] for s in w.sends("silver")] == ["ask", "remind"]
