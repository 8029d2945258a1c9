"""Provider failures: outages are retried and then succeed, lost responses never duplicate, errors
that retrying cannot fix fail at once with the provider's own words."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from sandbox_client import InfaktSandbox

from sidecar.errors import ConflictError, PermanentError, TransientError
from sidecar.providers.invoicing.base import Intent

from .invoicing_harness import VALID_NIP, DocumentView, Harness, having

ITEMS = [
    {"name": "Kawa", "price": "49.99", "qty": 2},
    {"name": "Książka", "price": "45.50", "qty": 1, "tax": "5"},
]


def exactly_one(shop: Harness, order: dict, kind: str = "vat") -> DocumentView:
    docs = shop.views(order["id"])
    assert [d.kind for d in docs] == [kind], docs
    assert docs[0].total == Decimal(order["total"])
    return docs[0]


def retry_until_done(shop: Harness, action: str, order_id: int, tries: int = 6, **data: object) -> list[str]:
    """What the runner does with TransientError: run the action again later (here: a little later)."""
    errors = []
    for attempt in range(1, tries + 1):
        try:
            outcome = shop.run(action, order_id, attempt=attempt, **data)
        except TransientError as exc:
            errors.append(exc.reason)
            time.sleep(0.4)
            continue
        assert outcome.status == "done", outcome.message
        return errors
    raise AssertionError(f"never succeeded: {errors}")


def test_outage_is_transient_then_succeeds(shop: Harness) -> None:
    order = shop.order(items=ITEMS)
    shop.fault(mode="503", match=shop.adapter.create_route, count=2)
    errors = retry_until_done(shop, "invoice.issue", order["id"])
    assert len(errors) == 2 and all("unavailable" in e for e in errors)
    exactly_one(shop, order)


def test_rate_limit_carries_retry_after(shop: Harness) -> None:
    order = shop.order(items=ITEMS)
    shop.fault(mode="429", match=shop.adapter.create_route, count=1, retry_after=42)
    with pytest.raises(TransientError) as caught:
        shop.run("invoice.issue", order["id"])
    assert caught.value.retry_after == 42
    assert shop.views(order["id"]) == []
    assert shop.run("invoice.issue", order["id"], attempt=2).status == "done"
    exactly_one(shop, order)


def test_response_lost_after_commit_finds_the_document(shop: Harness) -> None:
    order = shop.order(nip=VALID_NIP, items=ITEMS, shipping={"price": "9.99"})
    shop.fault(mode="drop_after_commit", match=shop.adapter.create_route, count=1)
    errors = retry_until_done(shop, "invoice.issue", order["id"])
    assert errors, "the lost response must surface as a transient error"
    doc = exactly_one(shop, order)
    meta = shop.meta(order["id"])
    assert meta["_bpm_invoice_number"] == doc.number
    assert not meta["_bpm_invoice_id"].startswith("pending:")


def test_lost_correction_response_finds_the_correction(shop: Harness) -> None:
    order = shop.order(items=ITEMS)
    assert shop.run("invoice.issue", order["id"]).status == "done"
    refund = shop.refund(order["id"], items=[{"line_item_id": order["line_items"][0]["id"], "qty": 1}])
    shop.fault(mode="drop_after_commit", match=shop.adapter.correct_route, count=1)
    retry_until_done(shop, "invoice.correct", order["id"], refund_id=refund["id"])
    docs = shop.views(order["id"], "correction")
    assert len(docs) == 1 and docs[0].total == -Decimal(refund["amount"])


@pytest.mark.parametrize("shop", having(refuses_copies=True), indirect=True)
def test_fresh_claim_without_a_document_creates_once_where_the_provider_refuses_copies(shop: Harness) -> None:
    """A run finds another run's fresh intent and nothing in the provider."""
    order = shop.order(items=ITEMS)
    shop.put_meta(order["id"], {"_bpm_invoice_id": Intent.new(shop.provider).encode()})
    # The lookup found nothing; the create itself is safe (Fakturownia: oid_unique): exactly one document.
    assert shop.run("invoice.issue", order["id"], attempt=2).status == "done"
    exactly_one(shop, order)


@pytest.mark.parametrize("shop", having(refuses_copies=False), indirect=True)
def test_fresh_claim_without_a_document_waits_where_the_provider_cannot_refuse_copies(shop: Harness) -> None:
    order = shop.order(items=ITEMS)
    shop.put_meta(order["id"], {"_bpm_invoice_id": Intent.new(shop.provider).encode()})
    # Wait until an unacknowledged create would be visible.
    with pytest.raises(TransientError, match="not confirmed yet") as caught:
        shop.run("invoice.issue", order["id"], attempt=2)
    assert caught.value.retry_after and caught.value.retry_after > 60
    assert shop.views(order["id"]) == []


