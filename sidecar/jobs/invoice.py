"""Invoicing actions: ``invoice.issue``, ``invoice.correct`` and the KSeF follow-up ``invoice.ksef``.

Every run re-reads the order and decides from its state (docs/contract.md §3.3 meta keys):

- ``_bpm_invoice_id`` empty and a document due → issue one; set → nothing to do.
- Before the create an *intent* ``pending:<provider>:<ref>:<time>`` is written into ``_bpm_invoice_id``
  with ``expect={"_bpm_invoice_id": ""}`` (:class:`sidecar.jobs.claim.Claim`): the store's
  compare-and-set makes it the one claim on the order, and it survives a Redis wipe. A run that finds
  an intent resumes it: the provider looks the document up (Fakturownia by oid, inFakt by the recorded
  task reference) instead of creating blindly. The intent is replaced by the real id with ``expect`` =
  the intent, or cleared when the provider refused the document (nothing was created, so a later retry
  may create it).
- Corrections keep the same discipline per refund inside ``_bpm_corrections`` (the same claim, on the
  refund's slot of that JSON map).
- The final write travels in ``Outcome.write``: the runner sends it with the note and the outcome, so
  an invoiced order costs three store requests: the read, the intent, the result.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sidecar import privacy
from sidecar.errors import PermanentError, TransientError
from sidecar.invoicing import rules
from sidecar.invoicing.document import OriginalDocument, build_correction, build_document
from sidecar.jobs.base import JobContext, MetaWrite, Outcome
from sidecar.jobs.claim import Claim, json_map
from sidecar.providers.invoicing import build_provider, provider_class
from sidecar.providers.invoicing.base import Intent, InvoicingProvider, Issued

KSEF_ACTION = "invoice.ksef"
CRM_ACTION = "crm.sync_order"
KSEF_GIVE_UP_SECONDS = 7 * 24 * 3600


def _settings(ctx: JobContext) -> Mapping[str, Any]:
    return ctx.config.get("invoicing") or {}


def _provider(ctx: JobContext, name: str) -> InvoicingProvider:
    return build_provider(name, _settings(ctx), ctx.audit, observe=ctx.observe)


def _money(issued: Issued) -> str:
    return f"{issued.total_gross:.2f} {issued.currency}"


# -- invoice.issue ------------------------------------------------------------------------------------


def issue(ctx: JobContext) -> Outcome:
    settings = _settings(ctx)
    name = str(settings.get("provider") or "none")
    if name == "none":
        return Outcome("skipped", "Invoicing is switched off in the BPM Bridge settings.", note=False)
    order_id = ctx.order_id
    if order_id is None:
        raise PermanentError("the event names no order")
    state = ctx.store.read_order(order_id)
    order, meta = state.order, state.meta
    current = meta.get("_bpm_invoice_id", "")
    prior = Intent.decode(current)
    if current and prior is None:
        number = meta.get("_bpm_invoice_number") or current
        return Outcome(
            "skipped", f"Order already has document {number}.", {"invoice_number": number}, note=False
        )
    if prior is None:
        decision = rules.decide(order, settings)
        if not decision.due:
            return Outcome("skipped", decision.reason[:1].upper() + decision.reason[1:] + ".", note=False)
        kind = decision.kind
    else:
        name = prior.provider  # finish what was started, even if the shop switched providers since
        kind = rules.document_kind(order, settings)
    if kind is None:
        raise PermanentError(f"no document kind could be chosen for order {order_id}")
    provider = _provider(ctx, name)
    if kind == "receipt" and not provider.supports_receipts:
        return Outcome(
            "skipped",
            f"No document issued: the buyer has no NIP and {provider.label} issues no receipts through "
            "its API (receipts come from the cash register). Choose 'invoice' for buyers without a NIP "
            "to invoice them.",
        )
    send_email = bool(settings.get("send_email"))
    data = privacy.for_invoice(order, with_email=send_email)
    document = build_document(data, kind, exemption_reason=settings.get("exemption_reason"))

    claim = Claim(ctx.store, order_id, "_bpm_invoice_id", current)
    issued = claim.create(prior, name, ctx.ensure_lock, lambda attempt: provider.issue(document, attempt))
    ksef = issued.ksef
    final = claim.final(
        issued.id,
        _bpm_invoice_number=issued.number,
        _bpm_invoice_url=issued.url,
        _bpm_invoice_provider=name,
        _bpm_invoice_kind=document.kind,
        _bpm_ksef_status=ksef.status,
        _bpm_ksef_number=ksef.number,
    )
    what = "Receipt" if document.kind == "receipt" else "Invoice"
    message = f"{what} {issued.number} issued in {provider.label} ({_money(issued)}). PDF: {issued.url}"
    details: dict[str, Any] = {
        "invoice_id": issued.id,
        "invoice_number": issued.number,
        "invoice_url": issued.url,
        "provider": name,
        "kind": document.kind,
        "ksef_status": ksef.status,
    }
    if issued.total_gross != document.total_gross:
        claim.commit(final)  # the document exists: the order must know it before the failure is told
        raise PermanentError(
            f"{what} {issued.number} was issued in {provider.label} with a total of {_money(issued)}, but "
            f"the order total is {document.total_gross} {document.currency}: correct it in {provider.label}"
        )
    if ksef.status == "rejected":
        claim.commit(final)
        raise PermanentError(f"KSeF rejected invoice {issued.number}: {ksef.reason}")
    if send_email and document.buyer.email:
        if ksef.status == "pending":
            message += " It will be e-mailed to the customer once KSeF accepts it."
        else:
            message += _email(provider, issued.id, document.buyer.email)
    follow_up = (KSEF_ACTION, 30.0) if ksef.status == "pending" else _then_crm(ctx)
    if follow_up:
        message += " Waiting for KSeF."
    return Outcome("done", message, details, follow_up=follow_up, write=final)


def _email(provider: InvoicingProvider, document_id: str, email: str, *, correction: bool = False) -> str:
    """E-mailing is a courtesy after the document exists: its failure is reported, never retried blindly."""
    try:
        provider.send_email(document_id, email, correction=correction)
    except (PermanentError, TransientError) as exc:
        return f" The e-mail to the customer was not sent: {exc.reason}"
    return " E-mailed to the customer."


def _then_crm(ctx: JobContext) -> tuple[str, float] | None:
    """The CRM's deal shows the invoice number and PDF link: once the document is final (issued, or
    accepted by KSeF), the order is synced to the CRM again for the same event. Outcome has one follow-up,
    and KSeF's polling comes first. A CRM sync still queued for the event covers it (the follow-up is not
    queued twice), and one already past its read is caught by the reconciliation sweep."""
    crm = ctx.config.get("crm") or {}
    return (CRM_ACTION, 0.0) if str(crm.get("provider") or "none") != "none" else None


# -- invoice.ksef ---------------------------------------------------------------------------------------


def _polling_for(ctx: JobContext) -> float:
    """Seconds since this follow-up first polled: about the invoice's age, whenever its event happened."""
    now = time.time()
    return max(0.0, now - (ctx.first_run_at or now))


