"""Suppression comments: ``# ecrm: ignore[E204]`` for one line, ``# ecrm: ignore-file[W506]`` for a file.

At the end of a line, a directive covers that line; alone on its line, it covers the next line that is not
itself a comment (so directives can be stacked). Without ``[codes]`` it covers every rule. ``ignore-file`` must
be in the first :data:`FILE_DIRECTIVE_LINES` lines. A finding is covered when it *starts* on the covered line.

Directives that cover nothing, name unknown rules, name rules that cannot be suppressed, or are malformed are
reported as W901 unused-suppression, so stale suppressions do not pile up.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.comments import Comment, find_comments
from ecrm_dsl.language.diagnostics import RULES, Diagnostic, Fix
from ecrm_dsl.language.fixes import replace_exact
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.project.rule_selection import ALWAYS_REPORTED

FILE_DIRECTIVE_LINES = 5
UNUSED = "W901"
_DIRECTIVE = re.compile(r"#\s*ecrm\s*:\s*(?P<kind>[A-Za-z][\w-]*)(?P<codes>\[[^\]]*\]?)?")
_KINDS = ("ignore", "ignore-file")


@dataclass(frozen=True, slots=True)
class Suppression:
    """One directive: where it is written, the rules it covers (None: all) and the line it covers (None: file)."""

    span: Span
    codes: tuple[str, ...] | None
    target: int | None
    removal: Span | None = None  # what to delete when it is unused: the comment, or its whole line; None: keep


def _removal(text_lines: list[str], comment: Comment, match: re.Match[str], file: str) -> Span | None:
    """The text that removes a comment that is only this directive: its own line, or the comment and the spaces
    before it. None when the comment says more (a reason is kept for a person to judge)."""
    if match.start() != 0 or comment.text[match.end() :].strip():
        return None
    if comment.own_line:
        return Span(file, comment.line, 1, comment.line + 1, 1) if comment.line < len(text_lines) else None
    line = text_lines[comment.line - 1].removesuffix("\r")
    start = len(line[: comment.column - 1].rstrip()) + 1
    return Span(file, comment.line, start, comment.line, len(line) + 1)


@dataclass
class Outcome:
    """Findings split by the directives of their files, plus W901 findings about the directives themselves."""

    kept: list[Diagnostic] = field(default_factory=list)
    suppressed: list[Diagnostic] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)


def read_directives(text: str, file: str, suffix: str) -> tuple[list[Suppression], list[Diagnostic]]:
    """The suppression directives of one source file, and W901 findings for the ones that cannot work."""
    if "ecrm" not in text:  # the common case: no directive at all, no lexing
        return [], []
    comments = find_comments(text, suffix)
    comment_lines = {c.line for c in comments if c.own_line}
    text_lines = text.split("\n")
    directives: list[Suppression] = []
    problems: list[Diagnostic] = []
    for comment in comments:
        match = _DIRECTIVE.search(comment.text)
        if match is None:
            continue
        span = Span(
            file,
            comment.line,
            comment.column + match.start(),
            comment.line,
            comment.column + match.end(),
        )
        directive = _directive(match, span, comment, comment_lines, problems)
        if directive is not None:
            directives.append(dataclasses.replace(directive, removal=_removal(text_lines, comment, match, file)))
    return directives, problems


def _directive(
    match: re.Match[str], span: Span, comment: Comment, comment_lines: set[int], problems: list[Diagnostic]
) -> Suppression | None:
    kind, bracket = match.group("kind"), match.group("codes")
    if kind not in _KINDS:
        close = difflib.get_close_matches(kind, _KINDS, n=1, cutoff=0.6)
        if close:  # other ``# ecrm: …`` words are left for other tools
            start = span.column + match.start("kind") - match.start()
            word = Span(span.file, span.line, start, span.line, start + len(kind))
            problem = _w901(
                span,
                tr("unknown suppression directive '{kind}'", kind=kind),
                tr("did you mean '{value}'?", value=close[0]),
            )
            problems.append(dataclasses.replace(problem, fix=replace_exact(word, kind, close[0])))
        return None
    codes: tuple[str, ...] | None = None
    if bracket is not None:
        if not bracket.endswith("]"):
            problems.append(
                _w901(span, tr("malformed suppression: the ']' is missing"), tr("write # ecrm: ignore[E204]"))
            )
            return None
        codes = tuple(part.strip() for part in bracket[1:-1].split(",") if part.strip())
        if not codes:
            problems.append(
                _w901(span, tr("malformed suppression: no rule code in '[]'"), tr("write # ecrm: ignore[E204]"))
            )
            return None
        codes = _known_codes(codes, span, problems)
        if not codes:
            return None
    if kind == "ignore-file":
        if comment.line > FILE_DIRECTIVE_LINES:
            problems.append(
                _w901(
                    span,
                    tr("a file-level suppression must be in the first {count} lines", count=FILE_DIRECTIVE_LINES),
                    tr("move it to the top of the file, or use # ecrm: ignore[...] on the line itself"),
                )
            )
            return None
        return Suppression(span, codes, None)
    target = comment.line
    if comment.own_line:
        target += 1
        while target in comment_lines:
            target += 1
    return Suppression(span, codes, target)


def _known_codes(codes: tuple[str, ...], span: Span, problems: list[Diagnostic]) -> tuple[str, ...]:
    """The codes that a suppression can name; W901 for the others."""
    kept = []
    for code in codes:
        if code in ALWAYS_REPORTED:
            problems.append(
                _w901(
                    span,
                    tr("{code} cannot be suppressed", code=code),
                    tr("a file or document with this error is not loaded at all, so it is always reported"),
                )
            )
        elif code == UNUSED:
            problems.append(
                _w901(
                    span,
                    tr("{code} cannot be suppressed by a comment", code=UNUSED),
                    tr("remove the comment instead"),
                )
            )
        elif code not in RULES:
            close = difflib.get_close_matches(code.upper(), sorted(RULES), n=1, cutoff=0.6)
            hint = tr("did you mean {name}?", name=close[0]) if close else None
            problems.append(_w901(span, tr("unknown rule code '{code}' in a suppression", code=code), hint))
        else:
            kept.append(code)
    return tuple(kept)


def _w901(span: Span, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(UNUSED, message, span, hint=hint)


def apply_suppressions(
    findings: Iterable[Diagnostic],
    files: Iterable[str],
    read: Callable[[str], str | None],
    enabled: Callable[[str, str], bool],
) -> Outcome:
    """Split ``findings`` by the directives in ``files`` (read with ``read``; None: unreadable).

    ``enabled(code, file)`` says whether a rule is selected for a file: a directive for a rule that is switched
    off there is not reported as unused.
    """
    by_file: dict[str, list[Diagnostic]] = {}
    for finding in findings:
        by_file.setdefault(finding.span.file, []).append(finding)
    outcome = Outcome()
    for file in sorted(set(files) | set(by_file)):
        here = by_file.get(file, [])
        text = read(file)
        directives, problems = read_directives(text, file, _suffix(file)) if text is not None else ([], [])
        outcome.problems.extend(problems)
        used: set[tuple[int, str | None]] = set()
        for finding in here:
            covering = [
                i
                for i, d in enumerate(directives)
                if finding.code not in ALWAYS_REPORTED
                and finding.code != UNUSED
                and (d.target is None or d.target == finding.span.line)
                and (d.codes is None or finding.code in d.codes)
            ]
            for i in covering:
                used.add((i, finding.code if directives[i].codes is not None else None))
            (outcome.suppressed if covering else outcome.kept).append(finding)
        outcome.problems.extend(_unused(directives, used, file, enabled))
    return outcome


def _unused_message(line: int | None, code: str | None) -> str:
    """W901 for a directive that covered nothing: a whole sentence for each case, so each language words it."""
    if code is None:
        if line is None:
            return tr("unused suppression: no finding in this file")
        return tr("unused suppression: no finding on line {line}", line=line)
    if line is None:
        return tr("unused suppression: no {code} finding in this file", code=code)
    return tr("unused suppression: no {code} finding on line {line}", code=code, line=line)


def _unused(
    directives: list[Suppression], used: set[tuple[int, str | None]], file: str, enabled: Callable[[str, str], bool]
) -> list[Diagnostic]:
    found = []
    for i, directive in enumerate(directives):
        removal = Fix(tr("remove the unused suppression"), directive.removal, "") if directive.removal else None
        if directive.codes is None:
            if (i, None) not in used:
                problem = _w901(directive.span, _unused_message(directive.target, None), tr("remove the comment"))
                found.append(dataclasses.replace(problem, fix=removal))
            continue
        for code in directive.codes:
            if (i, code) not in used and enabled(code, file):
                problem = _w901(
                    directive.span,
                    _unused_message(directive.target, code),
                    tr("remove the comment")
                    if len(directive.codes) == 1
                    else tr("remove {code} from the comment", code=code),
                )
                found.append(dataclasses.replace(problem, fix=removal if len(directive.codes) == 1 else None))
    return found


def _suffix(file: str) -> str:
    name = file.rsplit("/", 1)[-1]
    return name[name.rfind(".") :] if "." in name else ""
