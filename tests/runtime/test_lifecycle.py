"""Triggers, re-entry, waits for events, stop rules, catch-up after downtime and crashes, on real SQLite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from ecrm_dsl.runtime import steps as steps_module
from ecrm_dsl.store import enrollments, outbox
from ecrm_dsl.store.tables import TABLES
from tests.runtime.test_tick_entries import watching
from tests.runtime.world import JST, World, template


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=JST)


def make(tmp_path: Path, text: str, *templates: str, segments: dict[str, str] | None = None) -> World:
    w = World(tmp_path)
    w.templates(*(templates or (template("mail"),)))
    for name, where in (segments or {}).items():
        w.write(f"segments/{name}.yaml", f"segment: {name}\nwhere: {where}\n")
    w.write("scenarios/s.ecrm", text)
    w.deploy(at(1, 0))
    return w


def scenario(trigger: str, body: str, extra: str = "") -> str:
    return f'scenario s {{\n  kind nurture\n  hypothesis engagement "t"\n  when {trigger}\n{extra}\n{body}\n}}\n'


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("", ["a"]),  # never (the default)
        ("  reentry always", ["a", "a"]),
        ("  reentry after 10d", ["a", "a"]),
        ("  reentry after 20d", ["a"]),
    ],
)
def test_reentry_rules(tmp_path: Path, rule: str, expected: list[str]) -> None:
    w = make(tmp_path, scenario("order.placed", "  after 1h: send email mail\n  @pause wait 3d", rule))
    w.customer("a")
    w.order("a", at(1, 10))
    w.order("a", at(2, 10))  # while still in the scenario: never a second enrollment at once
    w.order("a", at(15, 10))  # after the first one finished
    w.ticks(at(1, 11), at(16, 11), every=dt.timedelta(hours=12))
    assert [s[0] for s in w.sends()] == expected
    reasons = {d["reason"] for d in w.decisions("a", "not_entered")}
    assert "already in this scenario" in reasons or rule == ""


def test_missed_ticks_catch_up_once(tmp_path: Path) -> None:
    body = "  day 1 at 10:00: send email mail\n  @pause wait 1d\n  @second after 1d: send line mail"
    w = make(tmp_path, scenario("order.placed", body))
    w.customer("a")
    w.order("a", at(1, 9))
    w.tick(at(1, 12))
    w.tick(at(6, 12))  # the scheduler was down for five days
    w.tick(at(6, 12))  # and the catch-up tick runs twice
    w.ticks(at(6, 13), at(9, 13))
    # The overdue message goes out once; the steps after it keep their spacing from when it actually went.
    assert [(s[1], s[3]) for s in w.sends("a")] == [("mail", at(6, 12)), ("second", at(8, 12))]
    assert w.count("outbox") == 2


def test_a_crash_between_choosing_a_delivery_and_recording_it_loses_nothing_and_sends_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = make(tmp_path, scenario("order.placed", "  after 1h: send email mail"))
    for cid in ("a", "b", "c"):
        w.customer(cid)
        w.order(cid, at(1, 9))
    real_enqueue = outbox.enqueue

    def crash(conn, rows):  # the decision is made; the process dies before it is recorded
        raise SystemExit("killed")

    monkeypatch.setattr(steps_module.outbox, "enqueue", crash)
    with pytest.raises(SystemExit):
        w.tick(at(1, 11))
    assert w.count("outbox") == 0 and w.count("decisions") == 3  # the entries committed; the send did not
    monkeypatch.setattr(steps_module.outbox, "enqueue", real_enqueue)
    w.tick(at(1, 11))
    w.tick(at(1, 12))
    assert sorted(s[0] for s in w.sends()) == ["a", "b", "c"]
    assert all(w.enrollment_status(c) == ["completed"] for c in "abc")


def survey_wait(tmp_path: Path) -> World:
    """Three shipped customers waiting for a low survey score; "unhappy" answers 1, "happy" 5 (which does not match
    the wait's condition), "silent" nothing."""
    body = (
        "  @ask send email mail\n  @answer wait for survey.answered where event.satisfaction <= 2 timeout 3d {\n"
        "    on event {\n      @sorry send line mail\n    }\n    on timeout {\n      @remind send sms mail\n    }\n  }"
    )
    w = make(tmp_path, scenario("order.shipped", body), template("mail", channels=("email", "line", "sms")))
    for cid in ("unhappy", "happy", "silent"):
        w.customer(cid)
        w.event(cid, "order.shipped", at(1, 10), order_id=cid)
    w.event("unhappy", "survey.answered", at(2, 10), satisfaction=1)
    w.event("happy", "survey.answered", at(2, 10), satisfaction=5)
    return w


def test_wait_for_an_event_takes_the_path_of_what_happened(tmp_path: Path) -> None:
    w = survey_wait(tmp_path)
    w.ticks(at(1, 10), at(5, 10), every=dt.timedelta(hours=6))
    paths = {cid: [s[1] for s in w.sends(cid)] for cid in ("unhappy", "happy", "silent")}
    assert paths == {"unhappy": ["ask", "sorry"], "happy": ["ask", "remind"], "silent": ["ask", "remind"]}


def test_stop_rules_end_the_enrollment(tmp_path: Path) -> None:
    body = "  day 3: send email mail"
    extra = "  stop on subscription.cancelled\n  stop when customer.unsubscribed == true"
    w = make(tmp_path, scenario("order.placed", body, extra))
    for cid in ("cancels", "unsubscribes", "stays"):
        w.customer(cid)
        w.order(cid, at(1, 10))
    w.tick(at(1, 11))
    w.event("cancels", "subscription.cancelled", at(2, 10))
    from sqlalchemy import update

    from ecrm_dsl.store.tables import TABLES

    with w.engine.begin() as conn:
        conn.execute(update(TABLES.customers).where(TABLES.customers.c.id == "unsubscribes").values(unsubscribed=True))
    w.ticks(at(2, 11), at(5, 11), every=dt.timedelta(hours=12))
    assert [s[0] for s in w.sends()] == ["stays"]
    assert w.enrollment_status("cancels") == ["exited"] and w.enrollment_status("unsubscribes") == ["exited"]


def test_segment_entry_is_starting_to_match(tmp_path: Path) -> None:
    w = make(tmp_path, scenario("segment golds", "  send email mail"), segments={"golds": 'customer.rank == "gold"'})
    w.customer("already", attributes={"rank": "gold"})
    w.customer("later", attributes={"rank": "silver"})
    w.tick(at(1, 10))  # the first tick records who already matches: they did not *start* matching
    from sqlalchemy import update

    from ecrm_dsl.store.tables import TABLES

    with w.engine.begin() as conn:
        conn.execute(
            update(TABLES.customers).where(TABLES.customers.c.id == "later").values(attributes={"rank": "gold"})
        )
    w.tick(at(1, 11))
    w.tick(at(1, 12))
    assert [s[0] for s in w.sends()] == ["later"]


def test_birthday_trigger_fires_once_a_year_at_the_shop_time(tmp_path: Path) -> None:
    trigger = "date 7d before customer.birthday at 09:00 yearly"
    w = make(tmp_path, scenario(trigger, "  send email mail", "  reentry always"))
    w.customer("a", birthday=dt.date(1990, 3, 10))
    w.customer("b", birthday=dt.date(1985, 4, 1))
    w.ticks(at(1, 0), at(4, 0), every=dt.timedelta(hours=1))
    assert w.sends() == [("a", "mail", "email", at(3, 9))]


def test_cron_schedule_enrolls_the_audience_at_each_fire(tmp_path: Path) -> None:
    trigger = 'schedule "0 10 * * 1" audience readers'  # Mondays at 10:00 JST
    w = make(
        tmp_path,
        scenario(trigger, "  send email mail", "  reentry always"),
        segments={"readers": "customer.email_opt_in == true"},
    )
    w.customer("reader")
    w.customer("no_mail", email_opt_in=False)
    w.ticks(at(1, 0), at(12, 0), every=dt.timedelta(hours=1))  # Mondays: 3 and 10 March
    assert [(s[0], s[3]) for s in w.sends()] == [("reader", at(3, 10)), ("reader", at(10, 10))]


def test_branch_paths_and_anchor_dates(tmp_path: Path) -> None:
    body = (
        '  @route if customer.rank == "gold" {\n    @vip send email mail\n  } else {\n'
        "    @normal 1d before delivery_date at 18:00: send email mail\n  }"
    )
    w = make(tmp_path, scenario("order.placed", body))
    w.customer("gold", attributes={"rank": "gold"})
    w.customer("plain")
    w.customer("no_date")
    w.order("gold", at(1, 10))
    w.order("plain", at(1, 10), delivery_date=dt.date(2025, 3, 5))
    w.order("no_date", at(1, 10))
    w.ticks(at(1, 11), at(6, 11), every=dt.timedelta(hours=1))
    assert [(s[0], s[1], s[3]) for s in w.sends()] == [("gold", "vip", at(1, 11)), ("plain", "normal", at(4, 18))]
    assert w.decisions("no_date", "skipped")[0]["reason"] == "no delivery_date date for this customer"


def test_a_branch_arm_is_one_query_for_the_whole_batch(tmp_path: Path) -> None:
    """Each arm's condition is judged once for the rows still to route, not once per row (which made a batch of
    n rows n queries of n ids each)."""
    body = (
        '  @route if customer.rank == "gold" {\n    @vip send email mail\n'
        '  } elif customer.rank == "silver" {\n    @mid send email mail\n'
        "  } else {\n    @normal send email mail\n  }"
    )
    w = make(tmp_path, scenario("order.placed", body))
    ranks = {"g1": "gold", "s1": "silver", "g2": "gold", "p1": "plain", "s2": "silver", "p2": "plain"}
    for cid, rank in ranks.items():
        w.customer(cid, attributes={"rank": rank})
        w.order(cid, at(1, 10))
    with watching(w) as statements:
        w.tick(at(1, 11))
    arms = [sql for sql, params in statements.seen if any(v in ("gold", "silver") for v in params.values())]
    assert len(arms) == 2  # two conditional arms, each judged once
    routed = {s[0]: s[1] for s in w.sends()}
    assert routed == {"g1": "vip", "g2": "vip", "s1": "mid", "s2": "mid", "p1": "normal", "p2": "normal"}


def test_only_waiting_enrollments_with_an_awaited_event_are_read(tmp_path: Path) -> None:
    """Listening reads the enrollments at a wait that have an event of its type since they began waiting (their
    condition still to judge), not every waiting row at every tick."""
    w = survey_wait(tmp_path)
    w.event("silent", "survey.answered", at(1, 9), satisfaction=1)  # before the wait began: not heard
    w.ticks(at(1, 10), at(2, 16), every=dt.timedelta(hours=6))
    e = TABLES.enrollments.c
    with w.engine.connect() as conn:
        scenario = tuple(conn.execute(select(e.scenario_id, e.scenario_hash).limit(1)).one())
        listening = enrollments.waiting(conn, scenario, "answer", "survey.answered", at(2, 16), 100, 0)
    assert [row.customer_id for row in listening] == ["happy"]  # "unhappy" heard it and moved on
    assert [s[1] for s in w.sends("unhappy")] == ["ask", "sorry"]
