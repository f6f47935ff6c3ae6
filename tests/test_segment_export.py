"""``ecrm segment export`` on a real store (SQLite and PostgreSQL): members equal a Python evaluation of the same
condition as of the moment, the order figures count only the orders placed by then, contact details are masked
unless asked for, and the command's errors are sentences with the documented exit statuses."""

from __future__ import annotations

import csv
import io
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert

from ecrm_dsl.conditions.evaluate import evaluate, load_snapshots
from ecrm_dsl.conditions.normal import Normal, Types, normalise
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.segment_export import segment_members
from ecrm_dsl.store.tables import TABLES
from ecrm_dsl.syntax.text import parse_condition

JST = ZoneInfo("Asia/Tokyo")
START = datetime(2024, 1, 1, tzinfo=JST)
AT = datetime(2025, 6, 1, 10, 0, tzinfo=JST)
PERSONAS = ["student", "parenting", "single_worker", None]
NAMES = ["山田 花子", "佐藤 太郎", "鈴木 一郎", "高橋 美咲", "伊藤 蓮"]
SEGMENTS = {
    "repeaters": "customer.order_count >= 2",
    "dormant": "customer.order_count >= 1 and customer.days_since_last_order between 60 and 364",
    "vip_big": 'has_tag("vip") or customer.total_spent >= 30000円',
    "dormant_students": 'in_segment(dormant) and customer.persona == "student"',
    "nobody_yet": "customer.order_count == 0",
}


def condition(text: str) -> Normal:
    expr, findings = parse_condition(text, "<test>")
    assert not findings, findings
    return normalise(expr)


def fill(engine: Engine, seed: int = 12) -> None:
    """Customers with random histories around AT: orders before and after it, some signed up after it."""
    rng = random.Random(seed)
    customers, orders, tags = [], [], []
    for n in range(80):
        cid = f"C{n:03d}"
        signed_up = START + timedelta(days=rng.randrange(0, 560), minutes=rng.randrange(1440))
        customers.append(
            {
                "id": cid,
                "name": rng.choice(NAMES),
                "email": f"{cid.lower()}@example.jp",
                "phone": rng.choice(["090-1234-5678", None]),
                "line_user_id": rng.choice([f"U{n:032x}", None]),
                "postal_address": "東京都渋谷区神南1-2-3",
                "persona": rng.choice(PERSONAS),
                "entry_channel": rng.choice(["ad_lp", "organic_search", "sns"]),
                "signed_up_at": signed_up if n % 9 else None,  # an imported list has no sign-up time
                "email_opt_in": rng.random() < 0.7,
                "attributes": {"skin_type": rng.choice(["dry", "oily"])},
            }
        )
        if rng.random() < 0.2:
            tags.append({"customer_id": cid, "tag": "vip"})
        moment = signed_up
        for k in range(rng.choice([0, 1, 1, 2, 3, 5])):
            moment += timedelta(days=rng.randrange(1, 200), minutes=rng.randrange(1440))
            amount = rng.choice([2480, 3980, 9920, 15800])
            orders.append({"id": f"{cid}-{k}", "customer_id": cid, "ordered_at": moment, "amount": amount})
    with engine.begin() as conn:
        conn.execute(insert(TABLES.customers), customers)
        conn.execute(insert(TABLES.orders), orders)
        conn.execute(insert(TABLES.customer_tags), tags)


@pytest.fixture
def engine(store_url: str) -> Engine:
    made = open_store(store_url)
    fill(made)
    return made


@pytest.mark.parametrize("at", [AT, AT - timedelta(days=200), datetime(2025, 12, 31, 23, 59, tzinfo=JST)])
def test_members_are_who_the_condition_holds_for_as_of_the_moment(engine: Engine, at: datetime) -> None:
    segments = {name: condition(text) for name, text in SEGMENTS.items()}
    types = Types({"skin_type": "string"})
    found: dict[str, int] = {}
    with engine.connect() as conn:
        snapshots = load_snapshots(conn)
        for name, normal in segments.items():
            members = segment_members(conn, normal, at=at, timezone="Asia/Tokyo", segments=segments, types=types)
            known = [
                s for s in snapshots.values() if s.fields["signed_up_at"] is None or s.fields["signed_up_at"] <= at
            ]
            expected = sorted(
                s.id
                for s in known
                if evaluate(normal, s, now=at, timezone="Asia/Tokyo", segments=segments, types=types)
            )
            assert [m.id for m in members] == expected, name
            for member in members:
                placed = [o for o in snapshots[member.id].orders if o.ordered_at <= at]
                assert member.order_count == len(placed)
                assert member.total_spent == sum(o.amount for o in placed)
                assert member.last_order_at == max((o.ordered_at for o in placed), default=None)
            found[name] = len(members)
    assert found["repeaters"] and found["dormant"]  # the data is not vacuous


