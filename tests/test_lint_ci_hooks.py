"""The CI integrations shipped in the repository: the pre-commit hooks (run with the real ``pre-commit`` in a
temporary git repository) and the example GitHub Actions workflow (checked against GitHub's workflow schema)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.test_lint_ci import ROOT, SCENARIO, break_attribute, git, make_project, needs_git, run_cli

HOOKS = ROOT / ".pre-commit-hooks.yaml"
WORKFLOW = ROOT / "examples" / "github-actions" / "ecrm.yml"


def pre_commit() -> list[str]:
    if importlib.util.find_spec("pre_commit") is not None:
        return [sys.executable, "-m", "pre_commit"]
    found = shutil.which("pre-commit")
    if found is None:
        pytest.skip("pre-commit is not installed (pip install pre-commit, or the [test] extra)")
    return [found]


def ecrm_executable() -> str:
    beside = Path(sys.executable).parent / ("ecrm.exe" if os.name == "nt" else "ecrm")
    found = str(beside) if beside.exists() else shutil.which("ecrm")
    if found is None:
        pytest.skip("the ecrm command is not installed (pip install -e .)")
    return found


def run_pre_commit(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CEILING_DIRECTORIES": str(cwd.parent),
        "NO_COLOR": "1",
    }
    command = [*pre_commit(), *args, "--color", "never"] if args[0] == "run" else [*pre_commit(), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=600, check=False)


def manifest() -> dict[str, dict]:
    return {hook["id"]: hook for hook in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}


# --------------------------------------------------------------------------- pre-commit


def test_hooks_manifest(tmp_path: Path) -> None:
    hooks = manifest()
    assert set(hooks) == {"ecrm-lint", "ecrm-fmt"}
    assert hooks["ecrm-lint"]["entry"] == "ecrm lint --if-project-changed"
    assert hooks["ecrm-fmt"]["entry"] == "ecrm fmt --check --only-project-files"
    # The lint hook runs on every commit (a deletion passes no file) and in one process (it lints everything).
    assert hooks["ecrm-lint"]["always_run"] is True and hooks["ecrm-lint"]["require_serial"] is True
    assert "always_run" not in hooks["ecrm-fmt"]
    names = ["a.ecrm", "s/b.yaml", "c.yml", "d.json", "e.ecrm.bak", "ecrm.toml", "sub/pyproject.toml", "x.toml"]
    expected = {
        "ecrm-lint": [True, True, True, False, False, True, True, False],
        "ecrm-fmt": [True, True, True, False, False, False, False, False],
    }
    for name, hook in hooks.items():
        assert hook["language"] == "python" and hook["pass_filenames"] is True
        files = re.compile(hook["files"])
        assert [bool(files.search(n)) for n in names] == expected[name], name
    done = run_pre_commit(["validate-manifest", str(HOOKS)], tmp_path, tmp_path / "cache")
    assert done.returncode == 0, done.stdout + done.stderr


def local_hook_config() -> str:
    """The ecrm-lint hook of the manifest as a local ``language: system`` hook running this checkout's ecrm."""
    hook = dict(manifest()["ecrm-lint"])
    hook["entry"] = hook["entry"].replace("ecrm", ecrm_executable(), 1)
    hook["language"] = "system"
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]}, sort_keys=False)


@needs_git
def test_the_lint_hook_in_a_real_repository(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "repo")
    git("init", "-q", cwd=repo)
    (repo / ".pre-commit-config.yaml").write_text(local_hook_config(), encoding="utf-8")
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(WORKFLOW, repo / ".github" / "workflows" / "ecrm.yml")  # YAML that is no scenario: skipped
    git("add", "-A", cwd=repo)
    clean = run_pre_commit(["run", "--all-files"], repo, tmp_path / "cache")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert re.search(r"^ecrm lint\.+Passed$", clean.stdout, flags=re.M), clean.stdout

    break_attribute(repo)
    git("add", "-A", cwd=repo)
    broken = run_pre_commit(["run", "--all-files"], repo, tmp_path / "cache")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert re.search(r"^ecrm lint\.+Failed$", broken.stdout, flags=re.M), broken.stdout
    assert f"{SCENARIO}:6:27: error: unknown attribute customer.ordr_count [E204 unknown-attribute]" in broken.stdout, (
        broken.stdout
    )
    assert "hint: did you mean order_count?" in broken.stdout

    # Only the changed files are passed: a commit that touches the scenario alone still reports it.
    git("reset", "-q", cwd=repo)
    git("add", SCENARIO, ".pre-commit-config.yaml", cwd=repo)
    staged = run_pre_commit(["run"], repo, tmp_path / "cache")
    assert staged.returncode == 1 and f"{SCENARIO}:6:27" in staged.stdout, staged.stdout


