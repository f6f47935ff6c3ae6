"""Comments read from source text: exactly the comments the real lexers skip, never a ``#`` inside a string.

The oracles are the real tokenizers: Lark's (with a callback on the grammar's COMMENT token) for the text
syntax, PyYAML's scanner for YAML (every character it does not put in a token is whitespace or a comment).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark, Token

from ecrm_dsl.language.comments import text_comments, yaml_comments
from ecrm_dsl.syntax.text import grammar_path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_FOLDERS = [ROOT / "tests" / "golden", ROOT / "scenarios", ROOT / "ecrm_dsl" / "starter", ROOT / "ecrm_dsl"]


def _files(suffixes: tuple[str, ...]) -> list[Path]:
    return sorted({p for folder in SOURCE_FOLDERS for p in folder.rglob("*") if p.suffix in suffixes and p.is_file()})


_LEXED: list[Token] = []


@lru_cache(maxsize=1)
def _lark() -> Lark:
    """The text grammar as the real parser builds it, reporting each COMMENT token it skips."""
    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        start=["file", "condition"],
        propagate_positions=True,
        maybe_placeholders=True,
        lexer_callbacks={"COMMENT": _LEXED.append},
    )


def lark_comments(text: str) -> list[tuple[int, int]] | None:
    """(line, column) of each COMMENT token Lark's lexer skips; None if the text does not parse."""
    _LEXED.clear()
    try:
        _lark().parse(text, start="file")
    except Exception:
        return None
    return [(t.line, t.column) for t in _LEXED]


def scanner_comment_hashes(text: str) -> set[int] | None:
    """Offsets of the ``#`` characters that PyYAML's scanner leaves outside every token; None if not YAML."""
    try:
        tokens = list(yaml.scan(text, Loader=yaml.SafeLoader))
        list(yaml.compose_all(text, Loader=yaml.SafeLoader))  # scanned is not enough: the parser must accept it
    except yaml.YAMLError:
        return None
    covered = bytearray(len(text) + 1)
    for token in tokens:
        start = token.start_mark.index
        if getattr(token, "style", None) in ("|", ">"):  # the token spans its header line's comment too
            start = text.find("\n", start) + 1 or token.end_mark.index
        for offset in range(start, token.end_mark.index):
            covered[offset] = 1
    return {i for i, char in enumerate(text) if char == "#" and not covered[i]}


def comment_hashes(text: str) -> set[int]:
    """Offsets of the ``#`` characters inside the comments :func:`yaml_comments` finds."""
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    found = set()
    for comment in yaml_comments(text):
        offset = starts[comment.line - 1] + comment.column - 1
        found.update(offset + i for i, char in enumerate(comment.text) if char == "#")
    return found


# --------------------------------------------------------------------------- text syntax


def test_text_comments_outside_strings() -> None:
    source = 'scenario a "x # y" {  # first\n  owner "a\\"#b"\n# own line\n  when order.placed # "not a string\n}'
    assert [(c.line, c.column, c.text, c.own_line) for c in text_comments(source)] == [
        (1, 23, "# first", False),
        (3, 1, "# own line", True),
        (4, 21, '# "not a string', False),
    ]


@pytest.mark.parametrize("path", _files((".ecrm",)), ids=lambda p: str(p.relative_to(ROOT)))
def test_text_comments_match_larks_lexer(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")
    expected = lark_comments(text)
    if expected is None:
        pytest.skip("does not parse (a must-reject golden)")
    assert [(c.line, c.column) for c in text_comments(text)] == expected


_strings = st.text(alphabet=st.sampled_from(list("ab #\"\\'ー{}:")), max_size=12)


@settings(max_examples=150, deadline=None)
@given(owner=_strings, note=_strings, trailing=st.booleans())
def test_text_comments_match_larks_lexer_on_generated_strings(owner: str, note: str, trailing: bool) -> None:
    quoted = '"' + owner.replace("\\", "\\\\").replace('"', '\\"') + '"'
    comment = f"  # {note}" if trailing else ""
    text = (
        f"scenario s {quoted} {{{comment}\n  kind nurture\n  owner {quoted}{comment}\n"
        f"  when order.placed\n  send email thanks_first\n}}\n"
    )
    expected = lark_comments(text)
    assert expected is not None
    assert [(c.line, c.column) for c in text_comments(text)] == expected


# --------------------------------------------------------------------------- YAML

TRICKY_YAML = """\
# yaml-language-server: $schema=x
scenario: a # trailing
title: "quoted # not" # one
url: http://example.com/#fragment
single: 'it''s # not' # two
plain: it's fine # three
body: |
  # not a comment: block scalar content
  line
# back at the top
list:
  - key: >-
      folded # no
    other: 1 # four
  - |2
      # explicit indentation, still content
  - "multi line
    # still in the string"  # five
flow: [a, "b # no", {c: 'd # no'}] # six
json: {"colon":x, "c":[1]} # seven
hash#inside: plain
"""


def test_tricky_yaml_comments() -> None:
    found = [(c.line, c.text) for c in yaml_comments(TRICKY_YAML)]
    assert found == [
        (1, "# yaml-language-server: $schema=x"),
        (2, "# trailing"),
        (3, "# one"),
        (5, "# two"),
        (6, "# three"),
        (10, "# back at the top"),
        (14, "# four"),
        (18, "# five"),
        (19, "# six"),
        (20, "# seven"),
    ]
    assert comment_hashes(TRICKY_YAML) == scanner_comment_hashes(TRICKY_YAML)


@pytest.mark.parametrize("path", _files((".yaml", ".yml")), ids=lambda p: str(p.relative_to(ROOT)))
def test_yaml_comments_match_the_scanner(path: Path) -> None:
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    expected = scanner_comment_hashes(text)
    if expected is None:
        pytest.skip("not scannable YAML (a must-reject golden)")
    assert comment_hashes(text) == expected


_scalars = st.text(alphabet=st.sampled_from(list("ab #:'\"-|>\n[]{},&*!%@`ー")), max_size=15)
_data = st.recursive(
    _scalars | st.integers() | st.booleans() | st.none(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_scalars, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(data=_data, style=st.sampled_from([None, '"', "'", "|", ">"]), flow=st.sampled_from([None, True, False]))
def test_yaml_comments_match_the_scanner_on_generated_documents(data: object, style: str | None, flow: bool) -> None:
    try:
        text = yaml.safe_dump(data, default_style=style, default_flow_style=flow, allow_unicode=True, width=20)
    except yaml.YAMLError:
        return
    assert comment_hashes(text) == scanner_comment_hashes(text) == set()
    # A comment after every line: real where the line ends outside a scalar, text inside quoted and block ones.
    commented = "".join(f"{line}  # c {i}\n" for i, line in enumerate(text.split("\n")))
    expected = scanner_comment_hashes(commented)
    if expected is not None:
        assert comment_hashes(commented) == expected
