"""Golden tests for the lint rules: every rule fires where it should and stays quiet where it should not.

Each folder in tests/golden/rules is one case. Its scenario files (.yaml, .yml, .ecrm) go into the scenarios
folder of a copy of tests/fixtures/rules_project; its segments/ and templates/ folders and its ecrm.toml,
customer_schema.yaml and policies.yaml overlay the fixture's. The project is linted through the real code and
the findings, one per line as ``file:line:col: severity CODE message``, must equal the case's expected.txt.

ECRM_UPDATE_GOLDENS=1 rewrites the expected.txt files instead; read the diff before keeping it. Cases in
KNOWN_BUGS hold the findings the linter *should* report; they are strict xfails (and never rewritten) until the
linter is fixed, and then they must leave KNOWN_BUGS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecrm_dsl.language.diagnostics import RULES, Diagnostic, DiagnosticError
from ecrm_dsl.project.config import SCENARIO_SUFFIXES, load_config
from ecrm_dsl.project.lint import lint
from tests.goldens import UPDATE

TESTS = Path(__file__).resolve().parent
FIXTURE = TESTS / "fixtures" / "rules_project"
GOLDEN = TESTS / "golden" / "rules"
RESOURCE_FILES = {"ecrm.toml", "customer_schema.yaml", "policies.yaml"}
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())

# Inputs too big to commit, written into the case's project by the test (path relative to the project root).
GENERATED: dict[str, dict[str, bytes]] = {
    "E002_file-too-large": {
        "scenarios/huge.yaml": b"# padding\n" * 100_001,
        "scenarios/huge.ecrm": b"# padding\n" * 100_001,
    },
    "E002_too-many-yaml-values": {"scenarios/many_values.yaml": b"[" + b"0, " * 200_001 + b"0]\n"},
}

# Cases whose expected.txt is right and the linter is not (yet): why, in one line.
KNOWN_BUGS = {}

# Rules about scenario files that can only fire in one syntax, and why; every other scenario rule needs a
# golden finding in a .ecrm file and one in a .yaml file.
ONE_SYNTAX = {
    "E003": "YAML only: malformed YAML",
    "E004": "YAML only: anchors, aliases and tags",
    "E412": "YAML only: the text grammar puts else last by construction",
}
# configuration, segments, templates, policies, editor files
NOT_ABOUT_SCENARIOS = {"E007", "E409", "E411", "E502", "E509", "E520", "W801"}
# Rules that need a store (``ecrm lint --store``), so a project alone cannot show them: where each is tested.
NEED_A_STORE = {"W530": "tests/test_lint_store.py"}


def build_project(case: str, root: Path) -> Path:
    """A copy of the fixture project with the case's files put in; returns the project root."""
    shutil.copytree(FIXTURE, root)
    (root / "scenarios").mkdir(exist_ok=True)
    for item in sorted((GOLDEN / case).iterdir()):
        if item.name == "expected.txt":
            continue
        if item.is_dir():  # segments/, templates/
            shutil.copytree(item, root / item.name, dirs_exist_ok=True)
        elif item.name in RESOURCE_FILES:
            shutil.copy(item, root / item.name)
        elif item.suffix in SCENARIO_SUFFIXES:
            shutil.copy(item, root / "scenarios" / item.name)
    for relative, content in GENERATED.get(case, {}).items():
        (root / relative).write_bytes(content)
    return root


def format_finding(d: Diagnostic) -> str:
    message = d.message.replace("\n", "\\n")
    return f"{d.span.file}:{d.span.line}:{d.span.column}: {d.effective_severity.value} {d.code} {message}"


def lint_project(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[Diagnostic]:
    """Every finding for the project, as `ecrm --config ecrm.toml lint` run in its root would report them."""
    monkeypatch.chdir(root)
    try:
        config = load_config(Path("ecrm.toml"))
    except DiagnosticError as exc:  # a broken configuration stops before linting (E007)
        return exc.diagnostics
    return lint(config).diagnostics


def expected_lines(case: str) -> list[str]:
    path = GOLDEN / case / "expected.txt"
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


def _case_param(case: str) -> object:
    if case in KNOWN_BUGS:
        return pytest.param(case, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[case]))
    return case


