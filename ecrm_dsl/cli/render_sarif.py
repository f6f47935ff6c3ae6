"""``--format sarif``: a SARIF 2.1.0 log, for GitHub code scanning and other SARIF viewers.

One run; the driver describes every rule (not only those found), so viewers can show a rule's summary and
link to its documentation. Results point at repository-relative URIs under ``%SRCROOT%``. Findings covered by
a suppression comment are included with an ``inSource`` suppression, so they stay visible to an audit but are
not alerts. The output is deterministic: same findings and sources, same bytes.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from urllib.parse import quote

from ecrm_dsl.cli.render import SourceLines
from ecrm_dsl.cli.repo_paths import RepoPaths
from ecrm_dsl.docs.links import rule_page_uri
from ecrm_dsl.language.diagnostics import RULES, Diagnostic, Fix

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "ecrm-dsl"
FALLBACK_URL = "https://pypi.org/project/ecrm-dsl/"
FINGERPRINT = "ecrmFindingHash/v1"


def tool_version() -> str:
    try:
        return metadata.version(TOOL_NAME)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def information_uri() -> str:
    """The project's documentation (a ``Project-URL`` of the installed package), else its PyPI page."""
    try:
        urls = metadata.metadata(TOOL_NAME).get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    by_label = {label.strip().lower(): url.strip() for label, _, url in (u.partition(",") for u in urls)}
    for label in ("documentation", "homepage", "repository", "source"):
        if by_label.get(label, "").startswith("https://"):
            return by_label[label]
    return FALLBACK_URL


def _rules() -> list[dict[str, object]]:
    """Every rule, each linking to its own page (``ecrm rule CODE`` prints the same page)."""
    return [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.summary},
            "defaultConfiguration": {"level": rule.severity.value},
            "helpUri": rule_page_uri(rule.code),
            "help": {"text": f"{rule.code} {rule.name}: {rule.summary} More: `ecrm rule {rule.code}`."},
        }
        for rule in sorted(RULES.values(), key=lambda r: r.code)
    ]


def _uri(path: str) -> str:
    """A relative URI reference for a repository path: percent-encoded (spaces, Japanese names), ``/`` kept."""
    return quote(path, safe="/-._~")


def _region(finding: Diagnostic) -> dict[str, int]:
    span = finding.span
    region = {"startLine": max(span.line, 1), "startColumn": max(span.column, 1)}
    if span.end_line >= span.line and span.end_line > 0:
        region["endLine"] = span.end_line
        if span.end_column > 0 and (span.end_line > span.line or span.end_column > span.column):
            region["endColumn"] = span.end_column
    return region


def _fix(fix: Fix, uri: str) -> dict[str, object]:
    """A SARIF fix: one replacement in one artifact (the region is end-exclusive, as the finding's span)."""
    span = fix.span
    region = {
        "startLine": span.line,
        "startColumn": span.column,
        "endLine": span.end_line,
        "endColumn": span.end_column,
    }
    return {
        "description": {"text": fix.title},
        "artifactChanges": [
            {
                "artifactLocation": {"uri": _uri(uri), "uriBaseId": "%SRCROOT%"},
                "replacements": [{"deletedRegion": region, "insertedContent": {"text": fix.replacement}}],
            }
        ],
    }


def _result(
    finding: Diagnostic, index: dict[str, int], paths: RepoPaths, sources: SourceLines, seen: dict[str, int]
) -> dict[str, object]:
    uri = paths.relative(finding.span.file)
    text = sources.line(finding.span.file, finding.span.line) or ""
    # Identity that survives lines moving: the rule, the file, the message and the offending line's text.
    key = "\0".join([finding.code, uri, finding.message, " ".join(text.split())])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    seen[digest] = seen.get(digest, 0) + 1
    message = finding.message + (f" ({finding.hint})" if finding.hint else "")
    result: dict[str, object] = {
        "ruleId": finding.code,
        "ruleIndex": index[finding.code],
        "level": finding.effective_severity.value,
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(uri), "uriBaseId": "%SRCROOT%"},
                    "region": _region(finding),
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT: f"{digest}:{seen[digest]}"},
    }
    if finding.fix is not None:
        result["fixes"] = [_fix(finding.fix, paths.relative(finding.fix.span.file))]
    return result


def sarif_log(
    findings: list[Diagnostic], paths: RepoPaths, sources: SourceLines, suppressed: list[Diagnostic] | None = None
) -> dict[str, object]:
    """The SARIF log as data (see :func:`render_sarif`)."""
    base = information_uri()
    rules = _rules()
    index = {code: i for i, code in enumerate(sorted(RULES))}
    seen: dict[str, int] = {}
    tagged = [(d, False) for d in findings] + [(d, True) for d in suppressed or []]
    results = []
    for finding, is_suppressed in sorted(tagged, key=lambda item: (item[0].sort_key(), item[1])):
        result = _result(finding, index, paths, sources, seen)
        if is_suppressed:
            result["suppressions"] = [{"kind": "inSource"}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": tool_version(),
                        "semanticVersion": tool_version(),
                        "informationUri": base,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def render_sarif(
    findings: list[Diagnostic], paths: RepoPaths, sources: SourceLines, suppressed: list[Diagnostic] | None = None
) -> str:
    log = sarif_log(findings, paths, sources, suppressed)
    return json.dumps(log, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
