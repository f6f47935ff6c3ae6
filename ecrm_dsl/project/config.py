"""The project configuration: where scenarios, segments, templates, the customer schema and policies live.

Read from ``ecrm.toml`` or from ``[tool.ecrm]`` in ``pyproject.toml``, found by walking up from the working
directory (or the first path given). Paths in it are relative to the file that holds it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError
from ecrm_dsl.project.rule_selection import RuleSelection, rules_from_config

CONFIG_KEYS = {
    "scenarios": "folder of scenario files (.yaml, .yml, .ecrm)",
    "segments": "folder of segment files",
    "templates": "folder of template files",
    "customer_schema": "the customer schema file",
    "policies": "the policies file",
    "presets": "extra folders of scenario presets",
    "rules": "rule selection: select, ignore (codes or prefixes) and per-file-ignores (glob = [codes])",
}
SCENARIO_SUFFIXES = (".yaml", ".yml", ".ecrm")
_PACKAGE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ProjectConfig:
    root: Path
    source: Path | None  # the file the configuration came from; None for defaults
    scenarios: Path
    segments: Path
    templates: Path
    customer_schema: Path
    policies: Path
    presets: tuple[Path, ...] = ()
    rules: RuleSelection = field(default_factory=RuleSelection)

    def scenario_files(self) -> list[Path]:
        """Scenario sources directly in the scenarios folder, sorted by name for deterministic output."""
        if not self.scenarios.is_dir():
            return []
        reserved = {self.customer_schema.resolve(), self.policies.resolve()}
        return sorted(
            p
            for p in self.scenarios.iterdir()
            if p.is_file() and p.suffix in SCENARIO_SUFFIXES and p.resolve() not in reserved
        )

    def display(self, path: Path) -> str:
        """The name diagnostics use for a file: relative to the project root, with forward slashes."""
        resolved = path.resolve()
        root = _resolved(self.root)
        if resolved.is_relative_to(root):
            return resolved.relative_to(root).as_posix()
        if resolved.is_relative_to(_PACKAGE):  # shipped presets
            return resolved.relative_to(_PACKAGE.parent).as_posix()
        return path.as_posix()

    @property
    def ignore(self) -> frozenset[str]:
        """The rule codes switched off in every file (see :attr:`rules` for the whole selection)."""
        return self.rules.ignored_codes


@lru_cache(maxsize=64)
def _resolved(path: Path) -> Path:
    return path.resolve()


def find_config(start: Path) -> Path | None:
    """The nearest ``ecrm.toml``, or ``pyproject.toml`` with a ``[tool.ecrm]`` table, at or above ``start``."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        ecrm_toml = candidate / "ecrm.toml"
        if ecrm_toml.is_file():
            return ecrm_toml
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and "[tool.ecrm]" in pyproject.read_text(encoding="utf-8", errors="replace"):
            return pyproject
    return None


def load_config(path: Path | None, start: Path | None = None) -> ProjectConfig:
    """Load the configuration at ``path`` (or find one from ``start``); raise :class:`DiagnosticError` if invalid."""
    if path is None:
        path = find_config(start or Path.cwd())
    if path is None:
        root = (start or Path.cwd()).resolve()
        root = root if root.is_dir() else root.parent
        return _build(root, None, {})
    display = path.as_posix()
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise DiagnosticError(
            [Diagnostic("E007", f"cannot read the configuration: {exc.strerror}", Span(display, 1, 1))]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        line, column = _toml_position(str(exc))
        raise DiagnosticError(
            [Diagnostic("E007", f"the configuration is not valid TOML: {exc}", Span(display, line, column))]
        ) from None
    table = data.get("tool", {}).get("ecrm", {}) if path.name == "pyproject.toml" else data
    unknown = sorted(set(table) - set(CONFIG_KEYS))
    if unknown:
        raise DiagnosticError(
            [
                Diagnostic(
                    "E007",
                    f"unknown configuration key '{unknown[0]}'",
                    Span(display, 1, 1),
                    hint="known keys: " + ", ".join(f"{k} ({v})" for k, v in CONFIG_KEYS.items()),
                )
            ]
        )
    return _build(path.parent, path, table, text)


def _build(root: Path, source: Path | None, table: dict[str, object], text: str = "") -> ProjectConfig:
    def path_of(key: str, default: str) -> Path:
        value = table.get(key, default)
        if not isinstance(value, str):
            where = source.as_posix() if source else "ecrm.toml"
            raise DiagnosticError([Diagnostic("E007", f"'{key}' must be a path (a string)", Span(where, 1, 1))])
        return root / value

    presets = table.get("presets", [])
    rules = rules_from_config(table.get("rules", {}), source.as_posix() if source else "ecrm.toml", text)
    return ProjectConfig(
        root=root,
        source=source,
        scenarios=path_of("scenarios", "scenarios"),
        segments=path_of("segments", "segments"),
        templates=path_of("templates", "templates"),
        customer_schema=path_of("customer_schema", "customer_schema.yaml"),
        policies=path_of("policies", "policies.yaml"),
        presets=tuple(root / p for p in presets) if isinstance(presets, list) else (),
        rules=rules,
    )


def _toml_position(message: str) -> tuple[int, int]:
    import re

    match = re.search(r"line (\d+), column (\d+)", message)
    return (int(match.group(1)), int(match.group(2))) if match else (1, 1)
