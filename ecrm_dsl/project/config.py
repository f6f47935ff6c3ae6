"""The project configuration: where scenarios, segments, templates, the customer schema and policies live.

Read from ``ecrm.toml`` or from ``[tool.ecrm]`` in ``pyproject.toml``, found by walking up from the working
directory (or the first path given). Paths in it are relative to the file that holds it.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError
from ecrm_dsl.language.i18n import lookup, n_, tr
from ecrm_dsl.project.rule_selection import RuleSelection, rules_from_config
from ecrm_dsl.syntax.limits import MAX_CONFIG_NESTING
from ecrm_dsl.syntax.source import read_bounded

CONFIG_KEYS = {
    "scenarios": n_("folder of scenario files (.yaml, .yml, .ecrm)"),
    "segments": n_("folder of segment files"),
    "templates": n_("folder of template files"),
    "customer_schema": n_("the customer schema file"),
    "policies": n_("the policies file"),
    "presets": n_("extra folders of scenario presets"),
    "rules": n_("rule selection: select, ignore (codes or prefixes) and per-file-ignores (glob = [codes])"),
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

    def scenario_files(self, *, with_links_outside: bool = False) -> list[Path]:
        """Scenario sources directly in the scenarios folder, sorted by name for deterministic output.

        A file that is a link to somewhere outside the project is left out (so no command reads or rewrites
        it), unless ``with_links_outside`` asks for it: lint lists them to report them.
        """
        if not self.scenarios.is_dir():
            return []
        reserved = {self.customer_schema.resolve(), self.policies.resolve()}
        return sorted(
            p
            for p in self.scenarios.iterdir()
            if p.is_file()
            and p.suffix in SCENARIO_SUFFIXES
            and p.resolve() not in reserved
            and (with_links_outside or self.contains(p))
        )

    def contains(self, path: Path) -> bool:
        """Whether ``path``, links followed, is inside the project."""
        return path.resolve().is_relative_to(_resolved(self.root))

    def display(self, path: Path) -> str:
        """The name diagnostics use for a file: relative to the project root, with forward slashes."""
        # As written first: a link inside the project keeps its own name, not its target's.
        written = Path(os.path.abspath(path))
        if written.is_relative_to(_absolute(self.root)):
            return written.relative_to(_absolute(self.root)).as_posix()
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


@lru_cache(maxsize=64)
def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def find_config(start: Path) -> Path | None:
    """The nearest ``ecrm.toml``, or ``pyproject.toml`` with a ``[tool.ecrm]`` table, at or above ``start``."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        ecrm_toml = candidate / "ecrm.toml"
        if ecrm_toml.is_file():
            return ecrm_toml
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and b"[tool.ecrm]" in _read_or_empty(pyproject):
            return pyproject
    return None


