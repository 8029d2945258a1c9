"""An issued document reaches the CRM: with a CRM set up, ``invoice.issue`` (or, for a B2B invoice that
waits for KSeF, the ``invoice.ksef`` that sees it accepted) follows up with ``crm.sync_order`` for the same
event, so the deal gets the invoice number and PDF link without waiting for the next order change. Without
a CRM nothing is queued."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .invoicing_harness import VALID_NIP, Harness

CRM = {"provider": "webhook", "webhook": {"url": "https://flows.example/hook", "secret": ""}}


@pytest.fixture
def with_crm(fakturownia: Harness) -> Iterator[Harness]:
    fakturownia.configure({"crm": CRM})
    yield fakturownia
    fakturownia.configure({"crm": {"provider": "none"}})


def test_a_receipt_or_b2c_invoice_follows_up_with_a_crm_sync(with_crm: Harness) -> None:
    order = with_crm.order(items=[{"name": "Kubek", "price": "39.00", "qty": 1, "tax": "23"}])
    outcome = with_crm.run("invoice.issue", order["id"])
    assert outcome.status == "done" and outcome.follow_up == ("crm.sync_order", 0.0)


def test_a_b2b_invoice_reaches_the_crm_once_ksef_accepted_it(with_crm: Harness) -> None:
    order = with_crm.order(nip=VALID_NIP, items=[{"name": "Kawa", "price": "89.99", "qty": 1, "tax": "23"}])
    issued = with_crm.run("invoice.issue", order["id"])
    assert issued.follow_up is not None and issued.follow_up[0] == "invoice.ksef"
    accepted = with_crm.run("invoice.ksef", order["id"])
    assert accepted.status == "done" and accepted.follow_up == ("crm.sync_order", 0.0)


def test_without_a_crm_nothing_follows(fakturownia: Harness) -> None:
    fakturownia.configure({"crm": {"provider": "none"}})
    order = fakturownia.order(items=[{"name": "Kubek", "price": "39.00", "qty": 1, "tax": "23"}])
    assert fakturownia.run("invoice.issue", order["id"]).follow_up is None
