"""Polish tax identification number (NIP): normalisation and the official checksum.

The check digit is the weighted sum of the first nine digits (weights 6 5 7 2 3 4 5 6 7) modulo 11;
a remainder of 10 can never be a valid check digit, so such numbers are never issued.
"""

from __future__ import annotations

import re

_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
_SEPARATORS = re.compile(r"[\s\-.]")


def normalize(value: str | None) -> str:
    """Digits only: drops separators and a leading ``PL`` country prefix as shoppers type them."""
    text = _SEPARATORS.sub("", (value or "").strip()).upper()
    if text.startswith("PL"):
        text = text[2:]
    return text


def checksum_ok(digits: str) -> bool:
    if len(digits) != 10 or not digits.isdigit():
        return False
    remainder = sum(int(d) * w for d, w in zip(digits[:9], _WEIGHTS, strict=True)) % 11
    return remainder != 10 and remainder == int(digits[9])


def is_valid(value: str | None) -> bool:
    return checksum_ok(normalize(value))


def validate(value: str | None) -> str:
    """The normalised NIP, or ValueError saying what is wrong in words a shop admin understands."""
    digits = normalize(value)
    if len(digits) != 10 or not digits.isdigit():
        raise ValueError(f"NIP {value!r} must have 10 digits")
    if not checksum_ok(digits):
        raise ValueError(f"NIP {value!r} has a wrong check digit (not a valid Polish NIP)")
    return digits
