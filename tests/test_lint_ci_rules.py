"""Rule selection: ``[rules] select / ignore / per-file-ignores`` in the configuration, ``--select`` /
``--ignore`` on the command line, and E007 (with a did-you-mean) for codes that select nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecrm_dsl.language.diagnostics import DiagnosticError
from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.rule_selection import RuleSelection, glob_match
from tests.test_lint_ci import SCENARIO, break_attribute, edit, make_project, run_cli

HYPOTHESIS = '  hypothesis f2_rate "初回購入7日後のクーポンでF2転換率が上がる"\n'


@pytest.mark.parametrize(
    ("selection", "code", "file", "expected"),
    [
        (RuleSelection(), "W506", "a.ecrm", True),
        (RuleSelection(select=("E",)), "W506", "a.ecrm", False),
        (RuleSelection(select=("E", "W5")), "W506", "a.ecrm", True),
        (RuleSelection(select=("E", "W5")), "W403", "a.ecrm", False),
        (RuleSelection(select=("ALL",), ignore=("W506",)), "W506", "a.ecrm", False),
        (RuleSelection(ignore=("W5",)), "W403", "a.ecrm", True),
        (RuleSelection(select=("E2",), ignore=("E",)), "E204", "a.ecrm", True),  # the more specific one decides
        (RuleSelection(select=("E",), ignore=("E2",)), "E204", "a.ecrm", False),
        (RuleSelection(select=("E",), ignore=("E",)), "E204", "a.ecrm", False),  # a tie: ignore wins
        (RuleSelection(ignore=("W506",)).overridden(["W506"], []), "W506", "a.ecrm", True),  # command line wins a tie
        (RuleSelection(ignore=("W506",)).overridden(["W"], []), "W506", "a.ecrm", False),
        (RuleSelection().overridden(["E"], []), "W506", "a.ecrm", False),
        (RuleSelection(select=("W",)).overridden(None, ["W506"]), "W506", "a.ecrm", False),
        (
            RuleSelection(per_file_ignores=(("scenarios/legacy_*.ecrm", ("W5",)),)),
            "W506",
            "scenarios/legacy_a.ecrm",
            False,
        ),
        (RuleSelection(per_file_ignores=(("scenarios/legacy_*.ecrm", ("W5",)),)), "W506", "scenarios/new.ecrm", True),
        (RuleSelection(select=("W",)), "E003", "a.yaml", True),  # a file that does not load is always reported
        (RuleSelection(ignore=("E",)), "E100", "a.yaml", True),
    ],
)
def test_enabled(selection: RuleSelection, code: str, file: str, expected: bool) -> None:
    assert selection.enabled(code, file) is expected


@pytest.mark.parametrize(
    ("pattern", "file", "expected"),
    [
        ("scenarios/legacy/*.yaml", "scenarios/legacy/a.yaml", True),
        ("scenarios/legacy/*.yaml", "scenarios/legacy/deep/a.yaml", False),
        ("scenarios/legacy/*.yaml", "scenarios/a.yaml", False),
        ("scenarios/legacy/*.yaml", "scenarios/legacy/a.ecrm", False),
        ("./scenarios/?.yml", "scenarios/a.yml", True),
        ("scenarios/*.y?ml", "scenarios/a.yml", False),  # ? is exactly one character
        ("scenarios/**/*.yaml", "scenarios/a.yaml", True),
        ("scenarios/**/*.yaml", "scenarios/x/y/a.yaml", True),
        ("*.ecrm", "scenarios/old/a.ecrm", True),  # no slash: the file name, in any folder
        ("templates/[!a]*.yaml", "templates/b.yaml", True),
        ("templates/[!a]*.yaml", "templates/a.yaml", False),
        ("初回*.ecrm", "scenarios/初回購入.ecrm", True),
    ],
)
def test_glob_match(pattern: str, file: str, expected: bool) -> None:
    assert glob_match(pattern, file) is expected


# --------------------------------------------------------------------------- the configuration


def configure(project: Path, rules: str, file: str = "ecrm.toml") -> None:
    with (project / file).open("a", encoding="utf-8") as config:
        config.write(rules)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The starter project with an E204 on line 6 of the scenario and a W506 (no hypothesis) on line 2."""
    project = make_project(tmp_path / "shop")
    break_attribute(project)
    edit(project / SCENARIO, HYPOTHESIS, "")
    return project


def lint_codes(project: Path, *args: str) -> tuple[int, list[str]]:
    run = run_cli("lint", "--format", "json", *args, cwd=project)
    return run.code, [f["code"] for f in json.loads(run.stdout)["findings"]] if run.stdout else []


def test_defaults_report_everything(project: Path) -> None:
    assert lint_codes(project) == (1, ["W506", "E204"])


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ('[rules]\nselect = ["E"]\n', ["E204"]),
        ('[rules]\nselect = ["E", "W5"]\n', ["W506", "E204"]),
        ('[rules]\nignore = ["W506"]\n', ["E204"]),
        ('[rules]\nselect = ["W"]\nignore = ["W5"]\n', []),
        ('[rules]\nselect = ["E2"]\nignore = ["E"]\n', ["E204"]),
        ('[rules.per-file-ignores]\n"scenarios/*.ecrm" = ["W506", "E2"]\n', []),
        ('[rules.per-file-ignores]\n"f2_*.ecrm" = ["W"]\n"segments/*.yaml" = ["E"]\n', ["E204"]),
    ],
)
def test_configuration(project: Path, rules: str, expected: list[str]) -> None:
    configure(project, rules)
    assert lint_codes(project) == (1 if expected else 0, expected)


