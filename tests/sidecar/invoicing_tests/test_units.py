"""Pure functions: NIP checksum, order → document, rules, the intent marker, the PDF writer, privacy."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from sidecar import nip, privacy
from sidecar.errors import PermanentError
from sidecar.invoicing import rules
from sidecar.invoicing.document import build_document, payment_type, warsaw_date
from sidecar.providers.invoicing.base import Intent
from sidecar.sandbox import pdf

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # already 24 Nov in Warsaw


@pytest.mark.parametrize(
    "value", ["6272616681", "5252445767", "PL 526-104-08-28", "1111111111", "9876543210"]
)
def test_valid_nips(value: str) -> None:
    assert nip.is_valid(value)


@pytest.mark.parametrize(
    "value", ["1234567890", "5272616681", "5252445700", "123", "", "52524457671", "abcdefghij"]
)
def test_invalid_nips(value: str) -> None:
    assert not nip.is_valid(value)
    with pytest.raises(ValueError):
        nip.validate(value)


def line(
    item_id: int, name: str, qty: int, net: str, tax: str, rate_id: int | None, subtotal: str | None = None
) -> dict:
    taxes = [{"id": rate_id, "total": tax, "subtotal": tax}] if rate_id else []
    return {
        "id": item_id,
        "name": name,
        "quantity": qty,
        "subtotal": subtotal or net,
        "subtotal_tax": tax,
        "total": net,
        "total_tax": tax,
        "taxes": taxes,
        "meta_data": [],
    }


def order(**overrides: Any) -> dict[str, Any]:
    base = {
        "id": 7,
        "number": "7",
        "status": "processing",
        "currency": "PLN",
        "total": "170.99",
        "payment_method": "bacs",
        "date_created_gmt": "2026-11-23T10:00:00",
        "date_paid_gmt": "2026-11-23T23:10:00",
        "billing": {
            "first_name": "Anna",
            "last_name": "Nowak",
            "company": "",
            "email": "a@example.com",
            "phone": "1",
        },
        "meta_data": [],
        "line_items": [line(1, "A", 2, "81.30", "18.70", 1), line(2, "B", 1, "50.00", "4.00", 2)],
        "shipping_lines": [
            {
                "id": 3,
                "method_title": "Kurier",
                "total": "13.81",
                "total_tax": "3.18",
                "taxes": [{"id": 1, "total": "3.18"}],
            }
        ],
        "fee_lines": [],
        "tax_lines": [
            {"rate_id": 1, "label": "VAT 23%", "rate_percent": 23},
            {"rate_id": 2, "label": "VAT 8%", "rate_percent": 8},
        ],
        "coupon_lines": [],
    }
    return base | overrides


def build(o: dict[str, Any], kind: str = "vat", reason: str | None = None) -> Any:
    return build_document(privacy.for_invoice(o, with_email=True), kind, exemption_reason=reason, now=NOW)  # type: ignore[arg-type]


def test_positions_rates_and_warsaw_dates() -> None:
    doc = build(order())
    assert [(p.name, p.tax, p.total_gross) for p in doc.positions] == [
        ("A", "23", Decimal("100.00")),
        ("B", "8", Decimal("54.00")),
        ("Dostawa: Kurier", "23", Decimal("16.99")),
    ]
    assert doc.total_gross == Decimal("170.99") and not doc.b2b and doc.buyer.name == "Anna Nowak"
    assert str(doc.issue_date) == "2026-11-24" and str(doc.sell_date) == "2026-11-24"  # Europe/Warsaw
    assert doc.key == "wc-7-vat" and doc.payment_type == "transfer" and doc.paid


def test_total_mismatch_is_refused_with_the_difference() -> None:
    with pytest.raises(PermanentError, match=r"difference 0\.01"):
        build(order(total="171.00"))


def test_foreign_rate_and_compound_taxes_are_refused() -> None:
    foreign = order(
        tax_lines=[{"rate_id": 1, "label": "VAT 19%", "rate_percent": 19}, {"rate_id": 2, "rate_percent": 8}]
    )
    with pytest.raises(PermanentError, match="19%"):
        build(foreign)
    compound = order()
    compound["line_items"][0]["taxes"] = [{"id": 1, "total": "10.00"}, {"id": 2, "total": "8.70"}]
    with pytest.raises(PermanentError, match="several tax rates"):
        build(compound)


def test_rate_inferred_without_rate_percent_rounds_half_up_and_never_guesses() -> None:
    """Older WooCommerce omits rate_percent; VAT is rounded half up (art. 106e ust. 11, PHP round())."""

    def small(net: str, tax: str) -> dict[str, Any]:
        total = str(Decimal(net) + Decimal(tax))
        return order(
            total=total,
            line_items=[line(1, "Próbka", 1, net, tax, 1)],
            shipping_lines=[],
            tax_lines=[{"rate_id": 1, "label": "VAT"}],
        )

    assert [p.tax for p in build(small("81.30", "18.70")).positions] == ["23"]
    # 0.10 at 5 % is 0.005: half up that is 0.01, so a 0.00 VAT can only be 0 % (half-even said 5 %).
    assert [p.tax for p in build(small("0.10", "0.00")).positions] == ["0"]
    # 0.01 VAT on 0.10 fits both 8 % and 5 %: refused rather than a rate picked by chance.
    with pytest.raises(PermanentError, match="cannot tell its VAT rate"):
        build(small("0.10", "0.01"))


def test_exempt_line_needs_a_reason() -> None:
    exempt = order(total="50.00", line_items=[line(1, "Kurs", 1, "50.00", "0.00", None)], shipping_lines=[])
    with pytest.raises(PermanentError, match="exemption reason"):
        build(exempt)
    assert build(exempt, reason="art. 113").positions[0].tax == "zw"


def test_nip_makes_a_b2b_vat_invoice_and_a_bad_one_is_named() -> None:
    with_nip = order(meta_data=[{"key": "_billing_nip", "value": "PL5252445767"}])
    with_nip["billing"]["company"] = "Firma"
    doc = build(with_nip, kind="receipt")
    assert doc.kind == "vat" and doc.b2b and doc.buyer.nip == "5252445767" and doc.buyer.name == "Firma"
    with pytest.raises(PermanentError, match="5252445700"):
        build(order(meta_data=[{"key": "_billing_nip", "value": "5252445700"}]))


def test_discount_is_informational_and_totals_stay_charged_amounts() -> None:
    discounted = order()
    discounted["line_items"][0]["subtotal"] = "90.00"  # 110.70 before the coupon, 100.00 charged
    discounted["line_items"][0]["subtotal_tax"] = "20.70"
    doc = build(discounted)
    assert doc.positions[0].total_gross == Decimal("100.00")
    assert doc.positions[0].discount_gross == Decimal("10.70")


def test_payment_types_and_dates() -> None:
    assert [
        payment_type(g) for g in ("cod", "stripe_cc", "payu_gateway", "przelewy24", "ppcp-gateway", "x")
    ] == [
        "cash_on_delivery",
        "card",
        "payu",
        "przelewy24",
        "paypal",
        "transfer",
    ]
    assert str(warsaw_date("2026-07-31T22:30:00")) == "2026-08-01"  # summer time, UTC+2


@pytest.mark.parametrize(
    ("status", "method", "paid", "due"),
    [
        ("processing", "bacs", True, True),
        ("on-hold", "bacs", False, False),
        ("pending", "bacs", False, False),
        ("cancelled", "bacs", False, False),
        ("processing", "cod", False, False),
        ("completed", "cod", False, True),
        ("refunded", "bacs", True, False),
    ],
)
def test_rules(status: str, method: str, paid: bool, due: bool) -> None:
    config = {
        "trigger": {"default": "paid", "by_payment_method": {"cod": "completed"}},
        "b2c_document": "receipt",
    }
    o = order(status=status, payment_method=method, date_paid_gmt="2026-11-23T10:00:00" if paid else None)
    decision = rules.decide(o, config)
    assert decision.due is due, decision.reason
    if due:
        assert decision.kind == "receipt"


def test_intent_round_trip() -> None:
    intent = Intent("infakt", "34263ae5-4365-4ba1-a38d-c7952c5a5715", 1700000000)
    assert Intent.decode(intent.encode()) == intent
    assert Intent.decode("123") is None and Intent.decode("") is None


def test_privacy_invoice_data_has_no_phone_or_shipping_address() -> None:
    data = privacy.for_invoice(order(customer_note="call me", shipping={"address_1": "x"}), with_email=False)
    flat = repr(data)
    assert "phone" not in flat and "call me" not in flat and "a@example.com" not in flat
    assert privacy.for_invoice(order(), with_email=True)["buyer"]["email"] == "a@example.com"
    crm = privacy.for_crm(order(), marketing_consent=False)
    assert "marketing_consent" not in crm["contact"]


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils (pdfinfo) is not installed")
def test_pdf_is_valid_for_poppler(tmp_path: Any) -> None:
    path = tmp_path / "fv.pdf"
    path.write_bytes(
        pdf.render(["Faktura FV 1/11/2026", "Zażółć gęślą jaźń (x)", "Razem: 10.00 PLN"], "FV 1/11/2026")
    )
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert "Pages:           1" in info.stdout and not info.stderr
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Zazolc gesla jazn (x)" in text and "Razem: 10.00 PLN" in text


def test_pdf_xref_offsets_point_at_objects() -> None:
    data = pdf.render(["x"])
    xref = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert data[xref:].startswith(b"xref")
    rows = data[xref:].split(b"\n")[3:9]
    for number, row in enumerate(rows, start=1):
        offset = int(row[:10])
        assert data[offset:].startswith(b"%d 0 obj" % number)
