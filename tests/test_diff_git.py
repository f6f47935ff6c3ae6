"""``ecrm diff`` between git revisions of a temporary repository, with the project in a subfolder of it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ecrm_dsl.cli.diff_cmd import diff_command

GOLDEN = Path(__file__).parent / "golden" / "diff" / "onboarding_flow"
EXPECTED = (GOLDEN / "expected.txt").read_text(encoding="utf-8").splitlines()

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout


def run(cwd: Path, *args: str) -> Result:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(diff_command, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def replace_project(repo: Path, source: Path) -> None:
    shutil.rmtree(repo / "crm", ignore_errors=True)
    shutil.copytree(source, repo / "crm")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Three commits: a README only; the project (before); the project (after). The project lives in crm/."""
    repo = tmp_path / "shop"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.name", "CRM Reviewer")
    git(repo, "config", "user.email", "reviewer@example.jp")
    git(repo, "config", "commit.gpgsign", "false")
    (repo / "README.md").write_text("# shop\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start")
    replace_project(repo, GOLDEN / "before")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "onboarding v1")
    replace_project(repo, GOLDEN / "after")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "onboarding v2: sell, persona arms")
    return repo


def short(repo: Path, rev: str) -> str:
    return git(repo, "rev-parse", "--short=7", rev).strip()


def test_between_two_commits(repo: Path) -> None:
    status_before = git(repo, "status", "--porcelain")
    result = run(repo / "crm", "HEAD~1", "HEAD")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == EXPECTED[0] == "1 scenario changed; 1 template added; 1 file added"
    assert lines[2] == f"HEAD~1 ({short(repo, 'HEAD~1')}) → HEAD ({short(repo, 'HEAD')})"
    assert lines[3:] == EXPECTED[3:]  # the same words as the folder golden
    # nothing in the repository changed: no files, no worktrees
    assert git(repo, "status", "--porcelain") == status_before
    assert len(git(repo, "worktree", "list").splitlines()) == 1


def test_against_the_working_tree_from_a_subfolder(repo: Path) -> None:
    result = run(repo / "crm" / "scenarios", "HEAD~1")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[2] == f"HEAD~1 ({short(repo, 'HEAD~1')}) → working tree"
    assert lines[3:] == EXPECTED[3:]
    unchanged = run(repo / "crm", "HEAD")
    assert unchanged.exit_code == 0 and unchanged.stdout.startswith("no changes\n")


def test_uncommitted_edits_show_up(repo: Path) -> None:
    policies = repo / "crm" / "policies.yaml"
    policies.write_text(policies.read_text("utf-8").replace('start: "21:00"', 'start: "22:00"'), encoding="utf-8")
    result = run(repo / "crm", "HEAD", "--format", "json")
    assert result.exit_code == 1
    assert '"summary": "policies changed"' in result.stdout
    assert "quiet hours 21:00–09:00 → 22:00–09:00" in result.stdout


def test_branch_names_and_commit_ids_work(repo: Path) -> None:
    git(repo, "branch", "v1", "HEAD~1")
    by_branch = run(repo / "crm", "v1", "HEAD")
    by_id = run(repo / "crm", git(repo, "rev-parse", "HEAD~1").strip(), "HEAD")
    assert by_branch.exit_code == by_id.exit_code == 1
    assert by_branch.stdout.splitlines()[3:] == by_id.stdout.splitlines()[3:] == EXPECTED[3:]


def test_a_revision_without_the_project(repo: Path) -> None:
    result = run(repo / "crm", "HEAD~2")
    assert result.exit_code == 2
    assert re.search(r"HEAD~2 \(\w{7}\): there is no crm/ecrm\.toml in that revision", result.stderr)


def test_a_revision_with_errors_is_refused_with_its_lines(repo: Path) -> None:
    scenario = repo / "crm" / "scenarios" / "onboarding.ecrm"
    good = scenario.read_text("utf-8")
    scenario.write_text(good.replace("customer.persona is not null", "customer.persnoa == 1"), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "typo")
    scenario.write_text(good, encoding="utf-8")  # fixed in the working tree only
    result = run(repo / "crm", "HEAD")
    assert result.exit_code == 2 and result.stdout == ""
    assert "scenarios/onboarding.ecrm:6:" in result.stderr
    assert "customer.persnoa == 1" in result.stderr  # the source line, read from the exported revision
    assert "has 1 error(s); not compared" in result.stderr


def test_a_revision_outside_any_repository(tmp_path: Path) -> None:
    result = run(tmp_path, "HEAD~1", str(GOLDEN / "after"))
    assert result.exit_code == 2
    assert "neither a plan file, a project folder nor a git revision" in result.stderr


def test_option_like_revisions_never_reach_git(repo: Path) -> None:
    result = run(repo / "crm", "--", "--output=/tmp/x")
    assert result.exit_code == 2
    assert "neither a plan file" in result.stderr


def test_a_file_git_calls_renamed_is_one_rename(repo: Path) -> None:
    git(repo, "mv", "crm/templates/welcome.yaml", "crm/templates/welcome_mail.yaml")
    renamed = "  → templates/welcome_mail.yaml (was templates/welcome.yaml) — template welcome"
    staged = run(repo / "crm", "HEAD")  # against the working tree (the rename is staged)
    assert staged.exit_code == 0, staged.output  # the same template under another file name: no change in meaning
    assert staged.stdout.splitlines()[0] == "no changes in meaning; 1 file renamed"
    assert renamed in staged.stdout.splitlines()
    git(repo, "commit", "-q", "-m", "rename")
    committed = run(repo / "crm", "HEAD~1", "HEAD")
    assert committed.exit_code == 0 and renamed in committed.stdout.splitlines()
    # two folders know nothing of git: the same move is a removal and an addition
    shutil.copytree(repo / "crm", repo.parent / "copy")
    git(repo, "mv", "crm/templates/welcome_mail.yaml", "crm/templates/welcome.yaml")
    folders = run(repo, str(repo / "crm"), str(repo.parent / "copy"))
    assert "files: 1 added, 1 removed" in folders.stdout
    assert "  + templates/welcome_mail.yaml — template welcome" in folders.stdout