def commit_all(repo: Path, message: str) -> None:
    git("add", "-A", cwd=repo)
    git("-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", message, cwd=repo)


def hooked_repository(tmp_path: Path) -> Path:
    """A git repository holding the starter project and the lint hook, everything committed."""
    repo = make_project(tmp_path / "repo")
    git("init", "-q", cwd=repo)
    (repo / ".pre-commit-config.yaml").write_text(local_hook_config(), encoding="utf-8")
    (repo / "README.md").write_text("shop\n", encoding="utf-8")
    commit_all(repo, "starter")
    return repo


MISSING_TEMPLATE = f"{SCENARIO}:10:19: error: unknown template 'thanks_first' [E202 unknown-template]"


@needs_git
def test_a_commit_that_only_deletes_a_template_is_linted(tmp_path: Path) -> None:
    repo = hooked_repository(tmp_path)
    git("rm", "-q", "templates/thanks_first.yaml", cwd=repo)
    done = run_pre_commit(["run"], repo, tmp_path / "cache")
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"^ecrm lint\.+Failed$", done.stdout, flags=re.M), done.stdout
    assert MISSING_TEMPLATE in done.stdout, done.stdout


@needs_git
def test_a_template_moved_out_of_the_project_and_an_unrelated_yaml_file_are_linted(tmp_path: Path) -> None:
    """The file pre-commit passes (a workflow) is not the project's; the moved-away template still counts."""
    repo = hooked_repository(tmp_path)
    (repo / "archive").mkdir()
    git("mv", "templates/thanks_first.yaml", "archive/thanks_first.yaml", cwd=repo)
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(WORKFLOW, repo / ".github" / "workflows" / "ecrm.yml")
    git("add", "-A", cwd=repo)
    done = run_pre_commit(["run"], repo, tmp_path / "cache")
    assert done.returncode == 1 and MISSING_TEMPLATE in done.stdout, done.stdout + done.stderr


@needs_git
def test_a_pushed_range_that_deletes_a_template_is_linted(tmp_path: Path) -> None:
    repo = hooked_repository(tmp_path)
    before = git("rev-parse", "HEAD", cwd=repo).strip()
    git("rm", "-q", "templates/thanks_first.yaml", cwd=repo)
    commit_all(repo, "drop a template")
    after = git("rev-parse", "HEAD", cwd=repo).strip()
    done = run_pre_commit(["run", "--from-ref", before, "--to-ref", after], repo, tmp_path / "cache")
    assert done.returncode == 1 and MISSING_TEMPLATE in done.stdout, done.stdout + done.stderr


@needs_git
def test_a_commit_that_touches_no_project_file_checks_nothing(tmp_path: Path) -> None:
    """Even a broken project: the commit did not touch it, so it is not this commit's finding."""
    repo = hooked_repository(tmp_path)
    break_attribute(repo)
    commit_all(repo, "broken scenario")
    (repo / "README.md").write_text("shop, renamed\n", encoding="utf-8")
    git("add", "README.md", cwd=repo)
    done = run_pre_commit(["run"], repo, tmp_path / "cache")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^ecrm lint\.+Passed$", done.stdout, flags=re.M), done.stdout
    # ... and the configuration is part of the project: touching it lints everything.
    with (repo / "ecrm.toml").open("a", encoding="utf-8") as toml:
        toml.write("# touched\n")
    git("add", "ecrm.toml", cwd=repo)
    touched = run_pre_commit(["run"], repo, tmp_path / "cache")
    assert touched.returncode == 1 and f"{SCENARIO}:6:27" in touched.stdout, touched.stdout


