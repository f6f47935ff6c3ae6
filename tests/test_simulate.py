"""``ecrm simulate``: a replay of the store's history in a scratch store, on real SQLite."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, insert, select
from sqlalchemy.exc import IntegrityError

from ecrm_dsl.cli import cli
from ecrm_dsl.runtime.deploy import deploy
from ecrm_dsl.runtime.scheduler import Scheduler
from ecrm_dsl.simulate.clock import INSTANT, Grid
from ecrm_dsl.simulate.replay import Window, simulate
from ecrm_dsl.simulate.scratch import _attach_copy, _streamed_copy, copy_history, log_since, open_scratch
from ecrm_dsl.simulate.summary import summarize
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, scenario
from tests.runtime.world import World, template

HOUR = dt.timedelta(hours=1)
FOLLOW_UP = scenario(
    "follow_up",
    "order.placed",
    "  holdout 0%\n  @thanks after 1d at 10:00: send email mail\n  @late after 3d at 22:30: send email mail",
    "  goal order.placed repeat within 30d",
    kind="sell",
    hypothesis="f2_rate",
)


def source(tmp_path: Path, scenarios: dict[str, str], segments: dict[str, str] | None = None) -> World:
    """A store with a project that was never deployed to it: the history a simulation replays."""
    w = World(tmp_path / "source")
    w.templates(template("mail"))
    for name, where in (segments or {}).items():
        w.write(f"segments/{name}.yaml", f"segment: {name}\nwhere: {where}\n")
    for name, text in scenarios.items():
        w.write(f"scenarios/{name}.ecrm", text)
    return w


def journal(engine: Any) -> Counter[tuple[Any, ...]]:
    d = TABLES.decisions
    query = select(d.c.customer_id, d.c.scenario_id, d.c.node_id, d.c.kind, d.c.reason, d.c.at)
    with engine.connect() as conn:
        return Counter(tuple(row) for row in conn.execute(query))


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_replay_enrolls_sends_at_due_times_and_converts_from_the_history(tmp_path: Path) -> None:
    w = source(tmp_path, {"follow_up": FOLLOW_UP})
    for cid in ("a", "b", "c", "early", "late"):
        w.customer(cid)
    w.customer("quiet", email_opt_in=False, line_opt_in=False)
    w.order("a", at(3, 14, 20))
    w.order("a", at(10, 11))  # a repeat purchase within 30 days: converts
    w.order("b", at(4, 9, 5))
    w.order("c", at(20, 16))
    w.order("quiet", at(5, 12))
    w.order("early", at(1, 0, 1, month=2))  # before the window: never enters
    w.order("late", at(2, 12, month=4))  # after the window: the replay must not see it
    plan = w.plan()
    store = tmp_path / "source" / "store.db"
    before = file_digest(store)

    replay = simulate(w.engine, plan, tmp_path / "sim.db", Window(at(1, 0), at(31, 0)))

    assert file_digest(store) == before  # the source is only read
    assert w.count("decisions") == w.count("enrollments") == w.count("outbox") == 0
    o = TABLES.outbox
    with replay.scratch.connect() as conn:
        sends = [
            (r.customer_id, r.node_id, r.created_at.astimezone(at(1).tzinfo), r.status)
            for r in conn.execute(select(o.c.customer_id, o.c.node_id, o.c.created_at, o.c.status).order_by(o.c.id))
        ]
        summary = summarize(conn, plan)[0]
    # Steps act at their due times to the hour, though most grid points were skipped.
    assert ("a", "thanks", at(4, 10), "pending") in sends
    assert ("b", "thanks", at(5, 10), "pending") in sends
    assert ("c", "thanks", at(21, 10), "pending") in sends
    assert {s[3] for s in sends} == {"pending"}  # nothing delivered
    assert {s[0] for s in sends} == {"a", "b", "c"}
    assert replay.ticks < replay.grid_points / 4
    assert summary["entered"] == 4  # a (first order; the repeat is its goal), b, c, quiet
    assert summary["converted"] == 1 and summary["converted_treated"] == 1
    thanks, late = summary["steps"]
    assert thanks["sent"] == {"email": 3}
    assert thanks["skipped"] == {"no_channel": 1}
    # Due at 22:30, in quiet hours: all four wait for the morning; then the one without consent is skipped.
    assert late["deferred"] == {"quiet_hours": 4}
    assert late["sent"] == {"email": 3} and late["skipped"] == {"no_channel": 1}
    assert ("a", "late", at(8, 9), "pending") in sends


SURVEY_BODY = (
    "  @answer wait for survey.answered timeout 2d {\n    on event {\n      @sorry send email mail\n    }\n"
    "    on timeout {\n      @nudge send email mail\n    }\n  }"
)


def test_skipping_idle_grid_points_changes_no_decision(tmp_path: Path) -> None:
    body = "  holdout 20%\n  @first after 2h: send email mail\n  @second after 26h: send email mail"
    w = source(
        tmp_path,
        {
            "follow_up": FOLLOW_UP,
            "steps": scenario("steps", "order.placed", body, "  goal order.placed repeat within 10d"),
            "news": scenario("news", 'schedule "0 10 * * 1" audience readers', "  send email mail", "  reentry always"),
            "survey": scenario("survey", "order.placed", SURVEY_BODY, "  reentry always"),
        },
        segments={"readers": "customer.email_opt_in == true"},
    )
    for i in range(30):
        cid = f"c{i:02d}"
        w.customer(cid)
        w.order(cid, at(1 + i % 9, 8 + i % 11, 7 * i % 60))
        if i % 3 == 0:
            w.order(cid, at(4 + i % 9, 13, 30))
        if i % 4 == 0:
            w.event(cid, "survey.answered", at(3 + i % 9, 20, 15), satisfaction=1)
    plan = w.plan()
    window = Window(at(1, 0), at(16, 0))

    replay = simulate(w.engine, plan, tmp_path / "sim.db", window)

    plain = open_scratch(tmp_path / "plain.db")
    copy_history(w.engine, plain)
    deploy(plain, plan, window.start - INSTANT)
    scheduler = Scheduler(plain)
    points = Grid.shop_clock(window.start, window.end, HOUR, "Asia/Tokyo").points()
    for moment in points:
        scheduler.tick(moment)
    assert replay.ticks < replay.grid_points == len(points)
    expected = journal(plain)
    assert sum(expected.values()) > 100
    assert journal(replay.scratch) == expected


def test_customers_from_the_future_are_not_in_audiences(tmp_path: Path) -> None:
    newsletter = scenario("news", 'schedule "0 10 * * *" audience readers', "  send email mail", "  reentry always")
    w = source(tmp_path, {"news": newsletter}, segments={"readers": "customer.email_opt_in == true"})
    w.customer("signed_early", signed_up_at=at(1, 0, month=1))
    w.customer("signed_later", signed_up_at=at(3, 12))
    w.customer("buyer_early")
    w.order("buyer_early", at(1, 9))
    w.customer("buyer_later")  # no sign-up time: known from the first order
    w.order("buyer_later", at(2, 15))
    w.customer("list_only")  # no sign-up time and no history: an imported list, known all along

    replay = simulate(w.engine, w.plan(), tmp_path / "sim.db", Window(at(1, 0), at(3, 23)))

    o = TABLES.outbox
    with replay.scratch.connect() as conn:
        rows = conn.execute(select(o.c.customer_id, o.c.created_at)).all()
    days: dict[str, list[int]] = {}
    for cid, created in sorted(rows, key=lambda r: r[1]):
        days.setdefault(cid, []).append(created.astimezone(at(1).tzinfo).day)
    # The newsletter fires at 10:00 each day; "signed_later" signs up on the 3rd at noon.
    assert days == {"signed_early": [1, 2, 3], "buyer_early": [1, 2, 3], "list_only": [1, 2, 3], "buyer_later": [3]}


def test_the_streamed_copy_and_the_attached_copy_give_the_same_rows(tmp_path: Path) -> None:
    w = source(tmp_path, {"follow_up": FOLLOW_UP})
    for i in range(5):
        w.customer(f"c{i}", attributes={"rank": "gold", "メモ": "日本語"})
        w.order(f"c{i}", at(1 + i, 10), amount=1200 * i)
        w.event(f"c{i}", "survey.answered", at(2 + i, 11), satisfaction=i)
    attached, streamed = open_scratch(tmp_path / "a.db"), open_scratch(tmp_path / "s.db")
    assert w.engine.url.database
    _attach_copy(Path(w.engine.url.database), attached, lambda _: None)
    _streamed_copy(w.engine, streamed, lambda _: None)
    for table in (TABLES.customers, TABLES.orders, TABLES.events):
        with attached.connect() as a, streamed.connect() as s:
            query = select(table).order_by(*table.primary_key)
            assert a.execute(query).all() == s.execute(query).all() != []


def run_cli(tmp_path: Path, *args: str) -> Any:
    return CliRunner().invoke(
        cli, ["--config", str(tmp_path / "source" / "project" / "ecrm.toml"), *args], catch_exceptions=False
    )


def test_the_command_reports_in_every_format_and_the_same_input_gives_the_same_bytes(tmp_path: Path) -> None:
    w = source(tmp_path, {"follow_up": FOLLOW_UP})
    w.customer("a")
    w.order("a", at(3, 14))
    store, out = str(tmp_path / "source" / "store.db"), str(tmp_path / "sim.db")
    common = ["simulate", "--store", store, "--from", "2025-03-01", "--to", "2025-03-10", "--out", out]

    first = run_cli(tmp_path, *common, "--format", "json")
    second = run_cli(tmp_path, *common, "--format", "json")  # replaces its own earlier scratch store

    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    document = json.loads(first.stdout)
    assert document["simulation"]["from"] == "2025-03-01T00:00:00+09:00"
    assert document["simulation"]["to"] == "2025-03-11T00:00:00+09:00"  # --to is included to its end
    (follow_up,) = document["scenarios"]
    assert follow_up["entered"] == 1 and follow_up["steps"][0]["sent"] == {"email": 1}
    text = run_cli(tmp_path, *common)
    assert "follow_up" in text.stdout and "thanks (send): sent: email 1" in text.stdout
    csv_rows = run_cli(tmp_path, *common, "--format", "csv").stdout.splitlines()
    assert csv_rows[0] == "scenario,step,measure,label,value"
    assert "follow_up,thanks,sent,email,1" in csv_rows
    # The scratch store remembers its last tick (the late step's, deferred to 09:00): running it back is refused.
    back = run_cli(tmp_path, "run", "--once", "--store", out, "--now", "2025-03-05T10:00+09:00", "--file-outbox", "o")
    assert back.exit_code == 2
    assert "before the store's last tick, 2025-03-08T09:00:00+09:00;" in back.output


def test_the_command_refuses_bad_input_with_a_message_and_overwrites_nothing(tmp_path: Path) -> None:
    w = source(tmp_path, {"follow_up": FOLLOW_UP})
    w.customer("a")
    store = str(tmp_path / "source" / "store.db")
    precious = tmp_path / "precious.db"
    precious.write_bytes(b"not a simulation")

    cases = {
        "not a simulation store": [
            *("--store", store, "--from", "2025-03-01", "--to", "2025-03-02", "--out", str(precious))
        ],
        "does not exist (nothing was created)": [
            "--store",
            str(tmp_path / "missing.db"),
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-02",
        ],
        "is not a date or time": ["--store", store, "--from", "March", "--to", "2025-03-02"],
        "must be after --from": ["--store", store, "--from", "2025-03-05", "--to", "2025-03-01"],
        "is not a duration": ["--store", store, "--from", "2025-03-01", "--to", "2025-03-02", "--step", "hourly"],
        "at most 1h": ["--store", store, "--from", "2025-03-01", "--to", "2025-03-02", "--step", "1d"],
    }
    for message, args in cases.items():
        result = run_cli(tmp_path, "simulate", *args)
        assert result.exit_code != 0 and message in result.output, (message, result.output)
        assert "Traceback" not in result.output
    assert precious.read_bytes() == b"not a simulation"
    assert not (tmp_path / "missing.db").exists()


def test_segment_triggers_are_checked_on_their_own_cadence(tmp_path: Path) -> None:
    sleepy = scenario("sleepy", "segment quiet_ones", "  send email mail")
    quiet = "customer.order_count >= 1 and count(order.placed, 2d) == 0"
    w = source(tmp_path, {"sleepy": sleepy}, segments={"quiet_ones": quiet})
    w.customer("a")
    w.order("a", at(1, 15))  # a starts to match once the order is two days old: on the 3rd after 15:00
    w.customer("b")
    w.order("b", at(2, 11))  # ... and b on the 4th after 11:00
    w.customer("c")
    w.order("c", at(5, 10))  # not within the window
    plan = w.plan()

    daily = simulate(w.engine, plan, tmp_path / "daily.db", Window(at(1, 0), at(6, 23)))
    hourly = simulate(w.engine, plan, tmp_path / "hourly.db", Window(at(1, 0), at(6, 23), HOUR, HOUR))

    def entries(engine: Any) -> dict[str, dt.datetime]:
        n = TABLES.enrollments
        with engine.connect() as conn:
            return {r.customer_id: r.entered_at.astimezone(at(1).tzinfo) for r in conn.execute(select(n))}

    # Checked once a day, at the time of the first tick (00:00): the next check after they start to match.
    assert entries(daily.scratch) == {"a": at(4, 0), "b": at(5, 0)}
    # Checked every hour: the hour after (a two-day window still holds an order placed exactly two days ago).
    assert entries(hourly.scratch) == {"a": at(3, 16), "b": at(4, 12)}
    assert hourly.ticks > daily.ticks


NOTICE = scenario("notice", "order.placed", "  @notice send email notice")
MIDNIGHT_NEWS = scenario(
    "news", 'schedule "0 0 * * *" audience everyone', "  @news send email notice", "  reentry always"
)


def entered(engine: Any, scenario_id: str) -> dict[str, list[dt.datetime]]:
    n = TABLES.enrollments
    query = select(n.c.customer_id, n.c.entered_at).where(n.c.scenario_id == scenario_id).order_by(n.c.id)
    found: dict[str, list[dt.datetime]] = {}
    with engine.connect() as conn:
        for cid, moment in conn.execute(query):
            found.setdefault(cid, []).append(moment.astimezone(at(1).tzinfo))
    return found


def test_a_replay_runs_from_the_first_instant_of_its_first_day_to_the_last_instant_of_its_last(
    tmp_path: Path,
) -> None:
    w = source(tmp_path, {"notice": NOTICE, "news": MIDNIGHT_NEWS}, segments={"everyone": 'customer.id != ""'})
    w.templates(template("notice", category="transactional"))
    for cid in ("before", "first", "evening", "next_day"):
        w.customer(cid, signed_up_at=at(1, 0, month=1))
    w.order("before", at(28, 23, 59, month=2, second=59))
    w.order("first", at(1, 0))  # the first instant of --from
    w.order("evening", at(2, 23, 30))  # in the last hour of --to
    w.order("next_day", at(3, 0))  # the first instant after --to

    replay = simulate(w.engine, w.plan(), tmp_path / "sim.db", Window(at(1, 0), at(3, 0)))

    assert entered(replay.scratch, "notice") == {"first": [at(1, 0)], "evening": [at(2, 23, 30)]}
    # The cron fires at 00:00 of both days of the window, and not at 00:00 of the day after.
    assert {moments[0] for moments in entered(replay.scratch, "news").values()} == {at(1, 0)}
    assert {len(moments) for moments in entered(replay.scratch, "news").values()} == {2}
    o = TABLES.outbox
    with replay.scratch.connect() as conn:
        query = select(o.c.customer_id, o.c.created_at).where(o.c.node_id == "notice")
        sends = {cid: moment.astimezone(at(1).tzinfo) for cid, moment in conn.execute(query)}
    # The last tick is the window's last instant, so the evening order is served within the window.
    assert sends == {"first": at(1, 0), "evening": at(3, 0) - INSTANT}


def test_the_tick_grid_is_the_shops_clock_not_the_start_time(tmp_path: Path) -> None:
    later = scenario("later", "order.placed", "  @later after 20m: send email notice")
    w = source(tmp_path, {"later": later})
    w.templates(template("notice", category="transactional"))
    w.customer("a")
    w.order("a", at(1, 10, 40))

    replay = simulate(w.engine, w.plan(), tmp_path / "sim.db", Window(at(1, 10, 30), at(2, 0), HOUR))

    o = TABLES.outbox
    with replay.scratch.connect() as conn:
        [sent] = conn.execute(select(o.c.created_at)).scalars()
    assert sent.astimezone(at(1).tzinfo) == at(1, 11)  # due at 11:00, sent on the 11:00 tick, not at 11:30
    points = Grid.shop_clock(at(1, 10, 30), at(2, 0), HOUR, "Asia/Tokyo").points()
    assert points[:3] == [at(1, 10, 30), at(1, 11), at(1, 12)]
    assert points[-2:] == [at(1, 23), at(2, 0) - INSTANT]
    assert replay.grid_points == len(points) == 15
    quarter = Grid.shop_clock(at(1, 10, 7), at(1, 11), dt.timedelta(minutes=15), "Asia/Tokyo").points()
    assert quarter == [at(1, 10, 7), at(1, 10, 15), at(1, 10, 30), at(1, 10, 45), at(1, 11) - INSTANT]


def stored_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    """A table's rows as SQLite stores them (text, not parsed values), in row order."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()


