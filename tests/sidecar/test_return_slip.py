"""The PDF return slip: it parses, it says what the parcel needs (the RMA number, the shop's return address,
the order, the items, the customer's name), and its barcode really encodes the RMA number.

The barcode check reads the bars back from the rendered page (poppler's pdftoppm), not from the encoder:
the run widths are turned into Code 128 symbol values with the standard width table, and the values are
interpreted here — start code, code-set switches, the mod-103 checksum — so a barcode of anything else,
or bars the encoder drew wrong, fails.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from reportlab.graphics.barcode.code128 import _patterns as CODE128_WIDTHS

from sidecar.providers.carriers.base import Party, ReturnParcel
from sidecar.providers.carriers.return_slip import ReturnSlip
from sidecar.returns.slip import SlipData, render

START = {103: "A", 104: "B", 105: "C"}
STOP = 106
DPI = 300


def slip_pdf(number: str = "RMA-000042") -> bytes:
    parcel = ReturnParcel(
        rma_id=42,
        reference=number,
        order_number="1234",
        method="locker",
        sender=Party(first_name="Anna", last_name="Nowak", email="anna@example.com", phone="501202303"),
        receiver=Party(
            company_name="Sklep Łąka",
            street="Piotrkowska",
            building_number="100",
            post_code="90-001",
            city="Łódź",
        ),
        items=(("Kawa ziarnista 1 kg", 2), ("Herbata zielona", 1)),
    )
    slip = ReturnSlip({}, None)
    return slip.label_pdf(slip.create(parcel), parcel)


def text_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "slip.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def bar_runs(pdf: bytes, tmp_path: Path) -> list[int]:
    """The widths (pixels) of the bars and spaces of the barcode: the run pattern that repeats over the most
    rows of the page (a barcode is a tall stack of identical rows; lines of text are not)."""
    path = tmp_path / "slip.pdf"
    path.write_bytes(pdf)
    command = ["pdftoppm", "-r", str(DPI), "-gray", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")]
    subprocess.run(command, check=True)
    raw = next(tmp_path.glob("page*.pgm")).read_bytes()
    # Binary PGM: "P5\n<w> <h>\n<max>\n" then one byte per pixel.
    header, rest = raw.split(b"\n", 1)
    assert header == b"P5"
    size, rest = rest.split(b"\n", 1)
    _, pixels = rest.split(b"\n", 1)
    width, height = (int(v) for v in size.split())
    rows: Counter[tuple[int, ...]] = Counter()
    for y in range(0, height, 2):
        dark = [p < 128 for p in pixels[y * width : (y + 1) * width]]
        if True not in dark:
            continue
        first, last = dark.index(True), width - 1 - dark[::-1].index(True)
        runs, count = [], 1
        for a, b in zip(dark[first:last], dark[first + 1 : last + 1], strict=True):
            if a == b:
                count += 1
            else:
                runs.append(count)
                count = 1
        runs.append(count)
        if len(runs) > 30:
            rows[tuple(runs)] += 1
    assert rows, "no barcode on the page"
    return list(rows.most_common(1)[0][0])


def decode_code128(runs: list[int]) -> str:
    module = min(runs)
    widths = [round(r / module) for r in runs]
    table = {pattern: value for value, pattern in CODE128_WIDTHS.items()}
    values, i = [], 0
    while i < len(widths):
        size = 7 if sum(widths[i : i + 7]) == 13 and len(widths) - i == 7 else 6
        group = widths[i : i + size]
        pattern = "".join(chr((64 if k % 2 == 0 else 96) + w) for k, w in enumerate(group))
        assert pattern in table, f"bars {group} are no Code 128 symbol"
        values.append(table[pattern])
        i += size
    assert values[0] in START and values[-1] == STOP, values
    *data, checksum = values[1:-1]
    assert checksum == (values[0] + sum(k * v for k, v in enumerate(data, 1))) % 103, "checksum"
    code, out = START[values[0]], []
    for v in data:
        if v == 99 and code != "C":
            code = "C"
        elif v == 100 and code != "B":
            code = "B"
        elif v == 101 and code != "A":
            code = "A"
        elif code == "C":
            out.append(f"{v:02d}")
        else:
            out.append(chr(v + 32))
    return "".join(out)


def test_the_slip_parses_and_says_what_the_parcel_needs(tmp_path: Path) -> None:
    pdf = slip_pdf()
    assert pdf.startswith(b"%PDF-") and len(pdf) < 1_000_000
    text = text_of(pdf, tmp_path)
    times = "\u00d7"
    for expected in ("RMA-000042", "Sklep Łąka", "Piotrkowska 100", "90-001 Łódź", "1234", "Anna Nowak",
                     f"2 {times} Kawa ziarnista 1 kg", f"1 {times} Herbata zielona"):  # fmt: skip
        assert expected in text, expected
    assert (
        "anna@example.com" not in text and "501202303" not in text
    )  # the slip is read by whoever handles it


@pytest.mark.parametrize("number", ["RMA-000042", "RMA-123457"])
def test_the_barcode_encodes_the_rma_number(tmp_path: Path, number: str) -> None:
    assert decode_code128(bar_runs(slip_pdf(number), tmp_path)) == number


def test_the_decoder_refuses_a_barcode_of_something_else(tmp_path: Path) -> None:
    pdf = render(SlipData("RMA-000042", "1", "A", ["Shop"]))
    assert decode_code128(bar_runs(pdf, tmp_path)) != "RMA-000043"


def test_a_long_return_stays_one_page(tmp_path: Path) -> None:
    pdf = render(SlipData("RMA-000001", "9", "Jan", ["Shop", "Street 1", "00-001 City"],
                          [(f"Item {i}", 1) for i in range(60)]))  # fmt: skip
    text = text_of(pdf, tmp_path)
    listed = re.search(r"and (\d+) more", text)
    assert listed and int(listed.group(1)) >= 35 and text.count("\f") <= 1
    assert "Put this slip in the parcel" in text  # the footer still on the page


def test_long_names_and_notes_wrap_instead_of_being_cut(tmp_path: Path) -> None:
    name = "Zestaw " + " ".join(f"część{i}" for i in range(20)) + " KONIEC"
    note = "InPost refused the locker code WAW999 " + "because " * 12 + "so this slip was made FINIS"
    text = text_of(render(SlipData("RMA-000002", "9", "Jan", ["Shop"], [(name, 1)], note=note)), tmp_path)
    assert "KONIEC" in text and "FINIS" in text


def test_the_ascii_fallback_keeps_signs_readable() -> None:
    from sidecar.returns.slip import _ascii

    assert _ascii("2 \u00d7 Kawa \u2014 Łódź \u2013 ok\u2026") == "2 x Kawa - Lodz - ok..."


def test_many_long_names_still_fit_one_page(tmp_path: Path) -> None:
    items = [(f"Produkt {i} " + "bardzo długa nazwa " * 9, 1) for i in range(25)]
    text = text_of(render(SlipData("RMA-000003", "9", "Jan", ["Shop"], items, note="NOTE")), tmp_path)
    assert "more" in text and "NOTE" in text and text.count("\f") <= 1