def test_later_orders_and_later_customers_are_not_seen(store_url: str) -> None:
    engine = open_store(store_url)
    before, after = AT - timedelta(days=1), AT + timedelta(minutes=1)
    with engine.begin() as conn:
        conn.execute(
            insert(TABLES.customers),
            [
                {"id": "early", "signed_up_at": before, "attributes": {}},
                {"id": "late", "signed_up_at": after, "attributes": {}},
            ],
        )
        conn.execute(
            insert(TABLES.orders),
            [
                {"id": "e1", "customer_id": "early", "ordered_at": before, "amount": 1000},
                {"id": "e2", "customer_id": "early", "ordered_at": after, "amount": 5000},
                {"id": "l1", "customer_id": "late", "ordered_at": after, "amount": 1000},
            ],
        )
    with engine.connect() as conn:
        once = condition("customer.order_count == 1")
        [member] = segment_members(conn, once, at=AT, timezone="Asia/Tokyo", segments={}, types=Types())
        assert (member.id, member.order_count, member.total_spent) == ("early", 1, 1000)
        assert member.last_order_at == before.astimezone(UTC)
        later = segment_members(
            conn, once, at=after + timedelta(days=1), timezone="Asia/Tokyo", segments={}, types=Types()
        )
        assert [m.id for m in later] == ["late"]  # "early" has two orders by then


# --------------------------------------------------------------------------- the command, in a fresh process


def ecrm(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ECRM_")}
    return subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", *args], cwd=cwd, env=clean, capture_output=True, timeout=120, check=False
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert ecrm(tmp_path, "init", "shop").returncode == 0
    root = tmp_path / "shop"
    for name, text in SEGMENTS.items():
        (root / "segments" / f"{name}.yaml").write_text(f"segment: {name}\nwhere: '{text}'\n", encoding="utf-8")
    schema = root / "customer_schema.yaml"  # the starter's declares attributes: add one more
    text = schema.read_text(encoding="utf-8")
    schema.write_text(text.replace("attributes:", "attributes:\n  skin_type: {type: string}", 1), encoding="utf-8")
    fill(open_store(root / "ecrm.db"))
    return root


def rows(output: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(output.decode("utf-8"))))


def test_export_lists_the_members_with_contacts_masked(project: Path) -> None:
    done = ecrm(project, "segment", "export", "repeaters", "--at", "2025-06-01T10:00")
    assert done.returncode == 0, done.stderr.decode()
    listed = rows(done.stdout)
    with open_store(project / "ecrm.db").connect() as conn:
        expected = segment_members(
            conn, condition(SEGMENTS["repeaters"]), at=AT, timezone="Asia/Tokyo", segments={}, types=Types()
        )
    assert [r["customer_id"] for r in listed] == [m.id for m in expected] and listed
    assert {r["name"] for r in listed} <= set(NAMES)  # Japanese intact
    assert all(r["email"] == "***" and r["postal_address"] == "***" for r in listed)
    assert {r["line_user_id"] for r in listed} <= {"***", ""}  # a missing LINE id stays visibly missing
    assert all(int(r["order_count"]) >= 2 for r in listed)
    assert listed[0]["skin_type"] in ("dry", "oily")
    assert b"@example.jp" not in done.stdout
    assert f"{len(listed)} members of repeaters as of 2025-06-01 10:00 (Asia/Tokyo)" in done.stderr.decode()


def test_with_contacts_and_excel_output(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "members.csv"
    done = ecrm(project, "segment", "export", "vip_big", "--with-contacts", "--excel", "-o", str(out))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b""
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    listed = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert listed and all(r["email"] == f"{r['customer_id'].lower()}@example.jp" for r in listed)
    plain = ecrm(project, "segment", "export", "vip_big")
    assert not plain.stdout.startswith(b"\xef\xbb\xbf")


def test_the_moment_changes_who_is_listed(project: Path) -> None:
    early = rows(ecrm(project, "segment", "export", "repeaters", "--at", "2024-06-01").stdout)
    late = rows(ecrm(project, "segment", "export", "repeaters", "--at", "2025-12-31T23:00+09:00").stdout)
    assert len(early) < len(late)


def test_errors_are_sentences_with_their_exit_status(project: Path) -> None:
    unknown = ecrm(project, "segment", "export", "repeater")
    assert unknown.returncode == 1
    assert "no segment named repeater in segments/; did you mean repeaters?" in unknown.stderr.decode()
    assert unknown.stdout == b""
    bad_time = ecrm(project, "segment", "export", "repeaters", "--at", "来週")
    assert bad_time.returncode == 2 and "is not a day or time" in bad_time.stderr.decode()
    (project / "ecrm.db").rename(project / "elsewhere.db")
    missing = ecrm(project, "segment", "export", "repeaters")
    assert missing.returncode == 2 and "does not exist" in missing.stderr.decode()
    (project / "segments" / "broken.yaml").write_text("segment: broken\nwhere: customer.ordr_count >= 1\n")
    broken = ecrm(project, "segment", "export", "repeaters", "--store", str(project / "elsewhere.db"))
    assert broken.returncode == 1 and "segments/broken.yaml:2" in broken.stderr.decode()
    assert "Traceback" not in broken.stderr.decode()


def test_export_reads_the_store_it_is_given_on_each_backend(project: Path, store_url: str) -> None:
    fill(open_store(store_url), seed=99)  # other customers than the project's own ecrm.db
    given = rows(
        ecrm(project, "segment", "export", "repeaters", "--at", "2025-06-01T10:00", "--store", store_url).stdout
    )
    with open_store(store_url).connect() as conn:
        expected = segment_members(
            conn, condition(SEGMENTS["repeaters"]), at=AT, timezone="Asia/Tokyo", segments={}, types=Types()
        )
    assert [r["customer_id"] for r in given] == [m.id for m in expected]
    assert [int(r["total_spent"]) for r in given] == [m.total_spent for m in expected]
    default = rows(ecrm(project, "segment", "export", "repeaters", "--at", "2025-06-01T10:00").stdout)
    assert [r["total_spent"] for r in default] != [r["total_spent"] for r in given]
