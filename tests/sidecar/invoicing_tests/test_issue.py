"""invoice.issue end to end against the WooCommerce simulator and both provider simulators.

Every test ends by asserting, from the provider simulator's own document list, that exactly one
document per (order, kind) exists and that its total equals the order's.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from sidecar.errors import PermanentError

from .invoicing_harness import VALID_NIP, DocumentView, Harness, having


def exactly_one(shop: Harness, order: dict, kind: str = "vat") -> DocumentView:
    docs = shop.views(order["id"])
    assert [d.kind for d in docs] == [kind], docs
    assert docs[0].total == Decimal(order["total"])
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
    assert meta["_bpm_invoice_id"] == doc.id
    assert meta["_bpm_invoice_number"] == doc.number
    assert meta["_bpm_invoice_provider"] == shop.provider
    assert meta["_bpm_invoice_kind"] == "vat"
    assert meta["_bpm_invoice_url"].startswith("http")
    assert doc.buyer_nip == VALID_NIP and doc.company
    assert doc.buyer_name == "Kowalski Sp. z o.o."
    assert doc.rates == ("23", "23", "23", "5", "8")
    assert doc.status == "paid" and doc.key == f"wc-{order['id']}-vat"
    # B2B: KSeF first, the e-mail only after KSeF accepted the invoice.
    assert meta["_bpm_ksef_status"] == "pending"
    assert outcome.follow_up is not None and outcome.follow_up[0] == "invoice.ksef"
    assert exactly_one(shop, order).emails == ()
    assert doc.number in outcome.message and outcome.note  # the runner writes it on the order

    followed = shop.run("invoice.ksef", order["id"])
    assert followed.status == "done", followed.message
    meta = shop.meta(order["id"])
    assert meta["_bpm_ksef_status"] == "accepted"
    assert len(meta["_bpm_ksef_number"]) == 35
    assert exactly_one(shop, order).emails == ("jan.kowalski@example.com",)


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
    assert not doc.company and doc.buyer_first_name == "Jan" and not doc.buyer_nip
    assert shop.meta(order["id"])["_bpm_ksef_status"] == "not_applicable"
    assert doc.emails == ("jan.kowalski@example.com",)
    assert outcome.follow_up is None


@pytest.mark.parametrize("shop", having(issues_receipts=True), indirect=True)
def test_b2c_receipt_per_setting(shop: Harness) -> None:
    shop.configure({"invoicing": {"b2c_document": "receipt"}})
    order = shop.order(items=[{"name": "Kubek", "price": "39.00", "qty": 1}])
    outcome = shop.run("invoice.issue", order["id"])
    assert outcome.status == "done", outcome.message
    exactly_one(shop, order, "receipt")
    assert shop.meta(order["id"])["_bpm_invoice_kind"] == "receipt"


@pytest.mark.parametrize("shop", having(issues_receipts=False), indirect=True)
def test_b2c_receipt_setting_without_a_receipt_api_is_a_visible_skip(shop: Harness) -> None:
    shop.configure({"invoicing": {"b2c_document": "receipt"}})
    order = shop.order(items=[{"name": "Kubek", "price": "39.00", "qty": 1}])
    outcome = shop.run("invoice.issue", order["id"])
    # Never a silent wrong document.
    assert outcome.status == "skipped" and "receipt" in outcome.message and outcome.note
    assert shop.views(order["id"]) == []


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
    assert doc.rates == ("0", "zw")
    assert "art. 43 ust. 1 pkt 2 ustawy o VAT" in doc.exemption


def test_exempt_without_reason_fails_permanently_before_any_call(shop: Harness) -> None:
    shop.configure({"invoicing": {"exemption_reason": ""}})
    order = shop.order(items=[{"name": "Szkolenie", "price": "500.00", "qty": 1, "tax": "zw"}])
    with pytest.raises(PermanentError, match="exemption reason"):
        shop.run("invoice.issue", order["id"])
    assert shop.views(order["id"]) == []
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
    assert doc.currency == "EUR"


def test_fakturownia_converts_a_foreign_currency_at_the_nbp_rate(fakturownia: Harness) -> None:
    order = fakturownia.order(
        currency="EUR", nip=VALID_NIP, items=[{"name": "Widget", "price": "49.90", "qty": 2}]
    )
    assert fakturownia.run("invoice.issue", order["id"]).status == "done"
    doc = exactly_one(fakturownia, order).raw
    assert doc["exchange_currency"] == "PLN" and doc["exchange_kind"] == "nbp"


def test_bad_nip_checksum_is_a_permanent_failure_naming_it(shop: Harness) -> None:
    order = shop.order(nip="1234567890", items=[{"name": "Herbata", "price": "19.99", "qty": 1}])
    with pytest.raises(PermanentError, match="1234567890"):
        shop.run("invoice.issue", order["id"])
    assert shop.views(order["id"]) == []


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
        assert shop.views(order["id"]) == []


def test_bad_credentials_are_permanent_and_leave_no_claim(shop: Harness) -> None:
    shop.configure({"invoicing": shop.adapter.wrong_credentials()})
    order = shop.order(items=[{"name": "Herbata", "price": "19.99", "qty": 1}])
    with pytest.raises(PermanentError, match="API"):
        shop.run("invoice.issue", order["id"])
    assert shop.meta(order["id"]).get("_bpm_invoice_id", "") == ""
    assert shop.views(order["id"]) == []
