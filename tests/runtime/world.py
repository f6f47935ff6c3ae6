"""A small real world for runtime tests: a project compiled through the real pipeline, a store (a SQLite file,
or a PostgreSQL database: see :func:`new_store`), and helpers to add customers, orders and events and to run
ticks on a simulated clock (times in JST)."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select

from ecrm_dsl.build.compiler import compile_workspace
from ecrm_dsl.language.diagnostics import Severity
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import lint
from ecrm_dsl.runtime.deploy import deploy
from ecrm_dsl.runtime.scheduler import Scheduler, TickReport
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES

JST = dt.timezone(dt.timedelta(hours=9))

SCHEMA = """customer_schema: test_shop
attributes:
  rank: {type: string, values: [bronze, silver, gold]}
"""
POLICIES = """timezone: Asia/Tokyo
quiet_hours: {start: "21:00", end: "09:00"}
calendar: {holidays: japan, weekends: [saturday, sunday]}
frequency_caps:
  - {channel: all, max: 3, per: 1d, on_exceed: defer}
consent:
  email: {attribute: customer.email_opt_in}
  line: {attribute: customer.line_opt_in}
  sms: {attribute: customer.sms_opt_in}
  dm: {attribute: customer.dm_opt_in}
  insert: {implied: true}
"""


def template(
    name: str, category: str = "marketing", channels: tuple[str, ...] = ("email", "line"), params: tuple[str, ...] = ()
) -> str:
    lines = [f"template: {name}", f"category: {category}"]
    if params:
        lines.append("params:")
        lines += [f"  {p}: {{type: string}}" for p in params]
    lines.append("channels:")
    for channel in channels:
        if channel == "email":
            unsubscribe = " {{ unsubscribe_url }}" if category == "marketing" else ""
            lines += [
                "  email:",
                f"    subject: {name}の件名",
                f'    body: "{{{{ customer.name }}}}様 {name}{unsubscribe}"',
            ]
        elif channel in ("line", "sms"):
            lines += [f"  {channel}:", f'    text: "{{{{ customer.name }}}}様 {name}"']
        elif channel in ("dm", "insert"):
            lines += [f"  {channel}:", f"    design: {name}_design", f"    copy: {name}のコピー"]
    return "\n".join(lines) + "\n"


def new_store(root: Path) -> str | Path:
    """Where a new world keeps its store: a SQLite file in its folder. The ``world_backend`` fixture
    (tests/conftest.py) replaces this with a fresh PostgreSQL database for a test's postgresql run."""
    return root / "store.db"


class World:
    def __init__(self, root: Path, store: str | None = None):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = open_store(store if store is not None else new_store(root))
        self.scheduler = Scheduler(self.engine)
        self._ids = itertools.count(1)
        (root / "project" / "scenarios").mkdir(parents=True)
        (root / "project" / "segments").mkdir()
        (root / "project" / "templates").mkdir()
        (root / "project" / "ecrm.toml").write_text("", encoding="utf-8")
        self.write("customer_schema.yaml", SCHEMA)
        self.write("policies.yaml", POLICIES)

    @property
    def store(self) -> str:
        """The store's location for ``--store``."""
        return self.engine.url.render_as_string(hide_password=False)

    def write(self, relative: str, text: str) -> None:
        path = self.root / "project" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def templates(self, *texts: str) -> None:
        for text in texts:
            name = text.split("\n", 1)[0].split(": ", 1)[1]
            self.write(f"templates/{name}.yaml", text)

    def compile(self) -> dict[str, Any]:
        result = lint(load_config(self.root / "project" / "ecrm.toml"))
        errors = [d for d in result.diagnostics if d.effective_severity == Severity.ERROR]
        assert not errors, [f"{d.span}: {d.message}" for d in errors]
        return compile_workspace(result.workspace)[0]

    def plan(self) -> Plan:
        """The compiled project as the runtime takes it."""
        return Plan.from_json(self.compile())

    def deploy(self, at: dt.datetime, **options: Any) -> Any:
        return deploy(self.engine, self.plan(), at, **options)

    # ---- data
    def customer(self, cid: str, **fields: Any) -> str:
        row = {
            "id": cid,
            "name": f"顧客{cid}",
            "email": f"{cid}@example.jp",
            "line_user_id": f"U{cid}",
            "phone": "09000000000",
            "postal_address": "東京都",
            "email_opt_in": True,
            "line_opt_in": True,
            "sms_opt_in": True,
            "dm_opt_in": True,
            "attributes": {},
        }
        row.update(fields)
        with self.engine.begin() as conn:
            conn.execute(insert(TABLES.customers).values(**row))
        return cid

    def order(self, cid: str, at: dt.datetime, amount: int = 5000, **fields: Any) -> str:
        oid = fields.pop("order_id", f"o{next(self._ids)}")
        with self.engine.begin() as conn:
            conn.execute(insert(TABLES.orders).values(id=oid, customer_id=cid, ordered_at=at, amount=amount, **fields))
            props = {
                "order_id": oid,
                "amount": amount,
                "ordered_at": at.isoformat(),
                **{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in fields.items()},
            }
            conn.execute(
                insert(TABLES.events).values(customer_id=cid, type="order.placed", occurred_at=at, properties=props)
            )
        return oid

    def event(self, cid: str, type_: str, at: dt.datetime, **props: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(TABLES.events).values(customer_id=cid, type=type_, occurred_at=at, properties=props))

    def tick(self, at: dt.datetime) -> TickReport:
        return self.scheduler.tick(at)

    def ticks(self, start: dt.datetime, end: dt.datetime, every: dt.timedelta = dt.timedelta(hours=1)) -> None:
        moment = start
        while moment <= end:
            self.tick(moment)
            moment += every

    # ---- observations
    def sends(self, cid: str | None = None) -> list[tuple[str, str, str, dt.datetime]]:
        """(customer, step, channel, decided at JST) of every outbox row, in order."""
        o = TABLES.outbox
        query = select(o.c.customer_id, o.c.node_id, o.c.channel, o.c.created_at).order_by(o.c.created_at, o.c.id)
        if cid is not None:
            query = query.where(o.c.customer_id == cid)
        with self.engine.connect() as conn:
            return [(r.customer_id, r.node_id, r.channel, r.created_at.astimezone(JST)) for r in conn.execute(query)]

    def decisions(self, cid: str, kind: str | None = None) -> list[dict[str, Any]]:
        d = TABLES.decisions
        query = select(d).where(d.c.customer_id == cid).order_by(d.c.at, d.c.id)
        if kind is not None:
            query = query.where(d.c.kind == kind)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def enrollment_status(self, cid: str) -> list[str]:
        e = TABLES.enrollments
        with self.engine.connect() as conn:
            return list(conn.execute(select(e.c.status).where(e.c.customer_id == cid).order_by(e.c.id)).scalars())

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(TABLES.metadata.tables[table])).scalar_one())
