"""invoice.correct: a correction for exactly what a refund gave back, never twice."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from sidecar.errors import PermanentError, TransientError

from .invoicing_harness import VALID_NIP, DocumentView, Harness, LineChange, having


def corrections(shop: Harness, order_id: int) -> list[DocumentView]:
    return shop.views(order_id, "correction")


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
    assert docs[0].total == -Decimal(refund["amount"]) == Decimal("-39.00")
    stored = json.loads(shop.meta(order["id"])["_bpm_corrections"])
    assert stored[str(refund["id"])]["number"] == docs[0].number
    # The line as it was and as it is after the refund.
    assert docs[0].changes == (LineChange(Decimal(3), Decimal("117.00"), Decimal(2), Decimal("78.00")),)
    assert docs[0].corrects == shop.meta(order["id"])["_bpm_invoice_id"]
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
    docs = corrections(shop, order["id"])
    assert [d.total for d in docs] == [Decimal("-39.00"), Decimal("-78.00")]
    assert [[(c.before_qty, c.after_qty) for c in d.changes] for d in docs] == [[(3, 2)], [(2, 0)]]
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
    assert doc.total == -Decimal(order["total"])
    assert len(shop.views(order["id"], "vat")) == 1


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
    assert doc.total == -Decimal(refund["amount"]) == Decimal("-39.01")


def test_amount_only_refund_on_a_single_rate_order(shop: Harness) -> None:
    order = issued_b2c(shop, items=[{"name": "Kubek", "price": "39.00", "qty": 2}])
    refund = shop.refund(order["id"], amount="10.00", reason="Rabat posprzedażowy")
    assert shop.run("invoice.correct", order["id"], refund_id=refund["id"]).status == "done"
    (doc,) = corrections(shop, order["id"])
    assert doc.total == Decimal("-10.00")


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


@pytest.mark.parametrize("shop", having(issues_receipts=True), indirect=True)
def test_refund_of_a_receipt_gets_no_correction(shop: Harness) -> None:
    shop.configure({"invoicing": {"b2c_document": "receipt"}})
    order = issued_b2c(shop, items=[{"name": "Kubek", "price": "39.00", "qty": 1}])
    refund = shop.refund(order["id"], items=[{"line_item_id": order["line_items"][0]["id"], "qty": 1}])
    outcome = shop.run("invoice.correct", order["id"], refund_id=refund["id"])
    assert outcome.status == "skipped" and "returns book" in outcome.message
    assert corrections(shop, order["id"]) == []


def test_fakturownia_correction_quotes_the_ksef_number_of_the_original(fakturownia: Harness) -> None:
    """Fakturownia's own field for it (KSeF.md); inFakt finds the original by its uuid."""
    order = fakturownia.order(nip=VALID_NIP, items=[{"name": "Kubek", "price": "39.00", "qty": 2}])
    assert fakturownia.run("invoice.issue", order["id"]).status == "done"
    assert fakturownia.run("invoice.ksef", order["id"]).status == "done"
    refund = fakturownia.refund(order["id"], items=[{"line_item_id": order["line_items"][0]["id"], "qty": 1}])
    assert fakturownia.run("invoice.correct", order["id"], refund_id=refund["id"]).status == "done"
    (doc,) = corrections(fakturownia, order["id"])
    assert doc.raw["gov_corrected_invoice_number"] == fakturownia.meta(order["id"])["_bpm_ksef_number"]
    (position,) = doc.raw["positions"]  # money as Fakturownia writes it: strings, the change signed
    assert position["quantity"] == "-1" and position["total_price_gross"] == f"-{refund['amount']}"