def schema(path: Path) -> set[tuple[str, str, str]]:
    with closing(sqlite3.connect(path)) as conn:
        return set(conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall())


def test_the_bulk_copy_replays_exactly_as_a_copy_logged_row_by_row(tmp_path: Path) -> None:
    # A window that reaches before the replay's start (surveys leaving it start a match), a goal, a stop rule on
    # an event, customers without a sign-up time, tags and order items: every kind of row the log holds.
    quiet = "customer.order_count >= 1 and count(survey.answered, 3d) == 0"
    w = source(
        tmp_path,
        {
            "follow_up": FOLLOW_UP,
            "calm": scenario("calm", "segment quiet_ones", "  @hello send email mail", "  reentry always"),
            "survey": scenario("survey", "order.placed", SURVEY_BODY, "  stop on message.clicked\n  reentry always"),
        },
        segments={"quiet_ones": quiet},
    )
    for i in range(40):
        cid = f"顧客{i:02d}"
        w.customer(cid, signed_up_at=None if i % 5 == 0 else at(1 + i % 3, 9, month=2))
        order = w.order(cid, at(1 + i % 25, 8 + i % 11, 7 * i % 60))
        with w.engine.begin() as conn:
            conn.execute(insert(TABLES.order_items).values(order_id=order, sku=f"S{i % 4}", price=5000))
            if i % 6 == 0:
                conn.execute(insert(TABLES.customer_tags).values(customer_id=cid, tag="vip"))
        if i % 3 == 0:
            w.order(cid, at(8 + i % 9, 13, 30))
        if i % 2 == 0:
            w.event(cid, "survey.answered", at(6 + i % 12, 20, 15), satisfaction=i % 5)
        if i % 7 == 0:
            w.event(cid, "message.clicked", at(11 + i % 5, 12), channel="email")
    plan = w.plan()
    window = Window(at(10, 0), at(24, 0))
    assert w.engine.url.database
    file = Path(w.engine.url.database)
    # The same file through an engine without a path: copied row by row, the log written by its triggers.
    by_row = create_engine("sqlite://", creator=lambda: sqlite3.connect(file))

    old = simulate(by_row, plan, tmp_path / "by_row.db", window)
    new = simulate(w.engine, plan, tmp_path / "bulk.db", window)

    # The bulk copy logs less: nothing before the plan's longest window (3d) ahead of the start.
    assert len(stored_rows(tmp_path / "bulk.db", "customer_changes")) < len(
        stored_rows(tmp_path / "by_row.db", "customer_changes")
    )
    assert old.ticks == new.ticks
    for table in ("decisions", "enrollments", "outbox", "segment_members"):
        rows = stored_rows(tmp_path / "bulk.db", table)
        assert rows == stored_rows(tmp_path / "by_row.db", table), table
    assert len(stored_rows(tmp_path / "bulk.db", "decisions")) > 50
    assert set(entered(new.scratch, "calm")) and set(entered(new.scratch, "follow_up"))
    assert {"converted", "exited"} <= {r[7] for r in stored_rows(tmp_path / "bulk.db", "decisions")}  # goal, stop
    assert schema(tmp_path / "bulk.db") == schema(tmp_path / "by_row.db")
    with closing(sqlite3.connect(tmp_path / "bulk.db")) as conn:  # loaded with the journal in memory, then back
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_failed_copy_leaves_the_scratch_schema_as_it_was(tmp_path: Path) -> None:
    w = source(tmp_path, {"follow_up": FOLLOW_UP})
    w.customer("a")
    w.order("a", at(1, 10))
    scratch = open_scratch(tmp_path / "s.db")
    before = schema(tmp_path / "s.db")
    with scratch.begin() as conn:  # a row the copy collides with
        conn.execute(insert(TABLES.customers).values(id="a", attributes={}))
    assert w.engine.url.database

    with pytest.raises(IntegrityError):
        _attach_copy(Path(w.engine.url.database), scratch, lambda _: None)

    assert schema(tmp_path / "s.db") == before
    assert stored_rows(tmp_path / "s.db", "orders") == []


def test_the_log_reaches_back_by_the_plans_longest_window(tmp_path: Path) -> None:
    segments = {"quiet": "count(survey.answered, 3d) == 0 and not opened(email, 30d)", "all": 'customer.id != ""'}
    w = source(tmp_path, {"calm": scenario("calm", "segment quiet", "  send email mail")}, segments)
    assert log_since(w.plan(), at(10, 0)) == at(10, 0) - dt.timedelta(days=30)
    # Any window of the plan counts, the readers' (segment triggers) and others (a guard): more is never wrong.
    guarded = scenario("news", "segment all", "  @news if not clicked(line, 7d): send email mail")
    assert log_since(source(tmp_path / "g", {"news": guarded}, segments).plan(), at(10, 0)) == at(3, 0)
    bare = source(tmp_path / "bare", {"follow_up": FOLLOW_UP})
    assert log_since(bare.plan(), at(10, 0)) == at(10, 0)
