"""``ecrm lint --format github``: one workflow command per finding, escaped, at repository-relative paths.

Also holds the helpers the other ``test_lint_ci_*`` modules share (a starter project, the CLI, git).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecrm_dsl.cli import cli
from ecrm_dsl.cli.render_github import annotation, escape_data, escape_property
from ecrm_dsl.cli.repo_paths import RepoPaths
from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Diagnostic, Severity

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "scenarios/f2_step_mail.ecrm"
E204_LINE = "::error file={prefix}scenarios/f2_step_mail.ecrm,line=6,col=27,endLine=6,endColumn=46,title=E204 unknown-attribute::unknown attribute customer.ordr_count (did you mean order_count?)"  # noqa: E501


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path) -> Run:
    """``ecrm ARGS`` in ``cwd``, in process."""
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
    return Run(result.exit_code, result.stdout, result.stderr)


def make_project(folder: Path) -> Path:
    """The starter project of ``ecrm init`` in ``folder`` (which must not hold one yet)."""
    assert run_cli("init", str(folder), cwd=folder.parent if folder.parent.exists() else Path.cwd()).code == 0
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def break_attribute(project: Path, suffix: str = "") -> None:
    """Make line 6 of the starter scenario an E204 (unknown attribute), optionally with text after it."""
    edit(project / SCENARIO, "customer.order_count == 1", "customer.ordr_count == 1" + suffix)


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=True)
    return done.stdout


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(autouse=True)
def _no_outer_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests decide themselves whether their project is in a git repository or a GitHub workspace."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)


# --------------------------------------------------------------------------- escaping


def test_escaping_follows_the_workflow_command_rules() -> None:
    assert escape_data("50% off\r\nnext: a, b") == "50%25 off%0D%0Anext: a, b"
    assert escape_property("dir,1/a:b%.yaml\n") == "dir%2C1/a%3Ab%25.yaml%0A"


def test_an_annotation_escapes_message_and_properties(tmp_path: Path) -> None:
    finding = Diagnostic(
        "W506",
        "100% sure:\nno hypothesis, really",
        Span("scenarios/a,b:c.ecrm", 3, 5, 3, 9),
        hint='add one: hypothesis f2_rate "…"',
        severity=Severity.WARNING,
    )
    line = annotation(finding, RepoPaths(tmp_path, None))
    assert line == (
        "::warning file=scenarios/a%2Cb%3Ac.ecrm,line=3,col=5,endLine=3,endColumn=9,title=W506 no-hypothesis"
        '::100%25 sure:%0Ano hypothesis, really (add one: hypothesis f2_rate "…")'
    )
    assert "\n" not in line


def test_multi_line_and_point_spans(tmp_path: Path) -> None:
    paths = RepoPaths(tmp_path, None)
    many = annotation(Diagnostic("E100", "bad", Span("a.yaml", 2, 3, 5, 1)), paths)
    assert many == "::error file=a.yaml,line=2,endLine=5,title=E100 schema::bad"  # columns only within one line
    point = annotation(Diagnostic("E100", "bad", Span("a.yaml", 2, 3)), paths)
    assert point == "::error file=a.yaml,line=2,col=3,title=E100 schema::bad"


# --------------------------------------------------------------------------- the command


def test_clean_project_prints_no_command_and_the_summary_on_stderr(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    run = run_cli("lint", "--format", "github", cwd=project)
    assert (run.code, run.stdout, run.stderr) == (0, "", "6 files checked: no findings\n")


def test_findings_relative_to_the_project_root_outside_git(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    break_attribute(project)
    edit(project / SCENARIO, '  hypothesis f2_rate "初回購入7日後のクーポンでF2転換率が上がる"\n', "")
    run = run_cli("lint", "--format", "github", cwd=project)
    assert run.code == 1
    warning, error = run.stdout.splitlines()
    assert warning.startswith(
        "::warning file=scenarios/f2_step_mail.ecrm,line=2,endLine=11,title=W506 no-hypothesis"
        "::scenario 'f2_step_mail' states no hypothesis ("
    )
    assert error == E204_LINE.format(prefix="").replace("line=6", "line=5").replace("endLine=6", "endLine=5")
    assert run.stderr == "6 files checked: 1 error, 1 warning\n"


@needs_git
def test_paths_are_relative_to_the_git_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    project = make_project(repo / "crm" / "shop")
    break_attribute(project)
    for cwd, args in [(project, ()), (repo, ("--config", "crm/shop/ecrm.toml")), (project / "scenarios", ())]:
        run = run_cli(*args, "lint", "--format", "github", cwd=cwd)
        assert (run.code, run.stdout) == (1, E204_LINE.format(prefix="crm/shop/") + "\n"), cwd


def test_github_workspace_is_the_root_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "shop")
    break_attribute(project)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("PATH", "")  # no git to ask
    run = run_cli("lint", "--format", "github", cwd=project)
    assert run.stdout == E204_LINE.format(prefix="shop/") + "\n"


def test_a_broken_configuration_is_an_annotation_too(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    with (project / "ecrm.toml").open("a", encoding="utf-8") as config:
        config.write('[rules]\nselect = ["E2O4"]\n')
    run = run_cli("lint", "--format", "github", cwd=project)
    assert run.code == 2
    assert run.stdout == (
        "::error file=ecrm.toml,line=8,col=11,endLine=8,endColumn=17,title=E007 config"
        "::unknown rule code 'E2O4' in [rules] select (did you mean E204?)\n"
    )


def test_findings_in_japanese_file_names_keep_their_name(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    break_attribute(project)
    (project / SCENARIO).rename(project / "scenarios" / "初回 購入.ecrm")
    run = run_cli("lint", "--format", "github", cwd=project)
    assert run.stdout.startswith("::error file=scenarios/初回 購入.ecrm,line=6,")
