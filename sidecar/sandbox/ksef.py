"""KSeF numbers as the national e-invoicing system (KSeF) hands them out, for the simulators."""

from __future__ import annotations

import secrets
from datetime import date

SELLER_NIP = "5252445767"  # the simulated accounts' own NIP


def ksef_number(nip: str, day: date) -> str:
    """A KSeF number in the official format: NIP-YYYYMMDD-12 hex-CRC-8 (poly 0x07, init 0)."""
    head = f"{nip}-{day:%Y%m%d}-{secrets.token_hex(6).upper()}"
    crc = 0
    for byte in head.encode("ascii"):
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return f"{head}-{crc:02X}"
