"""Which files ``ecrm fmt`` formats: the paths given (folders searched recursively), or the project's sources."""

from __future__ import annotations

from pathlib import Path

from ecrm_dsl.format.engine import SUFFIXES
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.project.config import ProjectConfig

_SKIPPED_FOLDERS = {"node_modules", "__pycache__", "venv"}


class UnsupportedFile(Exception):
    """A file named on the command line that fmt does not know how to format."""


def project_files(config: ProjectConfig) -> list[Path]:
    """Exactly the sources ecrm reads: scenario files, segments, templates, the project's presets, the customer
    schema and the policies."""
    files = list(config.scenario_files())
    for folder in (config.segments, config.templates, *config.presets):
        if folder.is_dir():
            files.extend(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))
    files.extend(p for p in (config.customer_schema, config.policies) if p.is_file())
    files = [p for p in files if config.contains(p)]  # a link pointing out of the project is never rewritten
    return _unique(files)


def expand(paths: list[Path], *, strict: bool = True) -> list[Path]:
    """Files to format, each once, sorted; folders give their .ecrm/.yaml/.yml files (hidden ones skipped).

    A named file of another kind is an error when ``strict``, else skipped."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            for candidate in path.rglob("*"):
                relative = candidate.relative_to(path).parts
                if any(part.startswith(".") or part in _SKIPPED_FOLDERS for part in relative):
                    continue
                if candidate.is_file() and candidate.suffix in SUFFIXES:
                    files.append(candidate)
        elif path.suffix in SUFFIXES:
            files.append(path)
        elif strict:
            raise UnsupportedFile(tr("{path}: not a .ecrm, .yaml or .yml file", path=path))
    return _unique(files)


def only_project_files(config: ProjectConfig, files: list[Path]) -> list[Path]:
    """The files that are the project's sources (pre-commit passes every YAML file: workflows, its own config)."""
    known = {p.resolve() for p in project_files(config)}
    return [p for p in files if p.resolve() in known]


def _unique(files: list[Path]) -> list[Path]:
    found: dict[Path, Path] = {}
    for path in files:
        found.setdefault(path.resolve(), path)
    return [found[key] for key in sorted(found)]
