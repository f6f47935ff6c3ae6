"""Rendering findings for people (text with a caret under the problem) and for machines (JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from ecrm_dsl.docs.links import rule_page_uri
from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.language.i18n import tr, trn
from ecrm_dsl.syntax.source import read_bounded

JSON_FORMAT_VERSION = 1


class SourceLines:
    """Reads each source file once, to show the offending line under a finding."""

    def __init__(self, root: Path):
        self.root = root
        self.cache: dict[str, list[str]] = {}

    def line(self, file: str, number: int) -> str | None:
        if file not in self.cache:
            path = Path(file) if Path(file).is_absolute() else self.root / file
            if not Path(file).is_absolute() and not path.resolve().is_relative_to(self.root.resolve()):
                self.cache[file] = []  # a project file that links outside the project: never shown
                return None
            try:
                raw = read_bounded(path)  # a file over the size limit is refused, never shown
                self.cache[file] = raw.decode("utf-8-sig").splitlines() if raw is not None else []
            except (OSError, UnicodeDecodeError):
                self.cache[file] = []
        lines = self.cache[file]
        return lines[number - 1] if 0 < number <= len(lines) else None


def render_text(findings: list[Diagnostic], sources: SourceLines, files_checked: int, rule_help: bool = False) -> str:
    """Plain text (``cli/paint.py`` colours it for a terminal); with ``rule_help``, once at the end, how to read a
    rule's page."""
    out: list[str] = []
    for d in findings:
        out.append(f"{d.span}: {d.effective_severity.value}: {d.message} [{d.code} {d.rule.name}]")
        line = sources.line(d.span.file, d.span.line)
        if line is not None:
            text, column = _clip(line, d.span.column)
            gutter = f"{d.span.line:>5} | "
            out.append(f"{gutter}{text}")
            width = 1
            if d.span.end_line == d.span.line and d.span.end_column > d.span.column:
                width = min(d.span.end_column - d.span.column, len(text) - column + 1)
            out.append(" " * (len(gutter) - 2) + "| " + _pad(text, column - 1) + "^" + "~" * (width - 1))
        if d.hint:
            out.append("      " + tr("hint: {hint}", hint=d.hint))
    if rule_help and findings:
        fixable = sum(d.fix is not None for d in findings)
        if fixable:
            out.append(tr("{count} fixable with `ecrm lint --fix` (preview: `ecrm lint --diff`)", count=fixable))
        out.append(
            tr(
                "what a rule means and how to fix it: `ecrm rule CODE` (e.g. `ecrm rule {code}`)",
                code=findings[0].code,
            )
        )
    out.append(summary(findings, files_checked))
    return "\n".join(out) + "\n"


SNIPPET_WIDTH = 160


def _clip(line: str, column: int) -> tuple[str, int]:
    """A line longer than :data:`SNIPPET_WIDTH` cut to a window around ``column`` (one finding in a 1 MB line
    must not print the megabyte); returns the text to show and where ``column`` falls in it."""
    if len(line) <= SNIPPET_WIDTH:
        return line, column
    start = max(0, min(column - 1 - SNIPPET_WIDTH * 2 // 3, len(line) - SNIPPET_WIDTH))
    end = start + SNIPPET_WIDTH
    text = ("..." if start else "") + line[start:end] + ("..." if end < len(line) else "")
    return text, column - start + (3 if start else 0)


def _pad(text: str, columns: int) -> str:
    """Spaces (keeping tabs, and full-width characters as two columns) up to ``columns`` characters of ``text``."""
    pad = []
    for char in text[:columns]:
        if char == "\t":
            pad.append("\t")
        elif "\u2e80" <= char <= "\uffef":
            pad.append("  ")
        else:
            pad.append(" ")
    return "".join(pad)


def summary(findings: list[Diagnostic], files_checked: int) -> str:
    errors = sum(d.effective_severity.value == "error" for d in findings)
    warnings = len(findings) - errors
    files = trn("{count} file", "{count} files", files_checked, count=files_checked)
    if not findings:
        return tr("{files} checked: no findings", files=files)
    return tr(
        "{files} checked: {errors}, {warnings}",
        files=files,
        errors=trn("{count} error", "{count} errors", errors, count=errors),
        warnings=trn("{count} warning", "{count} warnings", warnings, count=warnings),
    )


def _fix_json(finding: Diagnostic) -> dict[str, object] | None:
    """The safe fix ``ecrm lint --fix`` would apply: replace the text from line:column to end_line:end_column
    (end exclusive) with ``replacement``."""
    fix = finding.fix
    if fix is None:
        return None
    span = fix.span
    return {
        "title": fix.title,
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
        "replacement": fix.replacement,
    }


def render_json(findings: list[Diagnostic], files_checked: int) -> str:
    payload = {
        "version": JSON_FORMAT_VERSION,
        "files_checked": files_checked,
        "errors": sum(d.effective_severity.value == "error" for d in findings),
        "warnings": sum(d.effective_severity.value == "warning" for d in findings),
        "findings": [
            {
                "code": d.code,
                "rule": d.rule.name,
                "severity": d.effective_severity.value,
                "message": d.message,
                "hint": d.hint,
                "file": d.span.file,
                "line": d.span.line,
                "column": d.span.column,
                "end_line": d.span.end_line or d.span.line,
                "end_column": d.span.end_column or d.span.column,
                "help_uri": rule_page_uri(d.code),
                "fix": _fix_json(d),
            }
            for d in findings
        ],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