def test_pyproject_tool_ecrm_rules(project: Path) -> None:
    toml = (project / "ecrm.toml").read_text(encoding="utf-8")
    (project / "ecrm.toml").unlink()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "shop"\n\n[tool.ecrm]\n' + toml + '\n[tool.ecrm.rules]\nselect = ["W"]\n', encoding="utf-8"
    )
    assert lint_codes(project) == (1, ["W506"])


@pytest.mark.parametrize(
    ("rules", "line", "column", "message", "hint"),
    [
        ('select = ["E2O4"]', 8, 11, "unknown rule code 'E2O4' in [rules] select", "did you mean E204?"),
        (
            'ignore = ["no-hypothesis"]',
            8,
            11,
            "unknown rule code 'no-hypothesis' in [rules] ignore",
            "did you mean W506 (no-hypothesis)?",
        ),
        ('ignore = ["w506"]', 8, 11, "unknown rule code 'w506' in [rules] ignore", "did you mean W506?"),
        (
            'select = ["X"]',
            8,
            11,
            "unknown rule code 'X' in [rules] select",
            "codes look like E204, prefixes like E2 or W, or ALL",
        ),
        (
            'ignore = ["E003"]',
            8,
            11,
            "E003 cannot be switched off in [rules] ignore",
            "a file or document with this error is not loaded at all, so it is always reported",
        ),
        ('select = "E"', 8, 1, "[rules] select must be a list of rule codes (strings)", None),
        (
            "per_file_ignores = {}",
            8,
            1,
            "unknown key 'per_file_ignores' in [rules]",
            "did you mean 'per-file-ignores'?",
        ),
        (
            '[rules.per-file-ignores]\n"legacy/*.yaml" = ["W5O6"]',
            9,
            20,
            "unknown rule code 'W5O6' in [rules.per-file-ignores] 'legacy/*.yaml'",
            "did you mean W506?",
        ),
    ],
)
def test_bad_rules_are_e007_at_their_place(
    project: Path, rules: str, line: int, column: int, message: str, hint: str | None
) -> None:
    configure(project, "[rules]\n" + rules + "\n")
    with pytest.raises(DiagnosticError) as raised:
        load_config(project / "ecrm.toml")
    (problem,) = raised.value.diagnostics
    assert (problem.code, problem.span.line, problem.span.column) == ("E007", line, column)
    assert (problem.message, problem.hint) == (message, hint)
    run = run_cli("lint", cwd=project)
    assert run.code == 2 and f"{message} [E007 config]" in run.stderr


def test_every_bad_code_is_reported_at_once(project: Path) -> None:
    configure(project, '[rules]\nselect = ["E2O4", "W"]\nignore = ["W5O6", "E100"]\n')
    with pytest.raises(DiagnosticError) as raised:
        load_config(project / "ecrm.toml")
    assert [(d.span.line, d.message.split(" in ")[0]) for d in raised.value.diagnostics] == [
        (8, "unknown rule code 'E2O4'"),
        (9, "unknown rule code 'W5O6'"),
        (9, "E100 cannot be switched off"),
    ]


def test_rules_must_be_a_table(project: Path) -> None:
    text = (project / "ecrm.toml").read_text(encoding="utf-8")
    (project / "ecrm.toml").write_text("rules = 3\n" + text, encoding="utf-8")
    with pytest.raises(DiagnosticError) as raised:
        load_config(project / "ecrm.toml")
    assert raised.value.diagnostics[0].message.startswith("'rules' must be a table")


# --------------------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--select", "W506"), ["W506"]),
        (("--select", "E204,W506"), ["W506", "E204"]),
        (("--select", "E", "--select", "W"), ["W506", "E204"]),
        (("--ignore", "W5"), ["E204"]),
        (("--select", "ALL", "--ignore", "E2,W"), []),
    ],
)
def test_command_line_selection(project: Path, args: tuple[str, ...], expected: list[str]) -> None:
    assert lint_codes(project, *args) == (1 if expected else 0, expected)


def test_command_line_select_replaces_the_configured_one(project: Path) -> None:
    configure(project, '[rules]\nselect = ["E"]\nignore = ["W506"]\n')
    assert lint_codes(project) == (1, ["E204"])
    assert lint_codes(project, "--select", "W") == (0, [])  # the configured ignore is more specific
    assert lint_codes(project, "--select", "W506") == (1, ["W506"])  # as specific: the command line wins


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--select", "E2O4"), "Invalid value for --select: unknown rule code 'E2O4'; did you mean E204?"),
        (
            ("--ignore", "W506,unused-suppression"),
            "unknown rule code 'unused-suppression'; did you mean W901 (unused-suppression)?",
        ),
        (("--ignore", "E003"), "Invalid value for --ignore: E003 cannot be switched off"),
    ],
)
def test_bad_command_line_codes_are_usage_errors(project: Path, args: tuple[str, ...], message: str) -> None:
    run = run_cli("lint", *args, cwd=project)
    assert run.code == 2
    assert message in run.stderr
