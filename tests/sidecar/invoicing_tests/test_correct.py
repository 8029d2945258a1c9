"""invoice.correct: a correction for exactly what a refund gave back, never twice."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from sidecar.errors import PermanentError, TransientError

from .invoicing_harness import VALID_NIP, Harness


def corrections(shop: Harness, order_id: int) -> list[dict]:
    kind = "correction"
    return shop.documents(order_id, kind)


def change(shop: Harness, doc: dict) -> Decimal:
    return shop.total(doc)


def issued_b2c(shop: Harness, **spec: object) -> dict:
    order = shop.order(**spec)
    assert shop.run("invoice.issue", order["id"]).status == "done"
    return order


def test_partial_refund_corrects_exactly_the_refunded_quantity(shop: Harness) -> None:
    order = issued_b2c(
        shop,
        items=[
            {"name": "Kubek", "price": "39.00", "qty": 3, "tax": "23"},
            {"name": "Książka", "price": "45.50", "qty": 1, "tax": "5"},
        ],
        shipping={"price": "16.99"},
    )
    refund = shop.refund(
        order["id"], items=[{"line_item_id": order["line_items"][0]["id"], "qty": 1}], reason="Zwrot"
    )
    outcome = shop.run("invoice.correct", order["id"], refund_id=refund["id"])
    assert outcome.status == "done", outcome.message
    docs = corrections(shop, order["id"])
    assert len(docs) == 1
    assert change(shop, docs[0]) == -Decimal(refund["amount"]) == Decimal("-39.00")
    stored = json.loads(shop.meta(order["id"])["_bpm_corrections"])
    assert stored[str(refund["id"])]["number"] == docs[0]["number"]
    if shop.provider == "fakturownia":
        (position,) = docs[0]["positions"]
        assert position["quantity"] == "-1" and position["total_price_gross"] == "-39.00"
        assert position["correction_before_attributes"]["quantity"] == "3"
        assert position["correction_after_attributes"]["quantity"] == "2"
        assert str(docs[0]["invoice_id"]) == shop.meta(order["id"])["_bpm_invoice_id"]
    else:
        before, after = sorted(docs[0]["services"], key=lambda s: s["correction"])
        assert (before["quantity"], before["gross_price"]) == (3, 11700)
        assert (after["quantity"], after["gross_price"]) == (2, 7800)
        assert docs[0]["corrected_invoice_uuid"] == shop.meta(order["id"])["_bpm_invoice_id"]
    # The same refund event again: nothing new.
    assert shop.run("invoice.correct", order["id"], refund_id=refund["id"]).status == "skipped"
    assert len(corrections(shop, order["id"])) == 1


def test_second_partial_refund_starts_from_the_corrected_state(shop: Harness) -> None:
    order = issued_b2c(shop, items=[{"name": "Kubek", "price": "39.00", "qty": 3}])
    line = order["line_items"][0]["id"]
    first = shop.refund(order["id"], items=[{"line_item_id": line, "qty": 1}])
    assert shop.run("invoice.correct", order["id"], refund_id=first["id"]).status == "done"
    second = shop.refund(order["id"], items=[{"line_item_id": line, "qty": 2}])
    assert shop.run("invoice.correct", order["id"], refund_id=second["id"]).status == "done"
    docs = sorted(corrections(shop, order["id"]), key=lambda d: d["id"])
    assert [change(shop, d) for d in docs] == [Decimal("-39.00"), Decimal("-78.00")]
    if shop.provider == "fakturownia":
        assert docs[1]["positions"][0]["correction_before_attributes"]["quantity"] == "2"
        assert docs[1]["positions"][0]["correction_after_attributes"]["quantity"] == "0"
    assert len(json.loads(shop.meta(order["id"])["_bpm_corrections"])) == 2


def test_full_refund_with_shipping_corrects_to_zero(shop: Harness) -> None:
    order = issued_b2c(
        shop,
        items=[
            {"name": "Buty", "price": "299.99", "qty": 1},
            {"name": "Książka", "price": "45.50", "qty": 2, "tax": "5"},
        ],
        shipping={"price": "12.00"},
    )
    refund = shop.refund(
        order["id"],
        items=[{"line_item_id": i["id"], "qty": i["quantity"]} for i in order["line_items"]],
        shipping=True,
    )
    assert Decimal(refund["amount"]) == Decimal(order["total"])
    assert shop.run("invoice.correct", order["id"], refund_id=refund["id"]).status == "done"
    (doc,) = corrections(shop, order["id"])
    assert change(shop, doc) == -Decimal(order["total"])
    assert len(shop.documents(order["id"], "vat")) == 1


def test_b2b_correction_waits_for_ksef_of_the_original(shop: Harness) -> None:
    order = shop.order(nip=VALID_NIP, items=[{"name": "Kubek", "price": "39.00", "qty": 2}])
    assert shop.run("invoice.issue", order["id"]).status == "done"
    refund = shop.refund(order["id"], items=[{"line_item_id": order["line_items"][0]["id"], "qty": 1}])
    with pytest.raises(TransientError, match="KSeF"):
        shop.run("invoice.correct", order["id"], refund_id=refund["id"])
    assert corrections(shop, order["id"]) == []
    assert shop.run("invoice.ksef", order["id"]).status == "done"
    assert shop.run("invoice.correct", order["id"], refund_id=refund["id"]).status == "done"
    (doc,) = corrections(shop, order["id"])
    # Half of 78.00 at 23 %: WooCommerce rounds net and VAT separately, so the refund is 39.01.
    assert change(shop, doc) == -Decimal(refund["amount"]) == Decimal("-39.01")
    if shop.provider == "fakturownia":
        assert doc["gov_corrected_invoice_number"] == shop.meta(order["id"])["_bpm_ksef_number"]


def test_amount_only_refund_on_a_single_rate_order(shop: Harness) -> None:
    order = issued_b2c(shop, items=[{"name": "Kubek", "price": "39.00", "qty": 2}])
    refund = shop.refund(order["id"], amount="10.00", reason="Rabat posprzedażowy")
    assert shop.run("invoice.correct", order["id"], refund_id=refund["id"]).status == "done"
    (doc,) = corrections(shop, order["id"])
    assert change(shop, doc) == Decimal("-10.00")


def test_amount_only_refund_on_mixed_rates_is_refused_clearly(shop: Harness) -> None:
    order = issued_b2c(
        shop,
        items=[
            {"name": "Kubek", "price": "39.00", "qty": 1},
            {"name": "Książka", "price": "45.50", "qty": 1, "tax": "5"},
        ],
    )
    refund = shop.refund(order["id"], amount="10.00")
    with pytest.raises(PermanentError, match="mixes VAT rates"):
        shop.run("invoice.correct", order["id"], refund_id=refund["id"])
    assert corrections(shop, order["id"]) == []
    assert shop.meta(order["id"]).get("_bpm_corrections", "") == ""


def test_refund_of_a_receipt_gets_no_correction(fakturownia: Harness) -> None:
    fakturownia.configure({"invoicing": {"b2c_document": "receipt"}})
    order = issued_b2c(fakturownia, items=[{"name": "Kubek", "price": "39.00", "qty": 1}])
    refund = fakturownia.refund(order["id"], items=[{"line_item_id": order["line_items"][0]["id"], "qty": 1}])
    outcome = fakturownia.run("invoice.correct", order["id"], refund_id=refund["id"])
    assert outcome.status == "skipped" and "returns book" in outcome.message
    assert corrections(fakturownia, order["id"]) == []
