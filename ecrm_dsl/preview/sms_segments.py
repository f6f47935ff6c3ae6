"""How many SMS segments a text takes: what the customer's phone reassembles, and what the gateway bills.

GSM 03.38 text fits 160 characters in one message, 153 per part when split (the rest is the concatenation
header); anything else — Japanese included — is sent as UCS-2: 70 UTF-16 units, 67 per part.
"""

from __future__ import annotations

from dataclasses import dataclass

_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = "^{}\\[~]|€\f"  # an escape plus the character: two septets each


@dataclass(frozen=True)
class Segments:
    count: int
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)

    def __str__(self) -> str:
        plural = "" if self.count == 1 else "s"
        return f"{self.count} segment{plural} ({self.encoding}, {self.units} units)"


def segments(text: str) -> Segments:
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        return Segments(_parts(units, 160, 153), "GSM-7", units)
    units = len(text.encode("utf-16-le")) // 2  # an emoji is two units
    return Segments(_parts(units, 70, 67), "UCS-2", units)


def _parts(units: int, single: int, per_part: int) -> int:
    if units <= single:
        return 1
    return -(-units // per_part)