def ksef(ctx: JobContext) -> Outcome:
    order_id = ctx.order_id
    if order_id is None:
        raise PermanentError("the event names no order")
    meta = ctx.store.get_meta(order_id)
    doc_id = meta.get("_bpm_invoice_id", "")
    status = meta.get("_bpm_ksef_status", "")
    number = meta.get("_bpm_invoice_number") or doc_id
    if not doc_id or Intent.decode(doc_id) or status != "pending":
        return Outcome("skipped", f"Nothing to follow in KSeF (status: {status or 'none'}).", note=False)
    name = meta.get("_bpm_invoice_provider") or str(_settings(ctx).get("provider"))
    provider = _provider(ctx, name)
    state = provider.ksef_state(doc_id)
    if state.status == "pending":
        age = _polling_for(ctx)
        if age > KSEF_GIVE_UP_SECONDS:
            raise PermanentError(
                f"KSeF has not confirmed invoice {number} for {age / 86400:.0f} days: "
                f"check it in {provider.label}"
            )
        delay = min(max(age / 5, 20.0), 3600.0)  # poll often at first, then back off
        return Outcome(
            "done",
            f"Invoice {number} is still waiting for KSeF.",
            note=False,
            report=False,  # each poll would be one more WordPress request telling nothing new
            follow_up=(KSEF_ACTION, delay),
        )
    final = MetaWrite(
        {"_bpm_ksef_status": state.status, "_bpm_ksef_number": state.number},
        expect={"_bpm_ksef_status": "pending"},
    )
    if state.status == "rejected":
        ctx.store.apply(order_id, meta=final.meta, expect=final.expect)
        raise PermanentError(f"KSeF rejected invoice {number}: {state.reason}")
    message = (
        f"KSeF accepted invoice {number}: KSeF number {state.number}."
        if state.status == "accepted"
        else f"Invoice {number} is not sent to KSeF by {provider.label}."
    )
    settings = _settings(ctx)
    if settings.get("send_email"):
        order = ctx.store.get_order(order_id)
        email = privacy.for_invoice(order, with_email=True)["buyer"]["email"]
        if email:
            message += _email(provider, doc_id, email)
    details = {"invoice_number": number, "ksef_number": state.number, "ksef_status": state.status}
    return Outcome("done", message, details, write=final, follow_up=_then_crm(ctx))


# -- invoice.correct ------------------------------------------------------------------------------------


