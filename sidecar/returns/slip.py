"""The PDF return slip: what the customer puts in (or sticks on) the parcel when there is no carrier label.

One A4 page, drawn with reportlab: the shop's return address, the RMA number in large type and as a
Code 128 barcode (so the shop's warehouse scans it on arrival), the order number, the returned items
with their quantities and the customer's name. Nothing else about the customer.

Polish letters need a Unicode font: DejaVu Sans is used when the system has it (Debian's
fonts-dejavu-core); without it the text falls back to Helvetica, transliterated to ASCII, so the slip
is always produced.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
BAR_MODULE = 0.45 * mm  # one Code 128 module: wide enough for a phone camera and a cheap scanner
BAR_HEIGHT = 22 * mm
MAX_ITEMS = 25  # a slip is one page; a longer return lists the first ones and how many more
# What NFKD cannot take apart: Polish ł, and the signs the slip prints (the multiplication sign, dashes).
_POLISH = str.maketrans({"ł": "l", "Ł": "L", "\u00d7": "x", "\u2014": "-", "\u2013": "-", "\u2026": "..."})


@dataclass(frozen=True)
class SlipData:
    rma_number: str  # "RMA-000042": printed and encoded in the barcode
    order_number: str
    customer_name: str
    return_address: Sequence[str]  # the shop's return address, one line each
    items: Sequence[tuple[str, int]] = field(default_factory=tuple)  # (name, quantity)
    shop_name: str = ""
    note: str = ""  # e.g. why this slip was made instead of a carrier label


def _fonts() -> tuple[str, str, bool]:
    """(regular, bold, unicode?): DejaVu when installed, else Helvetica."""
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            if "BpmSans" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("BpmSans", str(regular)))
                pdfmetrics.registerFont(TTFont("BpmSans-Bold", str(bold)))
            return "BpmSans", "BpmSans-Bold", True
    return "Helvetica", "Helvetica-Bold", False


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text.translate(_POLISH)).encode("ascii", "ignore").decode("ascii")


def barcode(value: str) -> Code128:
    """The slip's barcode (also used by the tests to check what the bars encode)."""
    return Code128(value, barWidth=BAR_MODULE, barHeight=BAR_HEIGHT, humanReadable=False, quiet=True)


def render(slip: SlipData) -> bytes:
    regular, bold, unicode_ok = _fonts()

    def t(text: str) -> str:
        return text if unicode_ok else _ascii(text)

    out = io.BytesIO()
    height = A4[1]
    canvas = Canvas(out, pagesize=A4, pageCompression=1, invariant=1)
    canvas.setTitle(f"Return slip {slip.rma_number}")
    canvas.setAuthor(t(slip.shop_name) or "BPM Bridge")
    left, y = 20 * mm, height - 25 * mm

    canvas.setFont(bold, 13)
    canvas.drawString(left, y, t("Return slip — Zwrot towaru"))
    y -= 18 * mm
    canvas.setFont(bold, 34)
    canvas.drawString(left, y, slip.rma_number)
    y -= 6 * mm + BAR_HEIGHT
    code = barcode(slip.rma_number)
    code.drawOn(canvas, left, y)
    y -= 12 * mm

    canvas.setFont(bold, 12)
    canvas.drawString(left, y, t("Send the parcel to / Adres zwrotu:"))
    canvas.setFont(regular, 14)
    for line in slip.return_address:
        if line.strip():
            y -= 7 * mm
            canvas.drawString(left + 4 * mm, y, t(line.strip()))
    y -= 12 * mm

    canvas.setFont(regular, 11)
    canvas.drawString(left, y, t(f"Order / Zamówienie: {slip.order_number}"))
    y -= 6 * mm
    canvas.drawString(left, y, t(f"Customer / Klient: {slip.customer_name}"))
    y -= 12 * mm

    width = A4[0] - 2 * left

    def wrapped(text: str, font: str, size: float, indent: float = 0, lines: int = 3) -> list[str]:
        """A long name or note wraps onto up to ``lines`` lines instead of running off the page."""
        split = simpleSplit(t(text), font, size, width - indent) or [""]
        if len(split) > lines:
            split = [*split[: lines - 1], split[lines - 1] + " ..."]
        return split

    canvas.setFont(bold, 12)
    canvas.drawString(left, y, t("Returned items / Zwracane produkty:"))
    canvas.setFont(regular, 11)
    shown = 0
    for name, quantity in list(slip.items)[:MAX_ITEMS]:
        parts = wrapped(f"{quantity} \u00d7 {name}", regular, 11, 8 * mm)
        if y - (6 + 5 * len(parts)) * mm < 45 * mm:
            break  # one page: the footer lines must still fit
        for n, part in enumerate(parts):
            y -= (6 if n == 0 else 5) * mm
            canvas.drawString(left + (4 if n == 0 else 8) * mm, y, part)
        shown += 1
    if len(slip.items) > shown:
        y -= 6 * mm
        canvas.drawString(left + 4 * mm, y, t(f"… and {len(slip.items) - shown} more"))
    y -= 14 * mm

    canvas.setFont(regular, 10)
    for line in (
        "Put this slip in the parcel, or stick it on the box, so we can match your return at once.",
        "Włóż tę kartkę do paczki lub naklej ją na karton — dzięki temu od razu rozpoznamy zwrot.",
        slip.note,
    ):
        for part in wrapped(line, regular, 10) if line else ():
            canvas.drawString(left, y, part)
            y -= 5 * mm
    canvas.showPage()
    canvas.save()
    return out.getvalue()