@needs_git
@pytest.mark.skipif(
    os.environ.get("ECRM_PRECOMMIT_INSTALL") != "1",
    reason="installs ecrm-dsl into pre-commit's own virtualenv from the package index (about a minute, needs the "
    "network); set ECRM_PRECOMMIT_INSTALL=1",
)
def test_the_hooks_repository_installs_as_a_python_hook(tmp_path: Path) -> None:
    """pre-commit clones a hooks repository at a commit and pip-installs it: a copy of this checkout is one."""
    source = tmp_path / "ecrm-dsl"
    listed = git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=ROOT).split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    git("init", "-q", cwd=source)
    git("add", "-A", cwd=source)
    git("-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "hooks", cwd=source)
    revision = git("rev-parse", "HEAD", cwd=source).strip()

    repo = make_project(tmp_path / "repo")
    git("init", "-q", cwd=repo)
    config = {"repos": [{"repo": str(source), "rev": revision, "hooks": [{"id": "ecrm-lint"}]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    break_attribute(repo)
    git("add", "-A", cwd=repo)
    done = run_pre_commit(["run", "--all-files"], repo, tmp_path / "cache")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{SCENARIO}:6:27: error: unknown attribute customer.ordr_count" in done.stdout, done.stdout


# --------------------------------------------------------------------------- the GitHub Actions example


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def test_workflow_matches_githubs_schema() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def steps(job: str) -> list[dict]:
    return workflow()["jobs"][job]["steps"]


def runs(job: str) -> str:
    return "\n".join(step.get("run", "") for step in steps(job))


def test_workflow_triggers_and_jobs() -> None:
    flow = workflow()
    triggers = flow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"pull_request", "push"} and triggers["push"]["branches"] == ["main"]
    assert flow["permissions"] == {"contents": "read"}
    jobs = flow["jobs"]
    assert "pull_request" in jobs["lint"]["if"] and "pull_request" in jobs["diff"]["if"]
    assert "refs/heads/main" in jobs["deploy"]["if"]
    assert jobs["lint"]["permissions"]["security-events"] == "write"
    assert jobs["diff"]["permissions"]["pull-requests"] == "write"


def test_workflow_lints_with_annotations_and_sarif() -> None:
    assert "ecrm lint --format github" in runs("lint")
    assert "ecrm lint --format sarif > ecrm.sarif" in runs("lint")
    (upload,) = [s for s in steps("lint") if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    assert upload["with"]["sarif_file"] == "ecrm.sarif"


def test_workflow_comments_the_diff_and_deploys_on_merge() -> None:
    checkout = steps("diff")[0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    assert 'ecrm diff "origin/$BASE_REF" --format markdown > diff.md' in runs("diff")
    comment = next(s for s in steps("diff") if "gh pr comment" in s.get("run", ""))
    assert comment["env"]["GH_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert "--body-file diff.md" in comment["run"]
    deploy = steps("deploy")[-1]
    assert deploy["env"]["ECRM_STORE"] == "${{ secrets.ECRM_STORE }}"
    assert 'ecrm deploy --in-flight keep --note "$GITHUB_SHA"' in deploy["run"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_workflow_scripts_are_valid_bash() -> None:
    for job in workflow()["jobs"]:
        for step in steps(job):
            if "run" in step:
                done = subprocess.run(["bash", "-n"], input=step["run"], capture_output=True, text=True, check=False)
                assert done.returncode == 0, f"{job}: {step['run']}\n{done.stderr}"


def test_workflow_shell_handles_lint_exit_codes(tmp_path: Path) -> None:
    """The SARIF step keeps going on findings (exit 1) and stops on a broken configuration (exit 2)."""
    (line,) = [s["run"] for s in steps("lint") if "--format sarif" in s.get("run", "")]
    for status, expected in [(0, 0), (1, 0), (2, 1)]:
        fake = tmp_path / "ecrm"
        fake.write_text(f"#!/bin/sh\nexit {status}\n", encoding="utf-8")
        fake.chmod(0o755)
        done = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", line],
            cwd=tmp_path,
            env={**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"},
            check=False,
        )
        assert (done.returncode != 0) == bool(expected), status


def test_only_project_files_skips_yaml_that_is_not_the_projects(tmp_path: Path) -> None:
    """``--only-project-files`` (the hook's flag) skips YAML that is not the project's, like this workflow."""
    project = make_project(tmp_path / "shop")
    shutil.copy(WORKFLOW, project / "ecrm.yml")
    assert run_cli("lint", "--only-project-files", "ecrm.yml", cwd=project).code == 0
    run = run_cli("lint", "--only-project-files", "ecrm.yml", SCENARIO, cwd=project)
    assert (run.code, run.stdout) == (0, "1 file checked: no findings\n")
    assert run_cli("lint", "ecrm.yml", cwd=project).code == 1  # without it, the workflow is read as a scenario


def test_if_project_changed_lints_the_whole_project_or_nothing(tmp_path: Path) -> None:
    """Outside git: a named source means the whole project; named files that are not the project's mean nothing."""
    project = make_project(tmp_path / "shop")
    shutil.copy(WORKFLOW, project / "ecrm.yml")
    (project / "templates" / "thanks_first.yaml").unlink()
    nothing = run_cli("lint", "--if-project-changed", "ecrm.yml", cwd=project)
    assert (nothing.code, nothing.stdout) == (0, "0 files checked: no findings\n")
    assert run_cli("lint", "--if-project-changed", cwd=project).code == 0
    everything = run_cli("lint", "--if-project-changed", "ecrm.yml", "templates/repeat_coupon.yaml", cwd=project)
    assert everything.code == 1 and MISSING_TEMPLATE in everything.stdout, everything.stdout
    assert everything.stdout.endswith("5 files checked: 1 error, 0 warnings\n")
    settings = run_cli("lint", "--if-project-changed", "ecrm.toml", cwd=project)
    assert settings.code == 1 and MISSING_TEMPLATE in settings.stdout, settings.stdout