def test_claim_conflict_raises_conflict(shop: Harness) -> None:
    order = shop.order(items=ITEMS)
    from sidecar.jobs.claim import Claim

    claim = Claim(shop.store, order["id"], "_bpm_invoice_id", "")
    claim.write(Intent.new(shop.provider).encode())
    stale = Claim(shop.store, order["id"], "_bpm_invoice_id", "")
    with pytest.raises(ConflictError):
        stale.write(Intent.new(shop.provider).encode())


def test_stale_intent_without_a_document_is_created_once(shop: Harness) -> None:
    order = shop.order(items=ITEMS)
    started = int(time.time()) - 3600  # an hour ago: any accepted create would be visible by now
    shop.put_meta(order["id"], {"_bpm_invoice_id": Intent(shop.provider, "", started).encode()})
    assert shop.run("invoice.issue", order["id"], attempt=2).status == "done"
    exactly_one(shop, order)


def test_validation_error_is_permanent_with_field_messages(shop: Harness) -> None:
    spec, named = shop.adapter.refused_order
    order = shop.order(items=ITEMS, **spec)
    with pytest.raises(PermanentError) as caught:
        shop.run("invoice.issue", order["id"])
    assert named in caught.value.reason
    assert shop.views(order["id"]) == []
    assert shop.meta(order["id"]).get("_bpm_invoice_id", "") == ""  # the claim is released


def test_ksef_rejection_is_a_visible_failure(shop: Harness) -> None:
    shop.ksef(**shop.adapter.ksef_rejects)
    order = shop.order(nip=VALID_NIP, items=ITEMS)
    assert shop.run("invoice.issue", order["id"]).status == "done"
    with pytest.raises(PermanentError, match="KSeF rejected"):
        shop.run("invoice.ksef", order["id"])
    meta = shop.meta(order["id"])
    assert meta["_bpm_ksef_status"] == "rejected"
    assert exactly_one(shop, order).emails == ()  # never e-mailed: KSeF did not accept it


def test_ksef_not_connected_emails_b2b_at_once(shop: Harness) -> None:
    shop.ksef(**shop.adapter.ksef_disconnected)
    order = shop.order(nip=VALID_NIP, items=ITEMS)
    outcome = shop.run("invoice.issue", order["id"])
    assert outcome.status == "done" and outcome.follow_up is None
    assert shop.meta(order["id"])["_bpm_ksef_status"] == "not_applicable"
    assert len(exactly_one(shop, order).emails) == 1


def test_infakt_task_still_processing_resumes_by_its_reference(infakt: Harness) -> None:
    sandbox = InfaktSandbox(infakt.sim.url)
    sandbox.task_timing(polls=100, seconds=3600)
    order = infakt.order(items=ITEMS)
    with pytest.raises(TransientError, match="still processing"):
        infakt.run("invoice.issue", order["id"])
    intent = Intent.decode(infakt.meta(order["id"])["_bpm_invoice_id"])
    assert intent is not None and intent.ref  # the task reference was recorded before polling
    sandbox.task_timing(polls=1, seconds=0)
    assert infakt.run("invoice.issue", order["id"], attempt=2).status == "done"
    exactly_one(infakt, order)
    assert len(sandbox.tasks()) == 1  # one create was ever sent


def test_fakturownia_oid_unique_backs_up_a_lost_claim(fakturownia: Harness) -> None:
    order = fakturownia.order(items=ITEMS)
    assert fakturownia.run("invoice.issue", order["id"]).status == "done"
    # Somebody cleared the order's meta (e.g. a restored database): oid_unique still refuses a copy.
    fakturownia.put_meta(order["id"], {"_bpm_invoice_id": "", "_bpm_invoice_number": ""})
    outcome = fakturownia.run("invoice.issue", order["id"])
    assert outcome.status == "done"
    exactly_one(fakturownia, order)


def test_infakt_failure_after_the_create_resumes_without_a_second_document(infakt: Harness) -> None:
    order = infakt.order(items=ITEMS)
    infakt.fault(mode="503", match="POST /api/v3/invoices/", count=1)  # the share link, after the create
    with pytest.raises(TransientError):
        infakt.run("invoice.issue", order["id"])
    intent = Intent.decode(infakt.meta(order["id"])["_bpm_invoice_id"])
    assert intent is not None and intent.ref
    assert infakt.run("invoice.issue", order["id"], attempt=2).status == "done"
    exactly_one(infakt, order)
