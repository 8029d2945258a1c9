"""invoice.issue end to end against the WooCommerce simulator and both provider simulators.

Every test ends by asserting, from the provider simulator's own document list, that exactly one
document per (order, kind) exists and that its total equals the order's.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from sidecar.errors import PermanentError

from .invoicing_harness import VALID_NIP, Harness


def exactly_one(shop: Harness, order: dict, kind: str = "vat") -> dict:
    docs = shop.documents(order["id"])
    assert [d["kind"] for d in docs] == [kind], docs
    assert shop.total(docs[0]) == Decimal(order["total"])
    return docs[0]


def test_b2b_invoice_with_mixed_rates_shipping_and_fee(shop: Harness) -> None:
    order = shop.order(
        nip=VALID_NIP,
        items=[
            {"name": "Kawa ziarnista 1 kg", "price": "89.99", "qty": 2, "tax": "23"},
            {"name": "Książka", "price": "45.50", "qty": 1, "tax": "5"},
            {"name": "Ciastka", "price": "12.34", "qty": 3, "tax": "8"},
        ],
        shipping={"price": "16.99", "method": "InPost Paczkomat"},
        fees=[{"name": "Opakowanie prezentowe", "amount": "5.00"}],
    )
    outcome = shop.run("invoice.issue", order["id"])
    assert outcome.status == "done", outcome.message
    doc = exactly_one(shop, order)
    meta = shop.meta(order["id"])
    assert meta["_bpm_invoice_id"] == str(doc["id"] if shop.provider == "fakturownia" else doc["uuid"])
    assert meta["_bpm_invoice_number"] == doc["number"]
    assert meta["_bpm_invoice_provider"] == shop.provider
    assert meta["_bpm_invoice_kind"] == "vat"
    assert meta["_bpm_invoice_url"].startswith("http")
    if shop.provider == "fakturownia":
        assert doc["buyer_tax_no"] == VALID_NIP and doc["buyer_company"] is True
        assert doc["buyer_name"] == "Kowalski Sp. z o.o."
        assert sorted(p["tax"] for p in doc["positions"]) == ["23", "23", "23", "5", "8"]
        assert doc["status"] == "paid" and doc["oid"] == f"wc-{order['id']}-vat"
    else:
        assert (
            doc["client_tax_code"] == VALID_NIP and doc["client_business_activity_kind"] == "other_business"
        )
        assert sorted(s["tax_symbol"] for s in doc["services"]) == ["23", "23", "23", "5", "8"]
        assert doc["status"] == "paid" and all(isinstance(s["gross_price"], int) for s in doc["services"])
    # B2B: KSeF first, the e-mail only after KSeF accepted the invoice.
    assert meta["_bpm_ksef_status"] == "pending"
    assert outcome.follow_up is not None and outcome.follow_up[0] == "invoice.ksef"
    assert exactly_one(shop, order).get("emails") == []
    assert doc["number"] in outcome.message and outcome.note  # the runner writes it on the order

    followed = shop.run("invoice.ksef", order["id"])
    assert followed.status == "done", followed.message
    meta = shop.meta(order["id"])
    assert meta["_bpm_ksef_status"] == "accepted"
    assert len(meta["_bpm_ksef_number"]) == 35
    assert [e["to"] for e in exactly_one(shop, order)["emails"]] == ["jan.kowalski@example.com"]


def test_second_run_and_other_events_do_not_duplicate(shop: Harness) -> None:
    order = shop.order(items=[{"name": "Herbata", "price": "19.99", "qty": 1}])
    assert shop.run("invoice.issue", order["id"]).status == "done"
    again = shop.run("invoice.issue", order["id"])
    assert again.status == "skipped"
    exactly_one(shop, order)


def test_b2c_invoice_without_nip_is_emailed_at_once(shop: Harness) -> None:
    order = shop.order(items=[{"name": "Kubek", "price": "39.00", "qty": 2, "tax": "23"}])
    outcome = shop.run("invoice.issue", order["id"])
    assert outcome.status == "done", outcome.message
    doc = exactly_one(shop, order)
    if shop.provider == "fakturownia":
        assert doc["buyer_company"] is False and doc["buyer_first_name"] == "Jan" and not doc["buyer_tax_no"]
    else:
        assert doc["client_business_activity_kind"] == "private_person" and not doc.get("client_tax_code")
    assert shop.meta(order["id"])["_bpm_ksef_status"] == "not_applicable"
    assert [e["to"] for e in doc["emails"]] == ["jan.kowalski@example.com"]
    assert outcome.follow_up is None


def test_b2c_receipt_per_setting(shop: Harness) -> None:
    shop.configure({"invoicing": {"b2c_document": "receipt"}})
    order = shop.order(items=[{"name": "Kubek", "price": "39.00", "qty": 1}])
    outcome = shop.run("invoice.issue", order["id"])
    if shop.provider == "fakturownia":
        assert outcome.status == "done", outcome.message
        exactly_one(shop, order, "receipt")
        assert shop.meta(order["id"])["_bpm_invoice_kind"] == "receipt"
    else:
        # inFakt has no receipt API: a visible skip, never a silent wrong document.
        assert outcome.status == "skipped" and "receipt" in outcome.message and outcome.note
        assert shop.documents(order["id"]) == []


def test_exempt_and_zero_rates(shop: Harness) -> None:
    order = shop.order(
        nip=VALID_NIP,
        items=[
            {"name": "Szkolenie", "price": "500.00", "qty": 1, "tax": "zw"},
            {"name": "Eksport", "price": "100.00", "qty": 1, "tax": "0"},
        ],
    )
    assert shop.run("invoice.issue", order["id"]).status == "done"
    doc = exactly_one(shop, order)
    if shop.provider == "fakturownia":
        assert sorted(p["tax"] for p in doc["positions"]) == ["0", "zw"]
        assert doc["exempt_tax_kind"] == "art. 43 ust. 1 pkt 2 ustawy o VAT"
    else:
        assert sorted(s["tax_symbol"] for s in doc["services"]) == ["0", "zw"]
        assert doc["vat_exemption_reason"] == 1


def test_exempt_without_reason_fails_permanently_before_any_call(shop: Harness) -> None:
    shop.configure({"invoicing": {"exemption_reason": ""}})
    order = shop.order(items=[{"name": "Szkolenie", "price": "500.00", "qty": 1, "tax": "zw"}])
    with pytest.raises(PermanentError, match="exemption reason"):
        shop.run("invoice.issue", order["id"])
    assert shop.documents(order["id"]) == []
    assert shop.meta(order["id"]).get("_bpm_invoice_id", "") == ""


def test_coupon_discount_is_in_the_positions(shop: Harness) -> None:
    order = shop.order(
        items=[
            {"name": "Buty", "price": "299.99", "qty": 1},
            {"name": "Skarpety", "price": "19.99", "qty": 3},
        ],
        coupon={"code": "JESIEN10", "percent": 10},
        shipping={"price": "12.00"},
    )
    assert Decimal(order["discount_total"]) > 0
    assert shop.run("invoice.issue", order["id"]).status == "done"
    exactly_one(shop, order)


def test_foreign_currency(shop: Harness) -> None:
    order = shop.order(currency="EUR", nip=VALID_NIP, items=[{"name": "Widget", "price": "49.90", "qty": 2}])
    assert shop.run("invoice.issue", order["id"]).status == "done"
    doc = exactly_one(shop, order)
    assert doc["currency"] == "EUR"
    if shop.provider == "fakturownia":
        assert doc["exchange_currency"] == "PLN" and doc["exchange_kind"] == "nbp"


def test_bad_nip_checksum_is_a_permanent_failure_naming_it(shop: Harness) -> None:
    order = shop.order(nip="1234567890", items=[{"name": "Herbata", "price": "19.99", "qty": 1}])
    with pytest.raises(PermanentError, match="1234567890"):
        shop.run("invoice.issue", order["id"])
    assert shop.documents(order["id"]) == []


def test_trigger_per_payment_method(shop: Harness) -> None:
    order = shop.order(payment_method="cod", items=[{"name": "Herbata", "price": "19.99", "qty": 1}])
    skipped = shop.run("invoice.issue", order["id"])
    assert skipped.status == "skipped" and "completed" in skipped.message
    shop.set_status(order["id"], "completed")
    assert shop.run("invoice.issue", order["id"]).status == "done"
    exactly_one(shop, order)


def test_unpaid_and_cancelled_orders_get_nothing(shop: Harness) -> None:
    pending = shop.order(status="pending", items=[{"name": "Herbata", "price": "19.99", "qty": 1}])
    cancelled = shop.order(
        status="cancelled", paid=False, items=[{"name": "Herbata", "price": "19.99", "qty": 1}]
    )
    for order in (pending, cancelled):
        assert shop.run("invoice.issue", order["id"]).status == "skipped"
        assert shop.run("invoice.correct", order["id"], refund_id=1).status == "skipped"
        assert shop.documents(order["id"]) == []


def test_bad_credentials_are_permanent_and_leave_no_claim(shop: Harness) -> None:
    key = "fakturownia" if shop.provider == "fakturownia" else "infakt"
    field = "api_token" if key == "fakturownia" else "api_key"
    shop.configure({"invoicing": {key: {field: "wrong"}}})
    order = shop.order(items=[{"name": "Herbata", "price": "19.99", "qty": 1}])
    with pytest.raises(PermanentError, match="API"):
        shop.run("invoice.issue", order["id"])
    assert shop.meta(order["id"]).get("_bpm_invoice_id", "") == ""
    assert shop.documents(order["id"]) == []
