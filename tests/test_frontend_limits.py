"""A front end that never breaks: each input that once ended in "internal error", a traceback, a long parse or a
leak ends in one positioned finding with a rule code and a hint, through the real command line.

Every test starts from a project made by ``ecrm init`` and runs ``ecrm lint --format json`` in a new process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ecrm_dsl.language.diagnostics import RULES, DiagnosticError
from ecrm_dsl.language.values import MAX_DURATION_DAYS, MAX_INTEGER
from ecrm_dsl.syntax import limits
from ecrm_dsl.syntax.source import read_bounded, read_source

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
SCENARIO = "scenarios/f2_step_mail.ecrm"


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("starter")
    subprocess.run([sys.executable, "-m", "ecrm_dsl", "init", "shop"], cwd=folder, check=True, capture_output=True)
    return folder / "shop"


@pytest.fixture
def project(starter: Path, tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(starter, root)
    return root


def lint(root: Path) -> tuple[int, list[dict[str, Any]], str]:
    """Exit status, findings and the whole output of ``ecrm lint --format json`` run in ``root``."""
    env = {name: value for name, value in os.environ.items() if name != "ECRM_DEBUG"}
    result = subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", "lint", "--format", "json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, output[:2000]
    findings = json.loads(result.stdout)["findings"] if result.stdout.startswith("{") else []
    return result.returncode, findings, output


def config_error(root: Path) -> str:
    """The output of ``ecrm lint`` for a project whose configuration is refused (exit 2)."""
    env = {name: value for name, value in os.environ.items() if name != "ECRM_DEBUG"}
    result = subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", "lint"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, output[:2000]
    assert result.returncode == 2, output
    return output


def only(findings: list[dict[str, Any]], code: str, file: str | None = None) -> dict[str, Any]:
    """The one finding with ``code`` (in ``file``), checked to be positioned and to say how to fix it."""
    matching = [f for f in findings if f["code"] == code and (file is None or f["file"] == file)]
    assert len(matching) == 1, findings
    finding = matching[0]
    assert finding["line"] >= 1 and finding["column"] >= 1
    assert finding["hint"], finding
    return finding


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --------------------------------------------------------------------------- impossible dates


def test_impossible_date_in_a_condition(project: Path) -> None:
    replace_in(project / SCENARIO, "customer.order_count == 1", "customer.order_count == 1 and 2025-02-30 > 2025-01-01")
    status, findings, _ = lint(project)
    finding = only(findings, "E006", SCENARIO)
    assert status == 1
    assert (finding["line"], finding["column"]) == (6, 57)
    assert "'2025-02-30' is not a calendar date" in finding["message"]
    assert "February 2025 has 28 days" in finding["hint"]


def test_february_29_of_a_common_year_in_shop_holidays(project: Path) -> None:
    replace_in(project / "policies.yaml", "  weekends: [saturday, sunday]\n", "  shop_holidays: [2025-02-29]\n")
    status, findings, _ = lint(project)
    finding = only(findings, "E006", "policies.yaml")
    assert status == 1
    assert finding["line"] == 7 and finding["column"] == 19
    assert "(not a leap year)" in finding["hint"]


def test_a_duration_with_a_plus_sign(project: Path) -> None:
    """The schemas and the grammar allow '+7d'; the value parser refused it, and the policies crashed on it."""
    replace_in(project / "policies.yaml", "per: 7d", "per: +7d")
    replace_in(project / SCENARIO, "day 1 at 10:00:", "after +1d at 10:00:")
    status, findings, output = lint(project)
    assert (status, findings) == (0, []), output


def test_numbers_past_what_the_runtime_can_hold(project: Path) -> None:
    """A 10^20-day wait or a 20-digit number linted clean and compiled, then broke the scheduler's date
    arithmetic or the store's integer columns at the first tick."""
    replace_in(project / SCENARIO, "day 1 at 10:00:", "after 99999999999999999999d at 10:00:")
    replace_in(project / SCENARIO, "day 7 at", "day 99999 at")
    replace_in(project / SCENARIO, "customer.order_count == 1", "customer.order_count == 99999999999999999999")
    (project / "segments/big.yaml").write_text("segment: big\nwhere: customer.total_spent >= ¥99999999999999999999\n")
    status, findings, _ = lint(project)
    assert status == 1
    by_position = {(f["file"], f["line"], f["column"]): f for f in findings if f["code"] == "E006"}
    assert set(by_position) == {(SCENARIO, 6, 51), (SCENARIO, 10, 9), (SCENARIO, 11, 7), ("segments/big.yaml", 2, 32)}
    assert "longer than 3,660 days" in by_position[(SCENARIO, 10, 9)]["message"]
    assert all(f["hint"] for f in by_position.values())