def correct(ctx: JobContext) -> Outcome:
    settings = _settings(ctx)
    order_id = ctx.order_id
    refund_id = ctx.data.get("refund_id")
    if order_id is None or refund_id is None:
        raise PermanentError("the event names no order or refund")
    refund_id = int(refund_id)
    state = ctx.store.read_order(order_id)
    meta = state.meta
    doc_id = meta.get("_bpm_invoice_id", "")
    if Intent.decode(doc_id):
        raise TransientError(
            "the invoice of this order is still being issued; the correction waits for it", 60
        )
    if not doc_id:
        return Outcome(
            "skipped",
            f"Refund {refund_id}: the order has no invoice, so there is nothing to correct.",
            note=False,
        )
    number = meta.get("_bpm_invoice_number") or doc_id
    if meta.get("_bpm_invoice_kind") == "receipt":
        return Outcome(
            "skipped",
            f"Refund {refund_id}: the order has receipt {number}; a receipt is not corrected by an "
            "invoice — record the return in the cash register's returns book.",
        )
    raw = meta.get("_bpm_corrections", "")
    entry = json_map(raw, "_bpm_corrections", order_id).get(str(refund_id)) or {}
    if entry.get("id"):
        return Outcome(
            "skipped", f"Refund {refund_id} already has correction {entry.get('number')}.", note=False
        )
    if meta.get("_bpm_ksef_status") == "pending":
        # KSeF takes a correction only after the corrected invoice has its KSeF number.
        raise TransientError(
            f"invoice {number} is still waiting for its KSeF number; the correction follows it", 120
        )
    name = meta.get("_bpm_invoice_provider") or str(settings.get("provider"))
    prior = Intent.decode(entry.get("pending"))
    provider = _provider(ctx, prior.provider if prior else name)

    refund = state.refund(refund_id)
    if refund is None:
        raise PermanentError(f"refund {refund_id} of order {order_id} not found in the store")
    _check_amount(ctx, order_id, refund_id, refund)
    earlier = [r for r in state.refunds if int(r["id"]) < refund_id]
    send_email = bool(settings.get("send_email"))
    data = privacy.for_invoice(state.order, with_email=send_email)
    original = OriginalDocument(id=doc_id, number=number, ksef_number=meta.get("_bpm_ksef_number", ""))
    correction = build_correction(
        data["order"],
        _refund_facts(refund) | {"reason": refund.get("reason")},
        [_refund_facts(r) for r in earlier],
        original,
        data["buyer"],
        exemption_reason=settings.get("exemption_reason"),
    )

    claim = Claim(ctx.store, order_id, "_bpm_corrections", raw, slot=str(refund_id))
    issued = claim.create(
        prior, provider.name, ctx.ensure_lock, lambda attempt: provider.correct(correction, attempt)
    )
    final = claim.final({"id": issued.id, "number": issued.number, "url": issued.url})
    message = (
        f"Correction {issued.number} to invoice {number} issued in {provider.label} for refund {refund_id} "
        f"({_money(issued)}). PDF: {issued.url}"
    )
    if issued.total_gross != correction.total_gross:
        claim.commit(final)
        raise PermanentError(
            f"correction {issued.number} changes the total by {_money(issued)} but refund {refund_id} was "
            f"{-correction.total_gross} {correction.currency}: check it in {provider.label}"
        )
    if (
        send_email
        and correction.buyer.email
        and (not correction.buyer.company or issued.ksef.status != "pending")
    ):
        message += _email(provider, issued.id, correction.buyer.email, correction=True)
    details = {"correction_id": issued.id, "correction_number": issued.number, "refund_id": refund_id}
    return Outcome("done", message, details, write=final)


def _refund_facts(refund: Mapping[str, Any]) -> dict[str, Any]:
    """A refund's lines (from WooCommerce REST) and its amount (from WooCommerce CRUD, contract §3)."""
    return privacy.order_facts(refund) | {"amount": refund.get("amount")}


def _check_amount(ctx: JobContext, order_id: int, refund_id: int, refund: Mapping[str, Any]) -> None:
    """The event's amount (the plugin read it through CRUD when the refund happened) must match the store's.

    WooCommerce versions disagree on where a refund's amount lives (7.8 with HPOS answers 0.00 in REST);
    two sources that agree are trusted, two that do not are a human's to look at.
    """
    said = ctx.data.get("amount")
    if said is None:  # an event from before amounts were sent; the store's CRUD amount stands alone
        return
    try:
        event_amount, store_amount = Decimal(str(said)), Decimal(str(refund.get("amount")))
    except InvalidOperation:
        raise PermanentError(
            f"refund {refund_id} of order {order_id} has an unreadable amount "
            f"(event: {said!r}, store: {refund.get('amount')!r})"
        ) from None
    if event_amount != store_amount:
        raise PermanentError(
            f"refund {refund_id} of order {order_id}: the refund event says {event_amount} was refunded, "
            f"but the store's refund now says {store_amount}; check the refund in WooCommerce, then replay"
        )


__all__ = ["correct", "issue", "ksef", "provider_class"]
