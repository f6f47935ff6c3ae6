"""What ``ecrm diff`` compares: a plan file, a project folder, or a git revision — each becomes a plan.

* a ``.json`` file is read as a plan;
* a folder (or an ``ecrm.toml`` / ``pyproject.toml``) is a project: linted, refused with its errors, compiled —
  found the way ``ecrm compile`` run in that folder would find it;
* anything else that ``git rev-parse --verify REV^{commit}`` accepts is a revision: its tree is exported with
  ``git archive`` into a temporary folder and compiled there, using the project configuration at the same place
  relative to the repository root as the current project's. Nothing in the repository is changed.

Existing paths win over revision names. Findings are handed to a callback while the sources still exist, so the
caller can print them with their lines.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecrm_dsl.build.pipeline import build
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError, Severity
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.plan.document import load_plan
from ecrm_dsl.project.config import ProjectConfig, find_config, load_config
from ecrm_dsl.review.diff_project import ProjectSnapshot, snapshot

Json = dict[str, Any]
# Called with a project's error findings, its configuration and the files checked, before its sources go away.
FindingsHook = Callable[[list[Diagnostic], ProjectConfig, int], None]
WORKING_TREE = "working tree"


class SourceError(Exception):
    """BASE or HEAD cannot be turned into a plan; the message says why (findings went to the hook)."""


@dataclass(frozen=True)
class Side:
    label: str
    plan: Json
    from_file: bool = False  # a plan file, which anyone may have edited; compiled plans are well formed
    project: ProjectSnapshot | None = None  # every definition and file, when the side is a project
    commit: str | None = None  # the git commit a revision side was exported from
    root_in_repository: str | None = None  # the project root relative to the repository root (git sides)


@dataclass(frozen=True)
class Context:
    """Where the command runs: the working folder, and the --config file given to ``ecrm`` if any."""

    cwd: Path
    config_path: Path | None = None
    on_findings: FindingsHook | None = None


def working_tree(context: Context) -> Side:
    """The current project, as ``ecrm compile`` would see it."""
    config = _load(context.config_path, context.cwd)
    plan, _, project = compile_project(config, WORKING_TREE, context.on_findings)
    root = repository_root(context.cwd)
    inside = root is not None and config.root.resolve().is_relative_to(root.resolve())
    where = config.root.resolve().relative_to(root.resolve()).as_posix() if root is not None and inside else None
    return Side(WORKING_TREE, plan, project=project, root_in_repository=where)


def resolve(argument: str, context: Context) -> Side:
    path = context.cwd / argument
    if path.is_file() and path.suffix == ".json":
        return Side(argument, read_plan(path, argument), from_file=True)
    if path.is_file() and path.name in ("ecrm.toml", "pyproject.toml"):
        return Side(argument, *compile_project(_load(path, None), argument, context.on_findings))
    if path.is_dir():
        return Side(argument, *compile_project(_load(None, path), argument, context.on_findings))
    if path.exists():
        raise SourceError(
            tr(
                "'{argument}' is neither a plan (.json), a project folder nor a project configuration",
                argument=argument,
            )
        )
    commit = revision(argument, context.cwd)
    if commit is None:
        raise SourceError(
            tr("'{argument}' is neither a plan file, a project folder nor a git revision", argument=argument)
        )
    label = argument if commit.startswith(argument.lower()) else f"{argument} ({commit[:7]})"
    plan, project, where = compile_revision(commit, label, context)
    return Side(label, plan, project=project, commit=commit, root_in_repository=where)


def read_plan(path: Path, label: str) -> Json:
    try:
        return load_plan(path.read_text(encoding="utf-8"), label).to_json()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(tr("{path}: cannot read the plan: {error}", path=label, error=exc)) from None
    except ValueError as exc:  # also json.JSONDecodeError
        raise SourceError(tr("{label}: not a readable plan: {error}", label=label, error=exc)) from None


def _load(path: Path | None, start: Path | None) -> ProjectConfig:
    try:
        return load_config(path, start)
    except DiagnosticError as exc:
        first = exc.diagnostics[0]
        raise SourceError(f"{first.span.file}:{first.span.line}:{first.span.column}: {first.message}") from None


def compile_project(
    config: ProjectConfig, label: str, on_findings: FindingsHook | None
) -> tuple[Json, bool, ProjectSnapshot]:
    """The project's plan (``from_file`` False) and its snapshot, taken while its files exist."""
    result = build(config)
    if result.plan is None:
        shown = sorted({*result.lint.diagnostics, *result.silenced_blocking}, key=Diagnostic.sort_key)
        errors = [d for d in shown if d.effective_severity == Severity.ERROR]
        if on_findings is not None:
            on_findings(errors, config, len(result.lint.files))
        raise SourceError(tr("{label} has {count} error(s); not compared", label=label, count=len(errors)))
    return result.plan, False, snapshot(result.lint.workspace)


# --------------------------------------------------------------------------- git


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError:  # git not installed
        return None


def revision(name: str, cwd: Path) -> str | None:
    """The commit ``name`` names in the repository around ``cwd``, or None."""
    if name.startswith("-"):  # never let an argument become a git option
        return None
    found = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{name}^{{commit}}"], cwd)
    if found is None or found.returncode != 0:
        return None
    return found.stdout.decode().strip() or None


def repository_root(cwd: Path) -> Path | None:
    found = _git(["rev-parse", "--show-toplevel"], cwd)
    if found is None or found.returncode != 0:
        return None
    return Path(found.stdout.decode().strip())


def compile_revision(commit: str, label: str, context: Context) -> tuple[Json, ProjectSnapshot, str]:
    """The revision's plan, its snapshot, and where its project root sits in the repository."""
    root = repository_root(context.cwd)
    if root is None:
        raise SourceError(tr("{label}: not inside a git repository", label=label))
    current = context.config_path or find_config(context.cwd)
    anchor = (current if current is not None else context.cwd).resolve()
    if not anchor.is_relative_to(root.resolve()):
        raise SourceError(
            tr(
                "{label}: the project ({anchor}) is outside the repository {root}",
                label=label,
                anchor=anchor,
                root=root,
            )
        )
    relative = anchor.relative_to(root.resolve())
    scratch = Path(tempfile.mkdtemp(prefix="ecrm-diff-"))
    try:
        _export(commit, root, scratch, label)
        target = scratch / relative
        if current is not None:
            if not target.is_file():
                raise SourceError(
                    tr("{label}: there is no {path} in that revision", label=label, path=relative.as_posix())
                )
            config = _load(target, None)
        else:
            if not target.is_dir():
                raise SourceError(
                    tr(
                        "{label}: there is no folder {path} in that revision",
                        label=label,
                        path=relative.as_posix() or ".",
                    )
                )
            config = _load(None, target)
        plan, _, project = compile_project(config, label, context.on_findings)
        return plan, project, config.root.resolve().relative_to(scratch.resolve()).as_posix()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _export(commit: str, root: Path, into: Path, label: str) -> None:
    """``git archive COMMIT | tar -x``, with Python's tar reader refusing links out of the folder."""
    try:
        process = subprocess.Popen(
            ["git", "archive", "--format=tar", commit], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise SourceError(tr("{label}: cannot run git: {error}", label=label, error=exc)) from None
    assert process.stdout is not None
    try:
        with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
            archive.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        process.kill()
        raise SourceError(tr("{label}: cannot export the revision: {error}", label=label, error=exc)) from None
    finally:
        _, error = process.communicate()
    if process.returncode != 0:
        raise SourceError(
            tr("{label}: git archive failed: {error}", label=label, error=error.decode(errors="replace").strip())
        )
