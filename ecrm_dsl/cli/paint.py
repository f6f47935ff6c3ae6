"""Colour for the text the commands print, laid over the finished plain text.

Each painter takes the exact text a pipe would get and adds escape codes only: stripping them gives back the
same bytes (a test holds every painter to that). Painting afterwards, rather than inside the renderers, keeps the
renderers one plain-text implementation that the goldens pin down.
"""

from __future__ import annotations

import re
from functools import cache

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@cache
def _codes(spec: str) -> tuple[str, str]:
    """The escape codes that open and close the rich style ``spec``; rich is loaded only when colour is on."""
    from rich.color import ColorSystem
    from rich.style import Style

    opening, _, closing = Style.parse(spec).render("\0", color_system=ColorSystem.STANDARD).partition("\0")
    return opening, closing


def style(text: str, spec: str) -> str:
    """``text`` in the rich style ``spec`` ("bold red", "dim"), as the 16 standard colours every terminal has."""
    opening, closing = _codes(spec)
    return f"{opening}{text}{closing}" if text else text


def plain(text: str) -> str:
    """``text`` without its colour codes."""
    return ANSI.sub("", text)


SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow"}
FINDING = re.compile(
    r"^(?P<where>\S.*?:\d+:\d+): (?P<severity>error|warning): (?P<message>.*) \[(?P<code>\w+) (?P<rule>[\w-]+)\]$"
)
SNIPPET = re.compile(r"^(?P<gutter> *\d* \| )(?P<rest>.*)$")
# The labels in either language (the severity words stay English: editors' problem matchers read them).
HINT = re.compile(r"^(?P<indent> +)(?P<label>hint|ヒント): (?P<rest>.*)$")
SUMMARY = re.compile(r"^(?:\d+ files? checked|\d+ ファイルを検査): (?P<counts>.*)$")
NO_FINDINGS = ("no findings", "指摘なし")
NO_ERRORS = ("0 errors", "エラー 0 件")


def findings(text: str) -> str:
    """Lint's text: the location bold (``file:line:col``, which terminals open at the line), the severity in its
    colour, the code dim; the snippet's gutter dim and its caret in the severity's colour; the summary coloured by
    the worst finding."""
    out: list[str] = []
    severity = "error"
    for line in text.split("\n"):
        if match := FINDING.match(line):
            severity = match["severity"]
            out.append(
                f"{style(match['where'], 'bold')}: {style(severity, SEVERITY_STYLE[severity])}: {match['message']} "
                + style(f"[{match['code']} {match['rule']}]", "dim")
            )
        elif match := SNIPPET.match(line):
            rest = match["rest"]
            caret = rest.lstrip(" \t")
            if caret.startswith("^") and set(caret) <= {"^", "~"}:
                rest = rest[: len(rest) - len(caret)] + style(caret, SEVERITY_STYLE[severity])
            out.append(style(match["gutter"], "dim") + rest)
        elif match := HINT.match(line):
            out.append(f"{match['indent']}{style(match['label'] + ':', 'cyan')} {match['rest']}")
        elif match := SUMMARY.match(line):
            counts = match["counts"]
            colour = "green" if counts in NO_FINDINGS else ("yellow" if counts.startswith(NO_ERRORS) else "red")
            out.append(style(line, f"bold {colour}"))
        else:
            out.append(line)
    return "\n".join(out)


def headings(text: str) -> str:
    """The report, simulation and status text: the title and each section's first line (a line at the left edge
    after a blank line) bold, so a long report reads as sections."""
    out: list[str] = []
    after_blank = True
    for line in text.split("\n"):
        if line and after_blank and not line.startswith(" "):
            out.append(style(line, "bold"))
        else:
            out.append(line)
        after_blank = not line
    return "\n".join(out)


CAPTION = re.compile(r"^ +[^ :][^:]*:$")  # "  by entry channel:", over the indented rows that follow
WARNING = re.compile(r"^(?P<indent> +)warning: ")
VERDICT = re.compile(r"^(?P<head> +verdict: )(?P<verdict>supported|not supported|[^—]+?)(?P<tail> — .*)$")


def report(text: str) -> str:
    """``ecrm report``'s text: headings as :func:`headings`, table captions bold, warnings yellow, and each
    hypothesis' verdict green (supported), red (not supported) or yellow (not yet, not measurable)."""
    out: list[str] = []
    for line in headings(text).split("\n"):
        if CAPTION.match(line):
            out.append(style(line, "bold"))
        elif match := WARNING.match(line):
            out.append(match["indent"] + style("warning:", "yellow") + line[match.end() - 1 :])
        elif match := VERDICT.match(line):
            verdict = match["verdict"]
            colour = {"supported": "bold green", "not supported": "bold red"}.get(verdict, "yellow")
            out.append(match["head"] + style(verdict, colour) + match["tail"])
        else:
            out.append(line)
    return "\n".join(out)


STATUS_FAILED = re.compile(r"\b(?:failed|失敗) (?P<n>[1-9][\d,]*)")  # English or Japanese


def status(text: str) -> str:
    """``ecrm status``: headings bold, a non-zero failed count red, "nothing deployed" yellow."""
    painted = headings(text)
    painted = STATUS_FAILED.sub(lambda m: style(m.group(0), "bold red"), painted)
    for nothing in ("nothing deployed yet", "まだ何もデプロイされていません"):
        painted = painted.replace(nothing, style(nothing, "yellow"))
    return painted


DIFF_HEADING = re.compile(r"^(?P<what>\S.*): (?P<verb>added|removed|changed)$")
DIFF_VERB_STYLE = {"added": "green", "removed": "red", "changed": "yellow"}
ARROW = " → "


def diff(text: str) -> str:
    """``ecrm diff``'s text: each thing's heading in the colour of what happened to it (added green, removed red,
    changed yellow), and in a change the old value red and the new one green around the arrow."""
    out: list[str] = []
    for line in text.split("\n"):
        if match := DIFF_HEADING.match(line):
            verb = match["verb"]
            out.append(style(f"{match['what']}: ", "bold") + style(verb, f"bold {DIFF_VERB_STYLE[verb]}"))
        elif line.startswith("  - ") and line.count(ARROW) == 1:
            before, after = line[4:].split(ARROW)
            label, sep, old = before.rpartition(": ")
            out.append(f"  - {label}{sep}{style(old, 'red')}{ARROW}{style(after, 'green')}")
        else:
            out.append(line)
    return "\n".join(out)


RETRYING = re.compile(r"\b(?:retrying|再試行) [1-9][\d,]*")
TICK_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+")


def tick(text: str) -> str:
    """``ecrm run``'s human lines: the time dim, failures red, retries yellow."""
    painted = TICK_TIME.sub(lambda m: style(m.group(0), "dim"), text)
    painted = STATUS_FAILED.sub(lambda m: style(m.group(0), "bold red"), painted)
    return RETRYING.sub(lambda m: style(m.group(0), "yellow"), painted)
