"""The one conversion between our columns (code points) and LSP positions (UTF-16 units, or UTF-8 bytes)."""

from __future__ import annotations

import pytest
from lsprotocol import types

from ecrm_dsl.language.ast import Span
from ecrm_dsl.lsp.positions import UTF8, UTF16, UTF32, from_units, offset_at, span_range, text_lines, to_units

LINE = '  if customer.persona == "ギフト🎁": send emial x'
SEND = LINE.index("send")  # 31 code points in


def test_utf16_counts_an_emoji_as_two_units_and_kana_as_one():
    assert to_units(LINE, SEND, UTF16) == SEND + 1
    assert to_units(LINE, SEND, UTF8) == len(LINE[:SEND].encode("utf-8")) == SEND + 3 * 2 + 3
    assert to_units(LINE, SEND, UTF32) == SEND


@pytest.mark.parametrize("encoding", [UTF8, UTF16, UTF32])
def test_positions_round_trip(encoding: str):
    for index in range(len(LINE) + 1):
        assert from_units(LINE, to_units(LINE, index, encoding), encoding) == index


def test_a_position_inside_a_character_rounds_down_and_past_the_end_is_the_end():
    emoji = LINE.index("🎁")
    assert from_units(LINE, to_units(LINE, emoji, UTF16) + 1, UTF16) == emoji  # between the surrogates
    assert from_units(LINE, 10_000, UTF16) == len(LINE)


def test_a_span_becomes_a_range_on_the_same_characters():
    lines = text_lines("scenario x {\n" + LINE + "\n}")
    span = Span("x.ecrm", 2, SEND + 1, 2, SEND + 5)
    assert span_range(lines, span, UTF16) == types.Range(types.Position(1, SEND + 1), types.Position(1, SEND + 5))
    assert offset_at(lines, types.Position(1, SEND + 1), UTF16) == (2, SEND + 1)


def test_a_span_without_an_end_covers_the_name_at_its_start():
    lines = text_lines(LINE)
    start = LINE.index("emial")
    found = span_range(lines, Span("x.ecrm", 1, start + 1), UTF16)
    assert (found.start.character, found.end.character) == (start + 1, start + 1 + len("emial"))


def test_a_japanese_name_without_an_end_is_covered_whole():
    line = "  when segment 🎁休眠セグメント"
    start = line.index("休眠")
    found = span_range(text_lines(line), Span("x.ecrm", 1, start + 1), UTF16)
    assert (found.start.character, found.end.character) == (start + 1, start + 1 + len("休眠セグメント"))