def _read_or_empty(path: Path) -> bytes:
    try:
        return read_bounded(path) or b""
    except OSError:
        return b""


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
        raw = read_bounded(path)
        if raw is None:
            raise DiagnosticError(
                [Diagnostic("E002", tr("the configuration is larger than the size limit"), Span(display, 1, 1))]
            )
        text = raw.decode("utf-8")
        _check_nesting(text, display)
        data = tomllib.loads(text)
    except OSError as exc:
        raise DiagnosticError(
            [
                Diagnostic(
                    "E007", tr("cannot read the configuration: {reason}", reason=exc.strerror), Span(display, 1, 1)
                )
            ]
        ) from None
    except UnicodeDecodeError:
        raise DiagnosticError(
            [
                Diagnostic(
                    "E007", tr("the configuration is not UTF-8 text"), Span(display, 1, 1), hint=tr("save it as UTF-8")
                )
            ]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        line, column = _toml_position(str(exc))
        raise DiagnosticError(
            [
                Diagnostic(
                    "E007",
                    tr("the configuration is not valid TOML: {problem}", problem=exc),
                    Span(display, line, column),
                )
            ]
        ) from None
    table = data
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        table = tool.get("ecrm", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise DiagnosticError(
            [
                Diagnostic(
                    "E007", tr("[tool.ecrm] must be a table"), Span(display, 1, 1), hint=tr("write it as [tool.ecrm]")
                )
            ]
        )
    unknown = sorted(set(table) - set(CONFIG_KEYS))
    if unknown:
        raise DiagnosticError(
            [
                Diagnostic(
                    "E007",
                    tr("unknown configuration key '{key}'", key=unknown[0]),
                    Span(display, 1, 1),
                    hint=tr("known keys: {keys}", keys=", ".join(f"{k} ({lookup(v)})" for k, v in CONFIG_KEYS.items())),
                )
            ]
        )
    return _build(path.parent, path, table, text)


def _build(root: Path, source: Path | None, table: dict[str, object], text: str = "") -> ProjectConfig:
    where = source.as_posix() if source else "ecrm.toml"

    def inside(key: str, value: str) -> Path:
        """``value`` below the project root. A path that leaves it (``..``, an absolute path, a link pointing
        out) is refused before anything there is listed or read: a changed configuration must not make lint
        echo files from elsewhere on the machine into a CI log."""
        path = root / value
        if Path(value).is_absolute() or not path.resolve().is_relative_to(root.resolve()):
            raise DiagnosticError(
                [
                    Diagnostic(
                        "E007",
                        tr("'{key}' points outside the project: {value}", key=key, value=value),
                        _key_span(where, text, key),
                        hint=tr(
                            'use a path inside the project, relative to {file}, e.g. {key} = "{default}"',
                            file=Path(where).name,
                            key=key,
                            default=_DEFAULTS[key],
                        ),
                    )
                ]
            )
        return path

    def path_of(key: str) -> Path:
        value = table.get(key, _DEFAULTS[key])
        if not isinstance(value, str):
            raise DiagnosticError(
                [
                    Diagnostic(
                        "E007",
                        tr("'{key}' must be a path (a string)", key=key),
                        _key_span(where, text, key),
                        hint=tr('e.g. {key} = "{default}"', key=key, default=_DEFAULTS[key]),
                    )
                ]
            )
        return inside(key, value)

    presets = table.get("presets", [])
    if not isinstance(presets, list) or not all(isinstance(p, str) for p in presets):
        raise DiagnosticError(
            [
                Diagnostic(
                    "E007",
                    tr("'presets' must be a list of folders"),
                    _key_span(where, text, "presets"),
                    hint=tr('e.g. presets = ["presets"]'),
                )
            ]
        )
    rules = rules_from_config(table.get("rules", {}), where, text)
    return ProjectConfig(
        root=root,
        source=source,
        scenarios=path_of("scenarios"),
        segments=path_of("segments"),
        templates=path_of("templates"),
        customer_schema=path_of("customer_schema"),
        policies=path_of("policies"),
        presets=tuple(inside("presets", p) for p in presets),
        rules=rules,
    )


_DEFAULTS = {
    "scenarios": "scenarios",
    "segments": "segments",
    "templates": "templates",
    "customer_schema": "customer_schema.yaml",
    "policies": "policies.yaml",
    "presets": "presets",
}


def _key_span(file: str, text: str, key: str) -> Span:
    """Where ``key = …`` is written (in pyproject.toml, below [tool.ecrm]); the top of the file if not found."""
    found = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=", re.M).search(text, max(text.find("[tool.ecrm]"), 0))
    if found is None:
        return Span(file, 1, 1)
    offset = found.start() + len(found.group()) - len(found.group().lstrip())
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Span(file, line, column, line, column + len(key))


# Strings and comments (skipped whole) and the brackets that nest: tomllib recurses once per level.
_TOML_TOKENS = re.compile(
    r'"""(?:[^\\]|\\.)*?"""' r"|'''.*?'''" r'|"(?:[^"\\\n]|\\.)*"' r"|'[^'\n]*'|#[^\n]*|[\[\]{}]", re.S
)


def _check_nesting(text: str, file: str) -> None:
    """Refuse arrays and inline tables nested deeper than the limit, before tomllib recurses into them."""
    depth = 0
    for match in _TOML_TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_CONFIG_NESTING:
                line = text.count("\n", 0, match.start()) + 1
                column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
                raise DiagnosticError(
                    [
                        Diagnostic(
                            "E008",
                            tr(
                                "the configuration is nested more than {limit} levels deep "
                                "(arrays and tables inside each other)",
                                limit=MAX_CONFIG_NESTING,
                            ),
                            Span(file, line, column),
                            hint=tr("the configuration needs only paths, lists of strings and the [rules] tables"),
                        )
                    ]
                )
        elif token in ("]", "}"):
            depth = max(depth - 1, 0)


def _toml_position(message: str) -> tuple[int, int]:
    match = re.search(r"line (\d+), column (\d+)", message)
    return (int(match.group(1)), int(match.group(2))) if match else (1, 1)
