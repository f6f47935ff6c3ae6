"""``ecrm fmt``: golden before/after pairs, idempotence, and meaning kept on every example source.

Each ``tests/golden/fmt/CASE/before.*`` is a realistic, messily written source; ``after.*`` is what fmt makes
of it (review by eye when regenerating with ECRM_UPDATE_GOLDENS=1).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrm_dsl.format import checked_format, format_source
from ecrm_dsl.format.text_scan import scan_text
from ecrm_dsl.format.yaml_scan import scan_yaml
from ecrm_dsl.language.diagnostics import DiagnosticError
from ecrm_dsl.syntax.text import parse_text
from ecrm_dsl.syntax.yaml_frontend import parse_yaml_scenarios
from ecrm_dsl.syntax.yaml_source import load_yaml
from tests.goldens import assert_golden

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden" / "fmt"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
SOURCES = sorted(
    p
    for folder in (ROOT / "scenarios", ROOT / "ecrm_dsl" / "presets", ROOT / "tests" / "golden" / "constructs")
    for p in folder.rglob("*")
    if p.suffix in (".ecrm", ".yaml", ".yml")
)


def _pair(case: str) -> tuple[Path, Path]:
    before = next((GOLDEN / case).glob("before.*"))
    return before, before.with_name(f"after{before.suffix}")


def _typed(value: Any) -> Any:
    """Data with its types spelled out, so that 1, 1.0, True and "1" compare unequal."""
    if isinstance(value, dict):
        return ("map", sorted(((type(k).__name__, str(k)), _typed(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("seq", [_typed(v) for v in value])
    return (type(value).__name__, value)


def assert_same_meaning(before: str, after: str, suffix: str) -> None:
    if suffix == ".ecrm":
        old, old_findings = parse_text(before, "x.ecrm")
        new, new_findings = parse_text(after, "x.ecrm")
        assert new_findings == old_findings == [] and new == old
        return
    old_docs, new_docs = load_yaml(before, "x.yaml"), load_yaml(after, "x.yaml")
    assert [_typed(d.data) for d in new_docs] == [_typed(d.data) for d in old_docs]
    if any(isinstance(d.data, dict) and not {"preset", "parameters"} & set(d.data) for d in old_docs):
        # scenarios build equal ASTs (spans do not count); other files give [] on both sides
        assert parse_yaml_scenarios(after, "x.yaml")[0] == parse_yaml_scenarios(before, "x.yaml")[0]


def comments(text: str, suffix: str) -> Counter[str]:
    if suffix == ".ecrm":
        return Counter(c.text for c in scan_text(text)[0])
    scan = scan_yaml(text)
    return Counter(c.text for c in [*scan.comments, *scan.header_comments])


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    before, after = _pair(case)
    formatted = checked_format(before.read_text(encoding="utf-8"), before.suffix, f"{case}/{before.name}")
    assert_golden(after, formatted)


@pytest.mark.parametrize("case", CASES)
def test_golden_pair_changes_layout_only(case: str) -> None:
    before, after = _pair(case)
    old, new = before.read_text(encoding="utf-8"), after.read_text(encoding="utf-8")
    assert old != new  # every pair exercises something
    assert_same_meaning(old, new, before.suffix)
    assert comments(new, before.suffix) == comments(old, before.suffix)


@pytest.mark.parametrize("case", CASES)
def test_golden_output_is_already_formatted(case: str) -> None:
    _, after = _pair(case)
    text = after.read_text(encoding="utf-8")
    assert format_source(text, after.suffix, after.name) == text


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_examples_keep_meaning_and_comments_and_are_idempotent(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    once = format_source(text, path.suffix, path.name)  # unchecked: the formatter itself is under test
    assert format_source(once, path.suffix, path.name) == once
    assert_same_meaning(text, once, path.suffix)
    assert comments(once, path.suffix) == comments(text, path.suffix)


def test_times_are_quoted_and_stay_strings_for_ecrm() -> None:
    source = "timezone: Asia/Tokyo\nquiet_hours: {start: 21:00, end: '09:00'}\n"
    formatted = format_source(source, ".yaml", "policies.yaml")
    assert formatted == 'timezone: Asia/Tokyo\nquiet_hours: {start: "21:00", end: "09:00"}\n'
    assert load_yaml(formatted, "p.yaml")[0].data == {
        "timezone": "Asia/Tokyo",
        "quiet_hours": {"start": "21:00", "end": "09:00"},
    }


def test_strings_another_yaml_reader_would_retype_keep_their_quotes() -> None:
    source = "a: 'yes'\nb: '1e3'\nc: '0o17'\nd: 'True'\ne: '12'\nf: 'plain text'\ng: 'it''s'\nh: '\"q\" start'\n"
    assert format_source(source, ".yaml", "x.yaml") == (
        'a: "yes"\nb: "1e3"\nc: "0o17"\nd: "True"\ne: "12"\nf: plain text\ng: it\'s\nh: \'"q" start\'\n'
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # a comment inside a flow collection turns it into a block, so the comment keeps its line
        (
            "segment: s\nwhere: a == 1\ntags: [a,  # first\n  b]\n",
            "segment: s\nwhere: a == 1\ntags:\n  - a  # first\n  - b\n",
        ),
        # an end-of-line comment after a value written over two lines stays with that value
        ("priority: [a,\n  b]  # order\ntimezone: UTC\n", "timezone: UTC\npriority: [a, b]  # order\n"),
        # comments at the end of a block stay there, at the block's indentation
        (
            "steps:\n  - send: {channel: email, template: t}\n    # end of the step\n  # end of steps\n# end\n",
            "steps:\n  - send: {channel: email, template: t}\n    # end of the step\n  # end of steps\n# end\n",
        ),
        # a document's header stays on top when its first key moves; the blank line under it stays too
        (
            "# header\n\nkind: sell  # k\nscenario: x\n",
            "# header\n\nscenario: x\nkind: sell  # k\n",
        ),
        # a comment above a key travels with it; a block scalar's header comment stays on its header
        (
            "channels:\n  email:\n    body: |  # note\n        text\n    # about subject\n    subject: hi\n"
            "template: t\n",
            "template: t\nchannels:\n  email:\n    # about subject\n    subject: hi\n    body: |  # note\n      text\n",
        ),
    ],
)
def test_yaml_comment_placement(source: str, expected: str) -> None:
    assert format_source(source, ".yaml", "x.yaml") == expected


TEXT_HEAD = "scenario x {\n  kind sell\n  when order.placed\n\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # end-of-line comments stay on their line; full-line comments stay above their step, indented like it
        (
            "    send email a   # eol\n      # before b\n  send email b\n",
            "  send email a  # eol\n  # before b\n  send email b\n",
        ),
        # comments at the end of a block stay before its closing brace
        (
            "  @r if customer.order_count == 1 {\n    send email a\n  # end of if\n  }\n",
            "  @r if customer.order_count == 1 {\n    send email a\n    # end of if\n  }\n",
        ),
        # a comment inside a construct printed on one line goes just above it
        (
            '  send email a with {\n    code = "X",  # the code\n  }\n',
            '  # the code\n  send email a with { code = "X" }\n',
        ),
        # at most one blank line between steps, and only where the author left one
        ("  send email a\n\n\n  send email b\n  send email c\n", "  send email a\n\n  send email b\n  send email c\n"),
    ],
)
def test_text_comment_placement(body: str, expected: str) -> None:
    assert format_source(TEXT_HEAD + body + "}\n", ".ecrm", "x.ecrm") == TEXT_HEAD + expected + "}\n"


def test_text_items_move_with_their_comments() -> None:
    source = "# file header\n\nscenario x {\n  # the trigger\n  when order.placed  # any order\n  kind sell\n}\n"
    assert format_source(source, ".ecrm", "x.ecrm") == (
        "# file header\n\nscenario x {\n  kind sell\n  # the trigger\n  when order.placed  # any order\n}\n"
    )


COMMENT_TEXTS = st.sampled_from(["# メモ", "# TODO: 見直す", "#x", "# 10:00 に送る"])


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(CASES),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.booleans(), st.integers(0, 8), COMMENT_TEXTS), max_size=6),
)
def test_comments_anywhere_are_kept_and_formatting_stays_stable(
    case: str, edits: list[tuple[int, bool, int, str]]
) -> None:
    """Comments added at random (own lines at any indentation, or line ends) never make fmt unsafe or unstable."""
    before, _ = _pair(case)
    lines = before.read_text(encoding="utf-8").split("\n")
    for position, own_line, indent, text in edits:
        at = position % len(lines)
        if own_line:
            lines.insert(at, " " * indent + text)
        else:
            lines[at] += "  " + text
    source = "\n".join(lines)
    try:
        format_source(source, before.suffix, before.name)
    except DiagnosticError:
        return  # the edit broke the syntax (a '#' inside a block scalar line is text, ...): nothing to format
    checked_format(source, before.suffix, before.name)  # raises UnsafeFormat if meaning, comments or stability fail


def test_text_defaults_written_out_stay() -> None:
    head = "scenario x {\n  kind sell\n  when order.placed\n"
    source = head + "  holdout 0%\n  reentry never  # once only\n}\n"
    assert format_source(source, ".ecrm", "x.ecrm") == head + "  reentry never  # once only\n  holdout 0%\n}\n"
