"""``ecrm lint --fix``: apply the findings' safe fixes, lint again, repeat until nothing more is fixable.

The rounds run on a scratch copy of the project's sources, so ``--diff`` shows exactly what ``--fix`` would
write and a failure half-way leaves the project as it was. Edits go from the end of a file backwards; an edit
that overlaps one already taken waits for the next round (the findings are recomputed in between). Every other
byte is kept: comments, a byte order mark, CRLF line ends. Only files inside the project are written, and only
when the file on disk still holds what was read.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ecrm_dsl.language.diagnostics import Diagnostic, Fix
from ecrm_dsl.project.config import SCENARIO_SUFFIXES, ProjectConfig, load_config
from ecrm_dsl.project.editor_files import SCHEMA_COPIES
from ecrm_dsl.project.lint import expand_paths, lint
from ecrm_dsl.project.rule_selection import RuleSelection
from ecrm_dsl.syntax.source import read_bounded

MAX_ROUNDS = 10  # each round fixes at least one finding; a fix that brings its finding back must not loop
_BOM = "\ufeff"


def apply_edits(text: str, fixes: Iterable[Fix]) -> tuple[str, list[Fix]]:
    """``text`` with the fixes applied that fit in it and do not overlap an earlier one; and those applied.

    Positions are 1-based lines and code-point columns, as in findings. A fix that points outside its line
    is skipped; a line break in a replacement takes the file's own (CRLF stays CRLF).
    """
    starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
    newline = "\r\n" if "\r\n" in text else "\n"

    def offset(line: int, column: int) -> int | None:
        if not 0 < line <= len(starts):
            return None
        end = starts[line] - 1 if line < len(starts) else len(text)
        end -= text[starts[line - 1] : end].endswith("\r")
        return starts[line - 1] + column - 1 if 0 < column <= end - starts[line - 1] + 1 else None

    placed = []
    for fix in fixes:
        start = offset(fix.span.line, fix.span.column)
        end = offset(fix.span.end_line, fix.span.end_column)
        if start is not None and end is not None and start <= end:
            placed.append((start, end, fix))
    applied: list[Fix] = []
    limit = len(text) + 1
    for start, end, fix in sorted(placed, key=lambda item: (item[0], item[1]), reverse=True):
        if end > limit or (end == limit and start == end):  # overlaps (or touches at one point) a later edit
            continue
        replacement = fix.replacement.replace("\r\n", "\n").replace("\n", newline)
        text = text[:start] + replacement + text[end:]
        applied.append(fix)
        limit = start
    return text, applied


@dataclass
class FixedFile:
    """A project file whose fixed text differs from what was read."""

    name: str  # as findings name it, relative to the project root
    path: Path  # the file in the project
    before: bytes
    after: bytes

    def diff(self) -> str:
        old = self.before.decode("utf-8").removeprefix(_BOM).splitlines(keepends=True)
        new = self.after.decode("utf-8").removeprefix(_BOM).splitlines(keepends=True)
        lines = difflib.unified_diff(old, new, f"a/{self.name}", f"b/{self.name}")
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@dataclass
class FixOutcome:
    files: list[FixedFile] = field(default_factory=list)
    fixed: list[Diagnostic] = field(default_factory=list)  # every finding whose fix was applied, all rounds
    not_written: list[str] = field(default_factory=list)  # files changed on disk since they were read
    unwritable: dict[str, str] = field(default_factory=dict)  # files that could not be written, and why

    def diff(self) -> str:
        return "".join(f.diff() for f in self.files)


def plan_fixes(
    config: ProjectConfig, paths: list[Path] | None = None, rules: RuleSelection | None = None
) -> FixOutcome:
    """What ``--fix`` would do, worked out on a scratch copy; the project is not touched."""
    rules = rules if rules is not None else config.rules
    outcome = FixOutcome()
    with tempfile.TemporaryDirectory(prefix="ecrm-fix-") as scratch:
        copy_root = Path(scratch) / "project"
        named = expand_paths(paths) if paths else []  # folders named stand for the sources in them
        originals = _copy_project(config, copy_root, named)
        if not originals:
            return outcome
        copy_config = _reload(config, copy_root)
        copy_paths = [copy_root / config.display(p) for p in named if config.display(p) in originals]
        if paths and not copy_paths:
            return outcome
        for _ in range(MAX_ROUNDS):
            findings = lint(copy_config, copy_paths or None, rules).diagnostics
            if not _fix_round(copy_root, findings, set(originals), outcome):
                break
        for name, before in sorted(originals.items()):
            after = (copy_root / name).read_bytes()
            if after != before:
                outcome.files.append(FixedFile(name, config.root / name, before, after))
    return outcome


def write_fixes(outcome: FixOutcome) -> None:
    """Write the fixed files, each only if it still holds what was read (else it is listed in not_written)."""
    for fixed in outcome.files:
        target = fixed.path.resolve()
        try:
            current = target.read_bytes()
        except OSError:
            current = None
        if current != fixed.before:
            outcome.not_written.append(fixed.name)
            continue
        temporary = target.with_name(f".{target.name}.ecrm-fix")
        try:
            temporary.write_bytes(fixed.after)
            shutil.copymode(target, temporary)
            os.replace(temporary, target)  # all or nothing: a reader never sees half a file
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            outcome.unwritable[fixed.name] = exc.strerror or type(exc).__name__


def _fix_round(root: Path, findings: list[Diagnostic], ours: set[str], outcome: FixOutcome) -> bool:
    """Apply one round of fixes in the scratch copy; whether anything changed."""
    by_file: dict[str, list[Diagnostic]] = {}
    for finding in findings:
        if finding.fix is not None and finding.fix.span.file in ours:
            by_file.setdefault(finding.fix.span.file, []).append(finding)
    changed = False
    for name, fixable in sorted(by_file.items()):
        path = root / name
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        bom = text.startswith(_BOM)
        fixes = {id(d.fix): d for d in fixable}
        new_text, applied = apply_edits(text.removeprefix(_BOM), [d.fix for d in fixable if d.fix is not None])
        new_raw = ((_BOM if bom else "") + new_text).encode("utf-8")
        if new_raw != raw:
            path.write_bytes(new_raw)
            outcome.fixed.extend(fixes[id(fix)] for fix in applied)
            changed = True
    return changed


def _copy_project(config: ProjectConfig, copy_root: Path, named: list[Path]) -> dict[str, bytes]:
    """Copies the configuration and every source of the project (links as links) under ``copy_root``; returns
    the bytes of the files that may be fixed: UTF-8 files inside the project, by their names in findings."""
    root = config.root.resolve()
    written_root = Path(os.path.abspath(config.root))
    sources: set[Path] = {config.customer_schema, config.policies}
    if config.source is not None:
        sources.add(config.source)
    if config.scenarios.is_dir():
        sources.update(p for p in config.scenarios.iterdir() if p.suffix in SCENARIO_SUFFIXES)
    for folder in (config.segments, config.templates, *config.presets):
        if folder.is_dir():
            sources.update(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml"))
    copies = config.root / SCHEMA_COPIES  # the editors' schema copies: W801 rewrites a stale one
    if copies.is_dir():
        sources.update(copies.glob("*.schema.json"))
    sources.update(p for p in named if p.is_file())
    fixable: dict[str, bytes] = {}
    for path in sorted(sources):
        inside = Path(os.path.abspath(path)).is_relative_to(written_root) or path.resolve().is_relative_to(root)
        if not (path.is_file() or path.is_symlink()) or not inside:
            continue
        name = config.display(path)
        target = copy_root / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            continue  # a name that is not below the project root has no place in the copy
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copy2(path, target, follow_symlinks=False)
            if path.is_symlink() or not path.resolve().is_relative_to(root):
                continue  # a link is left as it is: its target is fixed under its own name, if it is ours
            raw = read_bounded(path)
        except OSError:
            continue  # unreadable: lint reports it (E001), and there is nothing to fix in it
        if raw is not None and _utf8(raw) and (path.suffix in SCENARIO_SUFFIXES or path.parent == copies):
            fixable[name] = raw
    return fixable


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _reload(config: ProjectConfig, copy_root: Path) -> ProjectConfig:
    """The same configuration, read from the scratch copy."""
    if config.source is None:
        return load_config(None, copy_root)
    return load_config(copy_root / config.display(config.source))
