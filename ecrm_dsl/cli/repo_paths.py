"""Paths as CI services want them: relative to the repository root, not to the ecrm project.

GitHub places annotations and code-scanning alerts by repository-relative path; the project (ecrm.toml) may sit
in a sub-folder. The repository root is ``git rev-parse --show-toplevel``; without git, ``$GITHUB_WORKSPACE``
when the project is inside it; otherwise the project root itself.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
from pathlib import Path


def repository_root(start: Path) -> Path | None:
    """The root of the git work tree holding ``start`` (or ``$GITHUB_WORKSPACE``), if any."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=start,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        done = None
    if done is not None and done.returncode == 0 and done.stdout.strip():
        return Path(done.stdout.strip()).resolve()
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace and start.resolve().is_relative_to(Path(workspace).resolve()):
        return Path(workspace).resolve()
    return None


class RepoPaths:
    """Turns the file names of findings (relative to the project root) into repository-relative POSIX paths."""

    def __init__(self, project_root: Path, repository: Path | None):
        self.project_root = project_root.resolve()
        self.repository = repository.resolve() if repository else self.project_root
        inside = self.project_root.is_relative_to(self.repository)
        self.prefix = self.project_root.relative_to(self.repository).as_posix() if inside else None

    @classmethod
    def discover(cls, project_root: Path) -> RepoPaths:
        return cls(project_root, repository_root(project_root))

    def relative(self, name: str) -> str:
        """``name`` relative to the repository root; unchanged when it lies outside the repository."""
        path = Path(name)
        if path.is_absolute() or (not (self.project_root / path).exists() and path.exists()):
            resolved = path.resolve()
            if resolved.is_relative_to(self.repository):
                return resolved.relative_to(self.repository).as_posix()
            return path.as_posix()
        if self.prefix is None:
            return path.as_posix()
        joined = posixpath.normpath(posixpath.join(self.prefix, path.as_posix()))
        return name if joined.startswith("../") or joined == ".." else joined