# --------------------------------------------------------------------------- nesting


@pytest.mark.parametrize(
    ("file", "text"),
    [
        ("scenarios/deep.yaml", "scenario: deep\nkind: sell\nsteps: " + "[" * 500 + "]" * 500 + "\n"),
        ("segments/deep.yaml", "segment: deep\nwhere: " + "{a: " * 500 + "1" + "}" * 500 + "\n"),
        ("templates/deep.yaml", "template: deep\nchannels:\n" + "".join(" " * n + "a:\n" for n in range(1, 400))),
        ("customer_schema.yaml", "customer_schema: deep\nattributes: " + "[" * 900 + "]" * 900 + "\n"),
    ],
)
def test_yaml_nested_hundreds_of_levels(project: Path, file: str, text: str) -> None:
    (project / file).write_text(text, encoding="utf-8")
    status, findings, _ = lint(project)
    finding = only(findings, "E008", file)
    assert status == 1
    assert f"more than {limits.MAX_YAML_NESTING} levels" in finding["message"]


def test_yaml_nested_past_libyamls_own_limit(project: Path) -> None:
    (project / "policies.yaml").write_text("timezone: Asia/Tokyo\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    status, findings, _ = lint(project)
    only(findings, "E008", "policies.yaml")
    assert status == 1


def _nested_branches_text(depth: int) -> str:
    opening = "".join(f"  @b{i} if orders_since_entry == 0 {{\n" for i in range(depth))
    return (
        'scenario deep "深い分岐" {\n  kind nurture\n  when order.placed\n'
        + opening
        + "  send email thanks_first\n"
        + "  }\n" * depth
        + "}\n"
    )


def _nested_branches_yaml(depth: int) -> str:
    inner = "{send: {channel: email, template: thanks_first}}"
    for i in range(depth):
        inner = f"{{id: b{i}, branch: [{{if: orders_since_entry == 0, steps: [{inner}]}}]}}"
    return f"scenario: deep\nkind: nurture\ntrigger: {{event: order.placed}}\nsteps:\n- {inner}\n"


@pytest.mark.parametrize("syntax", ["ecrm", "yaml"])
@pytest.mark.parametrize("depth", [17, 110])
def test_nested_branch_steps(project: Path, syntax: str, depth: int) -> None:
    text = _nested_branches_text(depth) if syntax == "ecrm" else _nested_branches_yaml(depth)
    file = f"scenarios/deep.{syntax}"
    (project / file).write_text(text, encoding="utf-8")
    status, findings, _ = lint(project)
    finding = only(findings, "E008", file)
    assert status == 1
    if depth == 17:  # just past the limit: the same finding, at the same step, in both syntaxes
        assert finding["message"].startswith(f"steps are nested more than {limits.MAX_STEP_NESTING} blocks deep")
        assert finding["line"] == (20 if syntax == "ecrm" else 5)


def test_sixteen_nested_blocks_are_fine(project: Path) -> None:
    (project / "scenarios/deep.ecrm").write_text(_nested_branches_text(16), encoding="utf-8")
    (project / "scenarios/deep_yaml.yaml").write_text(
        _nested_branches_yaml(16).replace("scenario: deep", "scenario: deep_yaml"), encoding="utf-8"
    )
    _, findings, output = lint(project)
    assert not [f for f in findings if f["code"].startswith("E")], output


def test_not_repeated_500_times(project: Path) -> None:
    replace_in(project / SCENARIO, "where customer.order_count == 1", "where " + "not " * 500 + 'has_tag("vip")')
    status, findings, _ = lint(project)
    finding = only(findings, "E008", SCENARIO)
    assert status == 1
    assert finding["line"] == 6
    assert "'not'" in finding["message"]


def test_100000_nested_parentheses_are_refused_quickly(project: Path) -> None:
    condition = "(" * 100_000 + "customer.order_count == 1" + ")" * 100_000
    replace_in(project / SCENARIO, "where customer.order_count == 1", "where " + condition)
    (project / "segments/parens.yaml").write_text(f"segment: parens\nwhere: '{condition}'\n", encoding="utf-8")
    started = time.perf_counter()
    status, findings, _ = lint(project)
    assert time.perf_counter() - started < 20  # parsing them took 110 s; the scan refuses them in milliseconds
    assert status == 1
    only(findings, "E008", SCENARIO)
    only(findings, "E009", "segments/parens.yaml")  # as a YAML string it is too long before it is too deep
    text = subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", "lint"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert len(text.stdout) < 3_000  # the 200 kB line is shown as a window around the caret
    assert "    6 |   when order.placed where (((" in text.stdout


def test_a_condition_over_the_length_limit(project: Path) -> None:
    names = ", ".join(f'"p{i:05d}"' for i in range(limits.MAX_CONDITION_CHARS // 8))
    (project / "segments/long.yaml").write_text(f"segment: long\nwhere: 'customer.persona in [{names}]'\n")
    status, findings, _ = lint(project)
    finding = only(findings, "E009", "segments/long.yaml")
    assert status == 1
    assert (finding["line"], finding["column"]) == (2, 9)  # the condition's first character, inside the quote


@pytest.mark.parametrize("file", ["ecrm.toml", "pyproject.toml"])
def test_deeply_nested_configuration(project: Path, file: str) -> None:
    deep = "x = " + "[" * 1000 + "]" * 1000 + "\n"
    if file == "pyproject.toml":
        (project / "ecrm.toml").unlink()
        (project / file).write_text('[tool.ecrm]\nscenarios = "scenarios"\n' + deep, encoding="utf-8")
    else:
        (project / file).write_text((project / file).read_text(encoding="utf-8") + deep, encoding="utf-8")
    output = config_error(project)
    assert re.search(rf"{file}:\d+:\d+: error: the configuration is nested more than 16 levels deep", output)
    assert "[E008 nesting-too-deep]" in output and "hint:" in output


# --------------------------------------------------------------------------- size


def test_a_huge_scenario_is_refused_without_reading_or_printing_it(project: Path) -> None:
    huge = project / "scenarios/huge.ecrm"
    with huge.open("wb") as stream:
        stream.write(b"x" * (2 * limits.MAX_SOURCE_BYTES))  # one long line, the rest of the 400 MB a hole
        stream.truncate(400_000_000)
    status, findings, output = lint(project)
    finding = only(findings, "E002", "scenarios/huge.ecrm")
    assert status == 1
    assert "400,000,000 bytes" in finding["message"]
    assert "xxxx" not in output and len(output) < 5_000


def test_a_source_is_read_with_a_bound(tmp_path: Path) -> None:
    endless = Path("/dev/zero")  # reading it whole would never end
    if not endless.exists():
        pytest.skip("no /dev/zero here")
    assert read_bounded(endless, 10) is None
    with pytest.raises(DiagnosticError) as raised:
        read_source(endless, "scenarios/zero.ecrm")
    [finding] = raised.value.diagnostics
    assert finding.code == "E002" and finding.hint
    small = tmp_path / "small.ecrm"
    small.write_bytes(b"x" * 10)
    assert read_bounded(small, 10) == b"x" * 10
    small.write_bytes(b"x" * 11)
    assert read_bounded(small, 10) is None


# --------------------------------------------------------------------------- paths outside the project


SECRET = "RUNNER_TOKEN=s3cr3t"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "leak.yaml").write_text(f"{SECRET}\n: : broken\n", encoding="utf-8")
    (folder / "leak.ecrm").write_text(f"{SECRET}\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("key", "value"),
    [("scenarios", "../outside"), ("segments", "{outside}"), ("templates", "linked"), ("presets", "../outside")],
)
def test_a_folder_outside_the_project_is_a_configuration_error(
    project: Path, outside: Path, key: str, value: str
) -> None:
    (project / "linked").symlink_to(outside)
    value = value.format(outside=outside)
    config = project / "ecrm.toml"
    text = config.read_text(encoding="utf-8")
    if key == "presets":
        text += f'presets = ["{value}"]\n'
    else:
        text = re.sub(rf"^{key} = .*$", f'{key} = "{value}"', text, flags=re.M)
    config.write_text(text, encoding="utf-8")
    output = config_error(project)
    assert f"error: '{key}' points outside the project" in output and "[E007 config]" in output
    assert "hint: use a path inside the project" in output
    assert SECRET not in output


def test_a_linked_file_that_escapes_is_not_read(project: Path, outside: Path) -> None:
    (project / "scenarios/leak.yaml").symlink_to(outside / "leak.yaml")
    (project / "segments/leak.yaml").symlink_to(outside / "leak.yaml")
    status, findings, output = lint(project)
    assert status == 1
    for file in ("scenarios/leak.yaml", "segments/leak.yaml"):
        assert "outside the project" in only(findings, "E001", file)["message"]
    text = subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", "lint"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert SECRET not in output + text.stdout + text.stderr
    assert str(outside) not in output


def test_fmt_leaves_a_linked_scenario_outside_the_project_alone(project: Path, outside: Path) -> None:
    untidy = (project / SCENARIO).read_text(encoding="utf-8").replace("f2_step_mail", "linked").replace("  ", "    ")
    (outside / "linked.ecrm").write_text(untidy, encoding="utf-8")
    (project / "scenarios/linked.ecrm").symlink_to(outside / "linked.ecrm")
    subprocess.run([sys.executable, "-m", "ecrm_dsl", "fmt"], cwd=project, capture_output=True, timeout=120)
    assert (outside / "linked.ecrm").read_text(encoding="utf-8") == untidy


# --------------------------------------------------------------------------- hints for common slips


def test_tab_indentation_gets_a_hint_about_tabs(project: Path) -> None:
    (project / "segments/tabs.yaml").write_text("segment: tabs\nwhere:\n\tcustomer.order_count == 1\n")
    status, findings, _ = lint(project)
    finding = only(findings, "E003", "segments/tabs.yaml")
    assert status == 1
    assert (finding["line"], finding["column"]) == (3, 1)
    assert "tabs" in finding["hint"] and "indent with spaces" in finding["hint"]


@pytest.mark.parametrize(
    ("file", "holdout", "line"),
    [
        ("a.yaml", 'holdout: "10 %"', 4),
        ("b.yaml", "holdout: 10pct", 4),
        ("c.ecrm", "holdout 10pct", 4),
        ("d.ecrm", "holdout 10", 4),
        ("e.yaml", "holdout: 0.1", 4),
        ("f.yaml", "holdout: 10.5", 4),
        ("g.ecrm", "holdout 10.5%", 4),
    ],
)
def test_a_malformed_percentage_says_write_10_percent(project: Path, file: str, holdout: str, line: int) -> None:
    name = file.split(".")[0]
    if file.endswith(".yaml"):
        text = f"scenario: {name}\nkind: nurture\ntrigger: {{event: order.placed}}\n{holdout}\nsteps:\n"
        text += "- send: {channel: email, template: thanks_first}\n"
    else:
        text = f"scenario {name} {{\n  kind nurture\n  when order.placed\n  {holdout}\n  send email thanks_first\n}}\n"
    (project / "scenarios" / file).write_text(text, encoding="utf-8")
    status, findings, _ = lint(project)
    finding = only(findings, "E006", f"scenarios/{file}")
    assert status == 1
    assert finding["line"] == line
    assert finding["hint"] == "write 10%"


def test_repeated_aliases_are_one_finding_with_a_count(project: Path) -> None:
    steps = "".join("- {send: *s}\n" for _ in range(42))
    text = f"scenario: aliases\nkind: nurture\ntrigger: &s {{event: order.placed}}\nsteps:\n{steps}"
    (project / "scenarios/aliases.yaml").write_text(text, encoding="utf-8")
    status, findings, _ = lint(project)
    finding = only(findings, "E004", "scenarios/aliases.yaml")
    assert status == 1
    assert (finding["line"], finding["column"]) == (5, 10)
    assert finding["message"].endswith("(and 41 more aliases)")


# --------------------------------------------------------------------------- documentation


def test_the_limits_are_documented_with_their_codes() -> None:
    section = README.split("### Limits", 1)[1].split("\n#", 1)[0]
    for value in (
        limits.MAX_SOURCE_BYTES,
        limits.MAX_YAML_VALUES,
        limits.MAX_YAML_NESTING,
        limits.MAX_CONFIG_NESTING,
        limits.MAX_STEP_NESTING,
        limits.MAX_CONDITION_NESTING,
        limits.MAX_CONDITION_CHARS,
        MAX_DURATION_DAYS,
        MAX_INTEGER,
    ):
        assert f"{value:,}" in section, value
    for code in ("E002", "E008", "E009"):
        assert code in section and code in RULES
