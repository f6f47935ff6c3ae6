"""Unique coupon codes: imported by pool, drawn by sends (one code per delivery, never twice, soonest expiry
first), shown in the delivered message, a recorded skip when the pool is empty — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ecrm_dsl.cli import cli
from ecrm_dsl.delivery.outbox import FileAdapter
from ecrm_dsl.runtime.dispatch import Dispatcher
from ecrm_dsl.store import coupons
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, build, scenario
from tests.runtime.world import World

COUPON_MAIL = """template: f2_coupon
category: marketing
coupon: {pool: f2_spring, valid_for: 7d}
channels:
  email:
    subject: 次回使えるクーポン
    body: "{{ customer.name }}様 クーポンコード {{ coupon.code }}（{{ coupon.expires_on }}まで） {{ unsubscribe_url }}"
"""
FLOW = scenario("f2", "order.placed", "  after 1h: send email f2_coupon\n  @after after 1d: send email plain")
PLAIN = "template: plain\ncategory: marketing\nchannels:\n  email:\n    subject: s\n    body: b {{ unsubscribe_url }}\n"


def coupons_world(tmp_path: Path, codes: str) -> World:
    w = build(tmp_path / "w", {"f2": FLOW}, (COUPON_MAIL, PLAIN))
    (tmp_path / "codes.csv").write_text(codes, encoding="utf-8")
    done = CliRunner().invoke(cli, ["import", "coupons", str(tmp_path / "codes.csv"), "--store", w.store])
    assert done.exit_code == 0, done.output
    return w


def drawn(w: World) -> dict[str, tuple[str, int]]:
    """code -> (customer, enrollment) of every code a send drew."""
    c = TABLES.coupons
    with w.engine.connect() as conn:
        rows = conn.execute(select(c.c.code, c.c.customer_id, c.c.enrollment_id).where(c.c.enrollment_id.is_not(None)))
        return {code: (customer, enrollment) for code, customer, enrollment in rows}


def test_each_send_draws_its_own_code_soonest_expiry_first_and_the_message_shows_it(tmp_path: Path) -> None:
    w = coupons_world(
        tmp_path,
        "pool,code,expires_on\n"
        "f2_spring,LATE-1,2025-06-30\n"
        "f2_spring,SOON-1,2025-03-31\n"
        "f2_spring,GONE-1,2025-03-05\n"  # valid at the send, but not for the 7 days the template asks
        "f2_spring,NEVER-1,\n"
        "other_pool,OTHER-1,2025-12-31\n",
    )
    for cid in ("a", "b", "c", "d"):
        w.customer(cid)
        w.order(cid, at(1, 10))
    w.tick(at(1, 11))

    given = drawn(w)
    assert sorted(given) == ["LATE-1", "NEVER-1", "SOON-1"]  # three usable codes for four customers
    assert len({customer for customer, _ in given.values()}) == 3
    [skipped] = [cid for cid in "abcd" if cid not in {customer for customer, _ in given.values()}]
    [skip] = [d for d in w.decisions(skipped) if d["kind"] == "skipped"]
    assert skip["detail"]["cause"] == "no_coupon" and "coupon pool f2_spring has no unused code left" in skip["reason"]
    w.tick(at(2, 12))  # the skipped customer still goes on to the next step
    assert [s[1] for s in w.sends(skipped)] == ["after"]

    sink = tmp_path / "email.jsonl"
    Dispatcher(w.engine, {"email": FileAdapter("email", sink)}).run(at(2, 13))
    bodies = {
        record["customer_id"]: record["content"]["body"]
        for record in map(json.loads, sink.read_text(encoding="utf-8").splitlines())
        if "body" in record["content"] and "クーポンコード" in record["content"]["body"]
    }
    by_customer = {customer: code for code, (customer, _) in given.items()}
    for customer, code in by_customer.items():
        assert f"クーポンコード {code}（" in bodies[customer]
    soon = next(customer for customer, code in by_customer.items() if code == "SOON-1")
    assert "（2025-03-31まで）" in bodies[soon]  # expires_on is the last shop day it is valid
    never = next(customer for customer, code in by_customer.items() if code == "NEVER-1")
    assert "（まで）" in bodies[never]


def test_a_code_is_never_given_twice_and_a_reimport_keeps_who_has_it(tmp_path: Path) -> None:
    codes = "pool,code,expires_at\nf2_spring,A-1,2025-04-01 00:00\nf2_spring,A-2,2025-04-01 00:00\n"
    w = coupons_world(tmp_path, codes)
    w.customer("a")
    w.order("a", at(1, 10))
    w.tick(at(1, 11))
    before = drawn(w)
    assert list(before) == ["A-1"]
    # The coupon system exports its list again, with a new expiry: the drawn code stays drawn.
    again = "pool,code,expires_at\nf2_spring,A-1,2025-05-01 00:00\nf2_spring,A-2,2025-05-01 00:00\n"
    (tmp_path / "codes.csv").write_text(again, encoding="utf-8")
    done = CliRunner().invoke(cli, ["import", "coupons", str(tmp_path / "codes.csv"), "--store", w.store])
    assert done.exit_code == 0 and "2 updated" in done.output, done.output
    assert drawn(w) == before
    w.customer("b")
    w.order("b", at(1, 12))
    w.tick(at(1, 13))
    assert sorted(drawn(w)) == ["A-1", "A-2"] and drawn(w)["A-2"][0] == "b"


REMINDER = COUPON_MAIL.replace("template: f2_coupon", "template: f2_coupon_reminder").replace(
    "次回使えるクーポン", "クーポンの期限が近づいています"
)


def test_a_later_step_from_the_same_pool_shows_the_code_already_given(tmp_path: Path) -> None:
    flow = scenario("f2", "order.placed", "  after 1h: send email f2_coupon\n  after 1d: send email f2_coupon_reminder")
    w = build(tmp_path / "w", {"f2": flow}, (COUPON_MAIL, REMINDER))
    (tmp_path / "codes.csv").write_text("pool,code\nf2_spring,K-1\nf2_spring,K-2\n", encoding="utf-8")
    assert (
        CliRunner().invoke(cli, ["import", "coupons", str(tmp_path / "codes.csv"), "--store", w.store]).exit_code == 0
    )
    w.customer("a")
    w.order("a", at(1, 10))
    w.ticks(at(1, 11), at(2, 12), every=dt.timedelta(hours=25))
    assert [s[1] for s in w.sends("a")] == ["f2_coupon", "f2_coupon_reminder"]
    with w.engine.connect() as conn:
        codes = [p["coupon"]["code"] for p in conn.execute(select(TABLES.outbox.c.params)).scalars()]
    assert codes == ["K-1", "K-1"] and list(drawn(w)) == ["K-1"]  # K-2 is still there for someone else


def test_bad_coupon_files_name_the_line_and_store_nothing(tmp_path: Path) -> None:
    w = build(tmp_path / "w", {"f2": FLOW}, (COUPON_MAIL, PLAIN))
    path = tmp_path / "codes.csv"
    path.write_text(
        "pool,code,expires_at,expires_on\n"
        "p,C-1,2025-04-01 00:00,2025-04-01\n"
        "p,C-2,,2025-02-30\n"
        ",C-3,,\n"
        "p,C-4,,2025-04-01\n"
        "p,C-4,,2025-04-02\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["import", "coupons", str(path), "--store", w.store])
    assert result.exit_code == 1 and "Traceback" not in result.output
    for line, words in [
        (2, "both an expiry time and an expiry date"),
        (3, "'2025-02-30' is not a date on the calendar"),
        (4, "pool"),
        (6, "also on line 5"),
    ]:
        assert any(f"codes.csv:{line}:" in part and words in part for part in result.output.splitlines()), (
            line,
            result.output,
        )
    assert w.count("coupons") == 0


def test_concurrent_draws_get_different_codes(tmp_path: Path, world_backend: str) -> None:
    if world_backend == "sqlite":
        pytest.skip("SQLite has one writer at a time: two draws cannot overlap there")
    w = build(tmp_path / "w", {"f2": FLOW}, (COUPON_MAIL, PLAIN))
    with w.engine.begin() as conn:
        conn.execute(TABLES.coupons.insert(), [{"pool": "p", "code": f"C-{n}", "expires_at": None} for n in range(4)])
    now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    with w.engine.connect() as first, w.engine.connect() as second:
        first.begin()
        second.begin()
        one = coupons.draw(first, "p", [(1, "a"), (2, "b")], now, now)
        two = coupons.draw(second, "p", [(3, "c"), (4, "d")], now, now)  # skips the rows `first` holds
        first.commit()
        second.commit()
    codes = [c.code for c in [*one.values(), *two.values()]]
    assert sorted(codes) == ["C-0", "C-1", "C-2", "C-3"]
    with w.engine.connect() as conn:
        assert [s.usable for s in coupons.stock(conn, now)] == [0]


def test_a_replay_draws_from_the_codes_not_given_yet_and_says_how_long_they_last(tmp_path: Path) -> None:
    w = coupons_world(tmp_path, "pool,code\n" + "".join(f"f2_spring,S-{n}\n" for n in range(5)))
    for cid in ("a", "b", "c"):
        w.customer(cid)
        w.order(cid, at(3, 10))
    w.tick(at(3, 11))  # live: three codes given
    with w.engine.begin() as conn:  # one more code arrives later
        conn.execute(TABLES.coupons.insert(), [{"pool": "f2_spring", "code": "S-9", "expires_at": None}])
    out = tmp_path / "sim.db"
    config = str(w.root / "project" / "ecrm.toml")
    args = ["--config", config, "simulate", "--store", w.store, "--from", "2025-03-01", "--to", "2025-03-14"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out), "--format", "json"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["simulation"]["copied"]["coupons"] == 3  # S-3, S-4, S-9: the given ones stay behind
    [pool] = document["coupons"]
    assert pool["pool"] == "f2_spring" and pool["drawn"] == 3 and pool["usable_at_end"] == 0
    assert pool["weekly"] == 1.5 and pool["weeks_left"] == 0.0  # 3 codes in the replay's two weeks
    text = CliRunner().invoke(cli, [*args, "--out", str(out)], catch_exceptions=False).stdout
    assert "coupon pool f2_spring: 3 codes drawn (~2 wanted a week), 0 usable at the end: about 0.0 weeks" in text
    assert "import more codes before it runs out" in text


def test_a_review_with_power_says_how_long_a_pool_lasts(tmp_path: Path) -> None:
    w = coupons_world(tmp_path, "pool,code\n" + "".join(f"f2_spring,S-{n}\n" for n in range(4)))
    for index, cid in enumerate("abcdef"):
        w.customer(cid)
        w.order(cid, at(7 + index, 10))  # all in the replayed week
    head = w.root / "project"
    base = tmp_path / "base"
    shutil.copytree(head, base)
    (base / "scenarios" / "f2.ecrm").write_text(FLOW.replace("after 1h:", "after 2h:"), encoding="utf-8")
    now = at(14, 0).isoformat()
    args = ["diff", str(base), str(head), "--store", w.store, "--now", now, "--power", "1w"]

    result = CliRunner().invoke(cli, [*args, "--format", "json"], catch_exceptions=False)

    assert result.exit_code == 1, result.output
    [pool] = json.loads(result.stdout)["impact"]["coupons"]
    assert pool["pool"] == "f2_spring" and pool["drawn"] == 4 and pool["missed"] == 2  # 6 buyers, 4 codes
    assert pool["usable_at_end"] == 4 and pool["weeks_left"] == 0.7  # the store's codes, not what the replay left
    text = CliRunner().invoke(cli, args, catch_exceptions=False).stdout
    # The store's 4 codes against 6 buyers a week: they last about 0.7 weeks.
    assert (
        "coupon pool f2_spring: 4 codes drawn and 2 sends found none left (~6 wanted a week), 4 usable at the end"
        in text
    )
    assert "import more codes before it runs out" in text
