"""A tiny but valid PDF 1.4 writer for the simulators' invoice PDFs (no dependency, one page, text only).

Valid means what readers check: the header, objects at the byte offsets the cross-reference table
states, a trailer naming the catalog, and ``startxref`` pointing at the table. Text uses the standard
Helvetica font with WinAnsiEncoding, which has no Polish letters, so text is transliterated to ASCII.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

_POLISH = str.maketrans({"ł": "l", "Ł": "L"})


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_POLISH))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def _escape(text: str) -> str:
    return _ascii(text).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def render(lines: Iterable[str], title: str = "Invoice") -> bytes:
    """One A4 page with ``lines`` of text, top to bottom."""
    ops = ["BT", "/F1 11 Tf", "14 TL", "50 800 Td"]
    for i, line in enumerate(list(lines)[:52]):  # what fits on one page
        ops.append(f"({_escape(line)}) Tj" if i == 0 else f"T* ({_escape(line)}) Tj")
    ops.append("ET")
    stream = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Title (" + _escape(title).encode("ascii") + b") /Producer (BPM Bridge sandbox) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # binary comment: marks the file as binary
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\n" % (len(objects) + 1, len(objects))
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