@pytest.mark.parametrize("case", [_case_param(case) for case in CASES])
def test_rule_golden(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = build_project(case, tmp_path / "project")
    actual = [format_finding(d) for d in lint_project(root, monkeypatch)]
    expected = GOLDEN / case / "expected.txt"
    if UPDATE and case not in KNOWN_BUGS:
        expected.write_text("".join(f"{line}\n" for line in actual), encoding="utf-8")
    assert expected.is_file(), f"{expected} is missing; run with ECRM_UPDATE_GOLDENS=1 and review it"
    assert actual == expected_lines(case)


def test_fixture_project_is_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    assert lint_project(root, monkeypatch) == []


def _golden_codes() -> dict[str, set[str]]:
    """Each rule code found in a passing case's expected.txt, with the suffixes of the files it was reported in."""
    found: dict[str, set[str]] = {}
    for case in set(CASES) - set(KNOWN_BUGS):
        for line in expected_lines(case):
            location, _, rest = line.partition(": ")
            found.setdefault(rest.split()[1], set()).add(Path(location.split(":")[0]).suffix)
    return found


def test_every_rule_has_a_golden() -> None:
    missing = sorted(set(RULES) - set(_golden_codes()) - set(NEED_A_STORE))
    assert not missing, f"rules without a golden case in {GOLDEN}: {missing}"


def test_scenario_rules_have_goldens_in_both_syntaxes() -> None:
    found = _golden_codes()
    for code in sorted(set(RULES) - set(ONE_SYNTAX) - NOT_ABOUT_SCENARIOS - set(NEED_A_STORE)):
        assert {".ecrm", ".yaml"} <= found.get(code, set()), f"{code} needs a golden in both syntaxes"


# --------------------------------------------------------------------------- input safety beyond the goldens


@pytest.mark.parametrize(
    ("file", "line"),
    [
        ("scenarios/unclosed_scenario.ecrm", 3),
        ("scenarios/unclosed_branch.ecrm", 9),
    ],
)
def test_unclosed_brace_hint_names_the_opening_line(
    file: str, line: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_project("E005_unclosed-brace", tmp_path / "project")
    [finding] = [d for d in lint_project(root, monkeypatch) if d.span.file == file]
    assert finding.code == "E005"
    assert finding.hint == f"add the '}}' that closes the block opened at line {line}"


def test_alias_bomb_is_refused_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = build_project("E004_alias-bomb", tmp_path / "project")
    started = time.perf_counter()
    findings = lint_project(root, monkeypatch)
    assert time.perf_counter() - started < 5.0  # expanding it would take minutes and gigabytes
    assert {d.code for d in findings} == {"E004"}


def test_python_tag_executes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = build_project("E004_python-object-tag", tmp_path / "project")
    assert {d.code for d in lint_project(root, monkeypatch)} == {"E004"}
    assert not (root / "pwned.txt").exists()


@pytest.mark.parametrize(
    "case",
    [
        "E001_shift-jis",
        "E001_nul-byte",
        "E002_file-too-large",
        "E003_malformed-yaml",
        "E004_alias-bomb",
        "E004_python-object-tag",
        "E005_unclosed-brace",
        "E007_invalid-toml",
    ],
)
def test_cli_reports_bad_input_without_traceback(case: str, tmp_path: Path) -> None:
    root = build_project(case, tmp_path / "project")
    env = {name: value for name, value in os.environ.items() if name != "ECRM_DEBUG"}  # no deliberate traceback
    result = subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", "lint"], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "internal error" not in output
    assert result.returncode == (2 if case.startswith("E007") else 1), output
    assert case[:4] in output
    assert not (root / "pwned.txt").exists()
