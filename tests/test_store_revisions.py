"""Schema revisions (Alembic) on SQLite and PostgreSQL: new stores at head, a store of the previous release adopted
by `ecrm store upgrade` with its data kept, and every command refusing a store at another revision (exit 2)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, insert, inspect, select, text

from ecrm_dsl.store import changes, revisions
from ecrm_dsl.store.database import connect, open_store, store_url
from ecrm_dsl.store.revisions import UNVERSIONED, StoreSchemaError
from ecrm_dsl.store.tables import TABLES

T = TABLES
ORDERED = dt.datetime(2025, 3, 2, 3, tzinfo=dt.UTC)


def ecrm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from ecrm_dsl.cli import main; main()", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def previous_release_store(url: str, *, with_log: bool) -> None:
    """A store as ecrm-dsl made it before schema revisions (its open_store: create_all, then the change log's
    triggers), or before the change log (``with_log=False``), with a customer, an order and an event in it."""
    engine = create_engine(url)
    tables = [t for t in T.metadata.sorted_tables if with_log or t is not T.customer_changes]
    T.metadata.create_all(engine, tables=tables)
    with engine.begin() as conn:
        if with_log:
            changes.install(conn)
        conn.execute(insert(T.customers).values(id="顧客1", name="山田花子", attributes={"rank": "gold"}))
        conn.execute(insert(T.orders).values(id="o1", customer_id="顧客1", ordered_at=ORDERED, amount=3980))
        conn.execute(insert(T.events).values(customer_id="顧客1", type="x", occurred_at=ORDERED, properties={}))
    engine.dispose()


def log(engine: Engine) -> list[tuple[str, dt.datetime | None]]:
    c = T.customer_changes.c
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(c.customer_id, c.effective_at).order_by(c.seq))]  # type: ignore[misc]


def test_a_new_store_is_created_at_the_head_revision(store_url: str) -> None:
    engine = open_store(store_url)
    assert revisions.revision(engine) == revisions.Revision(revisions.head(), revisions.head())
    assert set(T.metadata.tables) <= set(inspect(engine).get_table_names())
    with engine.begin() as conn:  # the change log's triggers are there
        conn.execute(insert(T.customers).values(id="c"))
    assert log(engine) == [("c", None)]


def test_the_baseline_makes_the_schema_tables_py_describes(store_url: str, tmp_path: Path) -> None:
    """The baseline revision is a frozen copy of tables.py: they must describe the same tables and indexes."""
    engine = open_store(store_url)
    found = inspect(engine)
    for table in T.metadata.sorted_tables:
        columns = {c["name"]: c["nullable"] for c in found.get_columns(table.name)}
        assert columns == {c.name: c.nullable for c in table.columns}, table.name
        indexes = {i["name"] for i in found.get_indexes(table.name)}
        assert {i.name for i in table.indexes} <= indexes, table.name


@pytest.mark.parametrize("with_log", [True, False], ids=["with-log", "before-log"])
def test_a_previous_release_store_is_refused_then_upgraded_with_its_data(store_url: str, with_log: bool) -> None:
    previous_release_store(store_url, with_log=with_log)
    with pytest.raises(StoreSchemaError, match=r"older than this ecrm-dsl .*run `ecrm store upgrade`"):
        open_store(store_url)
    engine = connect(store_url)
    assert revisions.revision(engine).current == UNVERSIONED
    assert revisions.upgrade(engine).current == UNVERSIONED
    engine = open_store(store_url)  # now accepted
    with engine.connect() as conn:
        customer = conn.execute(select(T.customers.c.name, T.customers.c.attributes)).one()
        order = conn.execute(select(T.orders.c.id, T.orders.c.ordered_at, T.orders.c.amount)).one()
    assert tuple(customer) == ("山田花子", {"rank": "gold"})
    assert tuple(order) == ("o1", ORDERED, 3980)
    # A store whose log is new has its history logged once (its windows look back at it); one that had the log
    # keeps what it had.
    history = [] if with_log else [("顧客1", ORDERED), ("顧客1", ORDERED)]
    initial = [("顧客1", None), ("顧客1", ORDERED), ("顧客1", ORDERED)] if with_log else []
    assert log(engine) == initial + history
    with engine.begin() as conn:
        conn.execute(insert(T.customer_tags).values(customer_id="顧客1", tag="vip"))
    assert log(engine)[-1] == ("顧客1", None)  # the triggers feed it
    assert revisions.upgrade(engine).current == revisions.head()  # a second upgrade changes nothing
    assert log(engine)[: len(initial + history)] == initial + history


def test_a_store_upgraded_by_a_newer_release_is_refused(store_url: str) -> None:
    engine = open_store(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreSchemaError, match=r"upgraded by a newer ecrm-dsl .*upgrade ecrm-dsl"):
        open_store(store_url)
    with pytest.raises(StoreSchemaError, match="newer ecrm-dsl"):
        revisions.upgrade(connect(store_url))


def test_commands_refuse_another_revision_with_exit_2_and_store_upgrade_fixes_it(
    store_url: str, tmp_path: Path
) -> None:
    previous_release_store(store_url, with_log=True)
    for command in (["status"], ["explain", "顧客1"], ["run", "--once"], ["report"]):
        done = ecrm(*command, "--store", store_url, cwd=tmp_path)
        assert done.returncode == 2, (command, done.stderr)
        assert "run `ecrm store upgrade` first" in done.stderr and "Traceback" not in done.stderr, command
    done = ecrm("store", "version", "--store", store_url, cwd=tmp_path)
    assert done.returncode == 1 and "revision: made before schema revisions" in done.stdout
    done = ecrm("store", "upgrade", "--store", store_url, cwd=tmp_path)
    assert done.returncode == 0 and f"to revision {revisions.head()}" in done.stdout, done.stderr
    done = ecrm("store", "version", "--store", store_url, cwd=tmp_path)
    assert done.returncode == 0 and f"revision: {revisions.head()}" in done.stdout
    done = ecrm("store", "upgrade", "--store", store_url, cwd=tmp_path)
    assert done.returncode == 0 and "already at revision" in done.stdout


def test_store_commands_name_a_missing_store_and_hide_passwords(tmp_path: Path) -> None:
    done = ecrm("store", "upgrade", "--store", str(tmp_path / "typo.db"), cwd=tmp_path)
    assert done.returncode == 2 and "no store at" in done.stderr and not (tmp_path / "typo.db").exists()
    done = ecrm("store", "version", "--store", "postgresql+psycopg://shop:s3cret@127.0.0.1:1/x", cwd=tmp_path)
    assert done.returncode == 2 and "cannot read the store" in done.stderr
    assert "s3cret" not in done.stdout + done.stderr and "shop:***@" in done.stderr


def test_processes_opening_one_new_store_together_create_it_once(store_url: str, tmp_path: Path) -> None:
    script = "import sys; from ecrm_dsl.store.database import open_store; open_store(sys.argv[1]).dispose()"
    starts = [
        subprocess.Popen([sys.executable, "-c", script, store_url], stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in starts]
    assert [p.returncode for p in starts] == [0] * 4, errors
    engine = open_store(store_url)
    assert revisions.revision(engine).current == revisions.head()


def test_a_postgresql_url_without_a_driver_uses_psycopg(postgres_url: str) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgres://")
    assert store_url(plain) == postgres_url
    engine = open_store(plain)
    assert engine.dialect.driver == "psycopg" and revisions.revision(engine).current == revisions.head()
    assert store_url("sqlite:///x.db") == "sqlite:///x.db"


def test_without_the_driver_a_postgresql_store_says_which_extra_to_install(tmp_path: Path) -> None:
    blocked = "import sys; sys.modules['psycopg'] = None; from ecrm_dsl.cli import main; main()"  # not installed
    for command in (["status"], ["store", "version"]):
        args = [*command, "--store", "postgresql://shop:s3cret@127.0.0.1:1/x"]
        done = subprocess.run([sys.executable, "-c", blocked, *args], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 2, done.stderr
        assert "needs its driver" in done.stderr and "pip install 'ecrm-dsl[postgres]'" in done.stderr
        assert "s3cret" not in done.stderr and "Traceback" not in done.stderr
