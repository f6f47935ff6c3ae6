"""The library façade: what editors, CI scripts and notebooks use instead of the command line.

Each function is a thin door onto the same pipeline the commands use, so a script sees exactly the findings,
plans and formatting that ``ecrm lint``, ``ecrm compile`` and ``ecrm fmt`` give.
"""

from __future__ import annotations

from pathlib import Path

from ecrm_dsl.build.pipeline import Build, build
from ecrm_dsl.format.engine import checked_format
from ecrm_dsl.plan.document import canonical_json
from ecrm_dsl.project.config import ProjectConfig, load_config
from ecrm_dsl.project.lint import LintResult
from ecrm_dsl.project.lint import lint as _lint

__all__ = [
    "Build",
    "LintResult",
    "ProjectConfig",
    "build_plan",
    "canonical_json",
    "format_source",
    "lint",
    "load_project",
]


def load_project(where: str | Path | None = None) -> ProjectConfig:
    """The project configured at ``where``: an ``ecrm.toml`` or ``pyproject.toml`` file, or a folder from which
    the configuration is found by walking up (the current folder by default).

    Raises :class:`~ecrm_dsl.language.diagnostics.DiagnosticError` (E007) when the configuration is invalid.
    """
    path = Path(where) if where is not None else Path.cwd()
    if path.is_dir():
        return load_config(None, path)
    return load_config(path)


def lint(project: ProjectConfig, paths: list[str | Path] | None = None) -> LintResult:
    """Every finding ``ecrm lint`` reports for the project (or, with ``paths``, for those files)."""
    return _lint(project, [Path(p) for p in paths] if paths else None)


def build_plan(project: ProjectConfig) -> Build:
    """Lint the project and compile its plan, through the same gate as ``ecrm compile``.

    ``result.plan`` is the plan (write it with :func:`canonical_json`) or None; ``result.blocking`` says why.
    """
    return build(project)


def format_source(text: str, filename: str) -> str:
    """``text`` in the layout ``ecrm fmt`` writes; the syntax follows ``filename``'s suffix (.ecrm, .yaml, .yml).

    Raises :class:`~ecrm_dsl.language.diagnostics.DiagnosticError` when the text does not parse, and
    ``ecrm_dsl.format.safety.UnsafeFormat`` when the formatter would change its meaning (it never does silently).
    """
    return checked_format(text, Path(filename).suffix, filename)
