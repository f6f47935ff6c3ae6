"""What git knows about changed files. Which files a commit or a push deletes: pre-commit passes the changed
files that still exist, never the deleted ones, so a hook that must notice a deleted template asks git itself.
Which files were renamed between two commits (or a commit and the working tree), for ``ecrm diff``.

The commit being made is the index against ``HEAD`` (pre-commit has stashed unstaged changes by then); a push, or
``pre-commit run --from-ref A --to-ref B``, is the range pre-commit names in ``$PRE_COMMIT_FROM_REF`` and
``$PRE_COMMIT_TO_REF``. Renames count as a deletion of the old name. Outside git the answer is empty.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path


def deleted_files(start: Path, environ: Mapping[str, str] = os.environ) -> list[Path]:
    """Absolute paths of the files the commit (or the pushed range) deletes, in git's order."""
    top = _git(start, "rev-parse", "--show-toplevel")
    if not top:
        return []
    diff = ["diff", "--name-only", "--no-renames", "--no-ext-diff", "--diff-filter=D", "-z"]
    source, target = environ.get("PRE_COMMIT_FROM_REF"), environ.get("PRE_COMMIT_TO_REF")
    if source and target:
        listed = _git(start, *diff, f"{source}...{target}")
        if listed is None:  # no merge base: compare the two commits directly, as pre-commit does
            listed = _git(start, *diff, f"{source}..{target}")
    else:
        listed = _git(start, *diff, "--cached")
    root = Path(top.strip())
    return [root / name for name in (listed or "").split("\0") if name]


def renamed_files(start: Path, base: str, head: str | None, folder: str) -> dict[str, str]:
    """Old path -> new path of the files under ``folder`` (relative to the repository root, ``""`` for all) that
    git's rename detection pairs between commit ``base`` and commit ``head`` (the working tree when None); the
    paths are relative to ``folder``. Empty when git cannot tell."""
    prefix = f"{folder.rstrip('/')}/" if folder not in ("", ".") else ""
    listed = _git(
        start,
        "diff",
        "--name-status",
        "-M",
        "--no-ext-diff",
        "--diff-filter=R",
        "-z",
        base,
        *([head] if head else []),
        "--",
        f":(top){prefix or '.'}",
    )
    fields = (listed or "").split("\0")
    found: dict[str, str] = {}
    for index in range(0, len(fields) - 2, 3):  # R<score>, old, new
        status, old, new = fields[index : index + 3]
        if status.startswith("R") and old.startswith(prefix) and new.startswith(prefix):
            found[old[len(prefix) :]] = new[len(prefix) :]
    return found


def _git(cwd: Path, *args: str) -> str | None:
    """git's standard output, or None when git is missing or fails (not a repository, an unknown ref)."""
    folder = cwd if cwd.is_dir() else cwd.parent
    try:
        done = subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, encoding="utf-8", timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None
