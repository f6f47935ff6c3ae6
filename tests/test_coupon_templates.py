"""A template that draws coupons: checked by lint with positions, carried in the plan only where declared, and
the store revision that holds the codes (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from ecrm_dsl.build.compiler import compile_workspace
from ecrm_dsl.plan.hashing import content_hash
from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import lint
from ecrm_dsl.store import revisions
from ecrm_dsl.store.database import connect, open_store
from tests.runtime.adversarial_helpers import scenario
from tests.runtime.world import World, template

FLOW = scenario("f2", "order.placed", "  after 1h: send email coupon_mail\n  after 1d: send email plain")


def project(tmp_path: Path, coupon_mail: str) -> Path:
    w = World(tmp_path / "w")
    w.write("scenarios/f2.ecrm", FLOW)
    w.write("templates/coupon_mail.yaml", coupon_mail)
    w.templates(template("plain", channels=("email",)))
    w.engine.dispose()
    return w.root / "project" / "ecrm.toml"


def findings(config: Path) -> list[str]:
    return [
        f"{d.code} {d.span.line}:{d.span.column} {d.message} — {d.hint}" for d in lint(load_config(config)).diagnostics
    ]


def mail(head: str, body: str) -> str:
    return f"template: coupon_mail\ncategory: marketing\n{head}channels:\n  email:\n    subject: s\n    body: {body}\n"


def test_coupon_placeholders_need_a_pool(tmp_path: Path) -> None:
    config = project(tmp_path, mail("", '"コード {{ coupon.code }} {{ unsubscribe_url }}"'))
    [problem] = [f for f in findings(config) if f.startswith("E503")]
    assert problem.startswith("E503 6:16 placeholder {{ coupon.code }}: 'coupon_mail' draws no coupon")
    assert "add coupon: {pool: NAME}" in problem


def test_a_pool_with_a_validity_of_days_or_weeks_only(tmp_path: Path) -> None:
    body = '"{{ coupon.code }} {{ coupon.expires_on }} {{ unsubscribe_url }}"'
    good = project(tmp_path / "good", mail("coupon: {pool: f2_spring, valid_for: 2w}\n", body))
    assert not [f for f in findings(good) if f.startswith("E")]
    bad = project(tmp_path / "bad", mail("coupon: {pool: f2_spring, valid_for: 36h}\n", body))
    [problem] = [f for f in findings(bad) if f.startswith("E100")]
    assert problem.startswith("E100 3:38 coupon.valid_for: '36h'") and "days (up to 999d) or weeks" in problem


def test_the_plan_carries_the_pool_and_other_templates_keep_their_bytes(tmp_path: Path) -> None:
    body = '"{{ coupon.code }} {{ unsubscribe_url }}"'
    config = project(tmp_path, mail("coupon: {pool: f2_spring, valid_for: 7d}\n", body))
    plan = compile_workspace(lint(load_config(config)).workspace)[0]
    coupon_mail, plain = plan["templates"]["coupon_mail"], plan["templates"]["plain"]
    assert coupon_mail["coupon"] == {"pool": "f2_spring", "valid_for_seconds": 7 * 86400}
    assert "coupon" not in plain
    # A template without a pool hashes exactly as before pools existed: deployed stores see no change.
    assert plain["hash"] == content_hash({"channels": plain["content"], "category": plain["category"]})
    assert coupon_mail["hash"] != content_hash({"channels": coupon_mail["content"], "category": "marketing"})


def test_a_store_at_0003_gets_the_coupons_table(store_url: str) -> None:
    engine = open_store(store_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE coupons"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    assert revisions.upgrade(connect(store_url)).current == "0003"
    found = inspect(connect(store_url))
    assert {c["name"] for c in found.get_columns("coupons")} == {
        *("pool", "code", "expires_at", "customer_id", "enrollment_id", "assigned_at")
    }
    assert revisions.revision(engine).current == revisions.head()
