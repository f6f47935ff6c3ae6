"""The pieces of previews and test sends that need no store: SMS segments, the allow-list, the test marks."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecrm_dsl.preview.sms_segments import segments
from ecrm_dsl.preview.staff_send import AllowList, AllowListError, as_test, channel_of, mask
from tests.test_delivery_support import make_message


@pytest.mark.parametrize(
    ("text", "count", "encoding", "units"),
    [
        ("a" * 160, 1, "GSM-7", 160),
        ("a" * 161, 2, "GSM-7", 161),
        ("a" * 306, 2, "GSM-7", 306),  # 153 a part
        ("a" * 307, 3, "GSM-7", 307),
        ("{" * 80, 1, "GSM-7", 160),  # an extended character takes two septets
        ("あ" * 70, 1, "UCS-2", 70),
        ("あ" * 71, 2, "UCS-2", 71),
        ("あ" * 134, 2, "UCS-2", 134),  # 67 a part
        ("あ" * 135, 3, "UCS-2", 135),
        ("🛒" * 35, 1, "UCS-2", 70),  # outside the BMP: two UTF-16 units each
        ("🛒" * 36, 2, "UCS-2", 72),
        ("a" * 159 + "あ", 3, "UCS-2", 160),  # one Japanese character makes the whole text UCS-2
    ],
)
def test_sms_segments(text: str, count: int, encoding: str, units: int) -> None:
    found = segments(text)
    assert (found.count, found.encoding, found.units) == (count, encoding, units)


def allow_list(tmp_path: Path, body: str) -> AllowList:
    path = tmp_path / "delivery.toml"
    path.write_text(body, encoding="utf-8")
    return AllowList.load(path)


def test_the_allow_list_matches_exact_entries_and_whole_domains(tmp_path: Path) -> None:
    allowed = allow_list(
        tmp_path,
        '[delivery]\nshop_name = "x"\n[test_send]\nallow = ["Sato@Shop.example", "*@minori.example", '
        '"Ufedcba9876543210fedcba9876543210", "090-1234-5678"]\n',
    )
    assert allowed.allows("sato@shop.example")  # email case aside
    assert not allowed.allows("sato2@shop.example")
    assert allowed.allows("anyone@MINORI.example")
    assert not allowed.allows("anyone@evil.minori.example") and not allowed.allows("a@minori.example.evil.jp")
    assert not allowed.allows("minori.example")
    assert allowed.allows("Ufedcba9876543210fedcba9876543210")
    assert not allowed.allows("UFEDCBA9876543210FEDCBA9876543210")  # LINE ids are exact
    assert allowed.allows("09012345678")  # phone numbers without their dashes
    assert AllowList.load(None).entries == () and not AllowList.load(None).allows("sato@shop.example")


@pytest.mark.parametrize(
    "body", ['[test_send]\nallow = "staff@shop.example"\n', "[test_send]\nallow = [1]\n", "test_send = 3\n"]
)
def test_a_malformed_allow_list_is_an_error_naming_the_file(tmp_path: Path, body: str) -> None:
    with pytest.raises(AllowListError, match=r"delivery.toml: \[test_send\] allow must be a list of addresses"):
        allow_list(tmp_path, body)


def test_addresses_name_their_channel_and_are_masked() -> None:
    assert channel_of("staff@shop.example") == "email"
    assert channel_of("U0123456789abcdef0123456789abcdef") == "line"
    assert channel_of("+81-90-1234-5678") == "sms"
    assert channel_of("someone") is None
    assert mask("staff@shop.example") == "s***@shop.example"
    assert mask("U0123456789abcdef0123456789abcdef") == "U01…cdef"


@pytest.mark.parametrize(
    ("channel", "field", "address"),
    [("email", "subject", "s@shop.example"), ("line", "text", "U" + "0" * 32), ("sms", "text", "09012345678")],
)
def test_a_test_message_is_marked_and_goes_only_to_the_given_address(channel: str, field: str, address: str) -> None:
    original = make_message(channel)
    test = as_test(original, address)
    assert test.test and not original.test
    assert test.content[field] == "[TEST] " + original.content[field]
    assert (
        test.idempotency_key.startswith("test:") and as_test(original, address).idempotency_key != test.idempotency_key
    )
    assert test.recipient.contact_details() == tuple(v for v in (original.recipient.name, address) if v)
