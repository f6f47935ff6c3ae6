"""The project as the editor sees it: the files on disk with the open, unsaved buffers laid over them.

Linting reads files, so a project with unsaved buffers is copied into a scratch folder (the sources only, with
links kept as links) and the buffers are written there; findings name files relative to the project root, so
they read the same in the copy and in the original. A project with no unsaved changes is linted in place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.project.config import SCENARIO_SUFFIXES, ProjectConfig, find_config, load_config
from ecrm_dsl.project.lint import LintResult, is_project_file, lint
from ecrm_dsl.project.workspace import Workspace


@dataclass
class Snapshot:
    """One lint of a project: its findings by file (relative to the root) and the workspace they came from."""

    config: ProjectConfig
    workspace: Workspace | None
    findings: dict[str, list[Diagnostic]] = field(default_factory=dict)


def project_config(path: Path) -> ProjectConfig | None:
    """The configuration of the project holding ``path`` (found upward, as ``ecrm lint`` finds it), or None."""
    found = find_config(path)
    return load_config(found) if found is not None else None


def _sources(config: ProjectConfig) -> Iterator[Path]:
    """Every file a lint of the project may read."""
    if config.source is not None:
        yield config.source
    yield from (config.customer_schema, config.policies)
    if config.scenarios.is_dir():
        yield from (p for p in config.scenarios.iterdir() if p.suffix in SCENARIO_SUFFIXES)
    for folder in (config.segments, config.templates, *config.presets):
        if folder.is_dir():
            yield from (p for p in folder.rglob("*") if p.suffix in SCENARIO_SUFFIXES)


def _differs(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8-sig") != text
    except (OSError, UnicodeDecodeError):
        return True


def _inside(config: ProjectConfig, path: Path) -> Path | None:
    """``path`` relative to the project root (as written, or with links followed), or None if outside it."""
    written = Path(os.path.abspath(path))
    for base in (Path(os.path.abspath(config.root)), config.root.resolve()):
        if written.is_relative_to(base):
            return written.relative_to(base)
    return None


@contextmanager
def _laid_over(config: ProjectConfig, buffers: Mapping[Path, str]) -> Iterator[ProjectConfig]:
    """The configuration of a copy of the project with ``buffers`` (absolute paths inside it) written in."""
    root = config.root.resolve()
    changed = {p: t for p, t in buffers.items() if p.is_relative_to(root) and _differs(p, t)}
    if not changed:
        yield config
        return
    with tempfile.TemporaryDirectory(prefix="ecrm-lsp-") as scratch:
        copy = Path(scratch) / root.name
        for source in _sources(config):
            where = _inside(config, source)
            if where is None or not (source.exists() or source.is_symlink()):
                continue
            target = copy / where
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
        for path, text in changed.items():
            target = copy / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)  # an unsaved buffer replaces a link too
            target.write_text(text, encoding="utf-8")
        settings = copy / config.source.resolve().relative_to(root) if config.source is not None else None
        yield load_config(settings, copy)


def lint_project(config: ProjectConfig, file: Path, buffers: Mapping[Path, str]) -> Snapshot:
    """Lint the project for ``file`` (absolute), reading ``buffers`` instead of the files they stand for.

    A project file gets the findings of the whole project (so every open file can be refreshed at once); a file
    of the project's folder that is none of its sources is linted as ``ecrm lint FILE`` would."""
    with _laid_over(config, buffers) as seen:
        if is_project_file(config, file):
            result: LintResult = lint(seen)
        else:
            result = lint(seen, [seen.root / file.relative_to(config.root.resolve())])
    findings: dict[str, list[Diagnostic]] = {name: [] for name in result.files}
    for finding in result.diagnostics:
        findings.setdefault(finding.span.file, []).append(finding)
    return Snapshot(config, result.workspace, findings)
