"""``ecrm lint --store``: W530 warns, at the template that draws from it, of a coupon pool that a replay of the
store's recent weeks would use up within four weeks; the store is only read."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ecrm_dsl.cli import cli
from ecrm_dsl.store import coupons
from tests.runtime.adversarial_helpers import at
from tests.runtime.test_coupons import coupons_world
from tests.runtime.world import World

NOW = at(14, 0).isoformat()


def shop(tmp_path: Path, codes: int, buyers: int) -> World:
    """A project whose F2 coupon draws from pool f2_spring (``codes`` of them), and ``buyers`` first orders in
    the week before NOW."""
    w = coupons_world(tmp_path, "pool,code\n" + "".join(f"f2_spring,S-{n}\n" for n in range(codes)))
    for index in range(buyers):
        w.customer(f"c{index}")
        w.order(f"c{index}", at(7 + index % 6, 10))
    return w


def lint(w: World, *extra: str) -> tuple[int, str, str]:
    config = str(w.root / "project" / "ecrm.toml")
    args = ["--config", config, "lint", "--store", w.store, "--now", NOW, "--replay", "1w", *extra]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stdout, result.stderr


def coupon_line(w: World) -> int:
    """The line of ``coupon:`` in the template file that draws from the pool."""
    lines = (w.root / "project" / "templates" / "f2_coupon.yaml").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith("coupon:"))


def test_a_pool_that_would_run_out_is_a_warning_at_the_template_that_draws_from_it(tmp_path: Path) -> None:
    w = shop(tmp_path, codes=4, buyers=6)

    code, out, err = lint(w, "--format", "json")

    assert code == 1, err
    [finding] = json.loads(out)["findings"]
    assert finding["code"] == "W530" and finding["severity"] == "warning"
    assert finding["file"].endswith("templates/f2_coupon.yaml") and finding["line"] == coupon_line(w)
    # The replayed week drew the 4 codes and 2 sends found none: 6 wanted a week; the store's 4 codes last 0.7.
    message = "coupon pool 'f2_spring' lasts about 0.7 weeks: 4 usable codes, and the scenarios want ~6 a week"
    assert message in finding["message"]
    assert "2 sends in the replay found none left" in finding["message"]
    assert "ecrm import coupons" in finding["hint"]
    with w.engine.connect() as conn:  # the store was only read: no code was given by the replay
        assert [(s.given, s.usable) for s in coupons.stock(conn, at(14, 0))] == [(0, 4)]


def test_a_pool_with_codes_for_months_is_not_flagged(tmp_path: Path) -> None:
    w = shop(tmp_path, codes=40, buyers=6)  # ~6 a week: 40 codes last about 6.7 weeks

    code, out, err = lint(w)

    assert code == 0, out + err
    assert "W530" not in out


def test_the_rule_can_be_switched_off_like_any_other(tmp_path: Path) -> None:
    w = shop(tmp_path, codes=0, buyers=6)

    code, out, _ = lint(w)
    assert code == 1 and "coupon pool 'f2_spring' has no usable code, and the scenarios want ~6 a week" in out
    code, out, _ = lint(w, "--ignore", "W530")
    assert code == 0 and "W530" not in out


def test_a_project_with_errors_is_not_replayed(tmp_path: Path) -> None:
    w = shop(tmp_path, codes=2, buyers=6)
    flow = w.root / "project" / "scenarios" / "f2.ecrm"
    flow.write_text(flow.read_text(encoding="utf-8").replace("send email plain", "send email nowhere"), "utf-8")

    code, out, err = lint(w)

    assert code == 1 and "E202" in out and "W530" not in out
    assert "the store checks need a plan; fix the errors first" in err


def test_a_missing_store_or_a_bad_replay_span_is_a_usage_error(tmp_path: Path) -> None:
    w = shop(tmp_path, codes=2, buyers=1)
    config = str(w.root / "project" / "ecrm.toml")

    missing = CliRunner().invoke(cli, ["--config", config, "lint", "--store", str(tmp_path / "typo.db")])
    assert missing.exit_code == 2 and "does not exist (nothing was created)" in missing.stderr
    assert not (tmp_path / "typo.db").exists()
    bad = CliRunner().invoke(cli, ["--config", config, "lint", "--store", w.store, "--replay", "soon"])
    assert bad.exit_code == 2 and "--replay" in bad.stderr and "Traceback" not in bad.output
