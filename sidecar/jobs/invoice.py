"""Invoicing actions: ``invoice.issue``, ``invoice.correct`` and the KSeF follow-up ``invoice.ksef``.

Every run re-reads the order and decides from its state (docs/contract.md §3.3 meta keys):

- ``_bpm_invoice_id`` empty and a document due → issue one; set → nothing to do.
- Before the create an *intent* ``pending:<provider>:<ref>:<time>`` is written into ``_bpm_invoice_id``
  with ``expect={"_bpm_invoice_id": ""}``: the store's compare-and-set makes it the one claim on the
  order, and it survives a Redis wipe. A run that finds an intent resumes it: the provider looks the
  document up (Fakturownia by oid, inFakt by the recorded task reference) instead of creating blindly.
  The intent is replaced by the real id with ``expect`` = the intent, or cleared when the provider
  refused the document (nothing was created, so a later retry may create it).
- Corrections keep the same discipline per refund inside ``_bpm_corrections``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from sidecar import privacy
from sidecar.errors import PermanentError, TransientError
from sidecar.invoicing import rules
from sidecar.invoicing.document import OriginalDocument, build_correction, build_document
from sidecar.jobs.base import JobContext, Outcome
from sidecar.providers.invoicing import build_provider, provider_class
from sidecar.providers.invoicing.base import Attempt, Intent, InvoicingProvider, Issued

KSEF_ACTION = "invoice.ksef"
KSEF_GIVE_UP_SECONDS = 7 * 24 * 3600


def _settings(ctx: JobContext) -> Mapping[str, Any]:
    return ctx.config.get("invoicing") or {}


def _provider(ctx: JobContext, name: str) -> InvoicingProvider:
    return build_provider(name, _settings(ctx), ctx.audit, observe=ctx.observe)


def _money(issued: Issued) -> str:
    return f"{issued.total_gross:.2f} {issued.currency}"


class _Claim:
    """One meta value guarded by compare-and-set: the intent marker and its successors."""

    def __init__(self, ctx: JobContext, order_id: int, key: str, current: str) -> None:
        self.ctx, self.order_id, self.key, self.current = ctx, order_id, key, current

    def write(self, value: str) -> None:
        self.ctx.store.set_meta(self.order_id, {self.key: value}, expect={self.key: self.current})
        self.current = value


# -- invoice.issue ------------------------------------------------------------------------------------


def issue(ctx: JobContext) -> Outcome:
    settings = _settings(ctx)
    name = str(settings.get("provider") or "none")
    if name == "none":
        return Outcome("skipped", "Invoicing is switched off in the BPM Bridge settings.", note=False)
    order_id = ctx.order_id
    if order_id is None:
        raise PermanentError("the event names no order")
    order = ctx.store.get_order(order_id)
    meta = ctx.store.get_meta(order_id)
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
    assert kind is not None
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

    claim = _Claim(ctx, order_id, "_bpm_invoice_id", current)
    if prior is None:
        claim.write(Intent.new(name).encode())
    attempt = Attempt(
        prior=prior,
        checkpoint=lambda ref: claim.write(
            Intent(name, ref, (prior or Intent.decode(claim.current)).started).encode()
        ),
        ensure_lock=ctx.ensure_lock,
        release=lambda: claim.write(""),
    )
    try:
        issued = provider.issue(document, attempt)
    except PermanentError:
        if not attempt.committed:
            claim.write("")  # refused: nothing exists, so the next try (e.g. after a fix) may create it
        raise
    ksef = issued.ksef
    ctx.store.set_meta(
        order_id,
        {
            "_bpm_invoice_id": issued.id,
            "_bpm_invoice_number": issued.number,
            "_bpm_invoice_url": issued.url,
            "_bpm_invoice_provider": name,
            "_bpm_invoice_kind": document.kind,
            "_bpm_ksef_status": ksef.status,
            "_bpm_ksef_number": ksef.number,
        },
        expect={"_bpm_invoice_id": claim.current},
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
        raise PermanentError(
            f"{what} {issued.number} was issued in {provider.label} with a total of {_money(issued)}, but "
            f"the order total is {document.total_gross} {document.currency}: correct it in {provider.label}"
        )
    if ksef.status == "rejected":
        raise PermanentError(f"KSeF rejected invoice {issued.number}: {ksef.reason}")
    if send_email and document.buyer.email:
        if ksef.status == "pending":
            message += " It will be e-mailed to the customer once KSeF accepts it."
        else:
            message += _email(provider, issued.id, document.buyer.email)
    follow_up = (KSEF_ACTION, 30.0) if ksef.status == "pending" else None
    if follow_up:
        message += " Waiting for KSeF."
    return Outcome("done", message, details, follow_up=follow_up)


def _email(provider: InvoicingProvider, document_id: str, email: str, *, correction: bool = False) -> str:
    """E-mailing is a courtesy after the document exists: its failure is reported, never retried blindly."""
    try:
        provider.send_email(document_id, email, correction=correction)
    except (PermanentError, TransientError) as exc:
        return f" The e-mail to the customer was not sent: {exc.reason}"
    return " E-mailed to the customer."


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
            "done", f"Invoice {number} is still waiting for KSeF.", note=False, follow_up=(KSEF_ACTION, delay)
        )
    ctx.store.set_meta(
        order_id,
        {"_bpm_ksef_status": state.status, "_bpm_ksef_number": state.number},
        expect={"_bpm_ksef_status": "pending"},
    )
    if state.status == "rejected":
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
    return Outcome(
        "done", message, {"invoice_number": number, "ksef_number": state.number, "ksef_status": state.status}
    )


# -- invoice.correct ------------------------------------------------------------------------------------


def correct(ctx: JobContext) -> Outcome:
    settings = _settings(ctx)
    order_id = ctx.order_id
    refund_id = ctx.data.get("refund_id")
    if order_id is None or refund_id is None:
        raise PermanentError("the event names no order or refund")
    refund_id = int(refund_id)
    meta = ctx.store.get_meta(order_id)
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
    try:
        corrections: dict[str, Any] = json.loads(raw) if raw else {}
    except ValueError:
        raise PermanentError(f"_bpm_corrections of order {order_id} is not JSON; fix or clear it") from None
    entry = corrections.get(str(refund_id)) or {}
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

    order = ctx.store.get_order(order_id)
    refund = ctx.store.get_refund(order_id, refund_id)
    earlier = [
        ctx.store.get_refund(order_id, int(r["id"]))
        for r in order.get("refunds") or ()
        if r.get("id") is not None and int(r["id"]) < refund_id
    ]
    send_email = bool(settings.get("send_email"))
    data = privacy.for_invoice(order, with_email=send_email)
    original = OriginalDocument(
        id=doc_id,
        number=number,
        ksef_number=meta.get("_bpm_ksef_number", ""),
    )
    refund_facts = privacy.order_facts(refund) | {
        "amount": refund.get("amount"),
        "reason": refund.get("reason"),
    }
    correction = build_correction(
        data["order"],
        refund_facts,
        [privacy.order_facts(r) | {"amount": r.get("amount")} for r in earlier],
        original,
        data["buyer"],
        exemption_reason=settings.get("exemption_reason"),
    )

    state = {"raw": raw, "corrections": corrections}

    def write(value: dict[str, Any] | None) -> None:
        updated = dict(state["corrections"])
        if value is None:
            updated.pop(str(refund_id), None)
        else:
            updated[str(refund_id)] = value
        new_raw = json.dumps(updated, separators=(",", ":"), sort_keys=True) if updated else ""
        ctx.store.set_meta(order_id, {"_bpm_corrections": new_raw}, expect={"_bpm_corrections": state["raw"]})
        state.update(raw=new_raw, corrections=updated)

    started = prior.started if prior else int(time.time())
    if prior is None:
        write({"pending": Intent(provider.name, "", started).encode()})
    attempt = Attempt(
        prior=prior,
        checkpoint=lambda ref: write({"pending": Intent(provider.name, ref, started).encode()}),
        ensure_lock=ctx.ensure_lock,
        release=lambda: write(None),
    )
    try:
        issued = provider.correct(correction, attempt)
    except PermanentError:
        if not attempt.committed:
            write(None)
        raise
    write({"id": issued.id, "number": issued.number, "url": issued.url})
    message = (
        f"Correction {issued.number} to invoice {number} issued in {provider.label} for refund {refund_id} "
        f"({_money(issued)}). PDF: {issued.url}"
    )
    if issued.total_gross != correction.total_gross:
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
    return Outcome("done", message, details)


__all__ = ["correct", "issue", "ksef", "provider_class"]
