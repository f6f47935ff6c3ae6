"""``--format github``: one workflow command per finding, so GitHub Actions annotates the file and line.

Format and escaping follow GitHub's workflow commands (as ``@actions/core`` writes them): in the message,
``%``, CR and LF are percent-encoded; in properties, ``:`` and ``,`` too.
"""

from __future__ import annotations

from ecrm_dsl.cli.repo_paths import RepoPaths
from ecrm_dsl.language.diagnostics import Diagnostic


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Diagnostic, paths: RepoPaths) -> str:
    """``::error file=…,line=…,col=…,endLine=…,endColumn=…,title=CODE name::message (hint)``."""
    span = finding.span
    line, column = max(span.line, 1), max(span.column, 1)
    properties = [("file", paths.relative(span.file)), ("line", str(line))]
    if span.end_line == span.line and span.end_column > span.column:  # a range on one line
        properties += [("col", str(column)), ("endLine", str(line)), ("endColumn", str(span.end_column))]
    elif span.end_line > span.line:  # columns only apply within one line
        properties += [("endLine", str(span.end_line))]
    else:
        properties += [("col", str(column))]
    properties.append(("title", f"{finding.code} {finding.rule.name}"))
    message = finding.message + (f" ({finding.hint})" if finding.hint else "")
    command = "error" if finding.effective_severity.value == "error" else "warning"
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{command} {rendered}::{escape_data(message)}"


def render_github(findings: list[Diagnostic], paths: RepoPaths) -> str:
    return "".join(annotation(finding, paths) + "\n" for finding in findings)
