"""CRM actions: ``crm.sync_order`` (every order event) and ``crm.sync_contact`` (consent changes).

Every run re-reads the order (with its BPM meta and the customer's consent), builds the contact and the
deal from :func:`sidecar.privacy.for_crm` — the one place that decides what a CRM may hold — and hashes
them. A payload equal to the one last sent (``_bpm_crm_hash``) costs no CRM request at all; any other is
sent to the provider, whose upserts make a retry, a replay or a racing worker update the one contact and
the one deal instead of creating more. The result goes back in ``Outcome.write``: ``_bpm_crm_id`` (the
deal), ``_bpm_crm_contact_id``, ``_bpm_crm_provider``, ``_bpm_crm_url``, ``_bpm_crm_stage``,
``_bpm_crm_hash``, ``_bpm_crm_synced_at``. The order gets a note on its first sync and when its deal
changes stage; the updates in between (an invoice number arriving) are recorded but not noted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sidecar import privacy
from sidecar.errors import BridgeError, PermanentError
from sidecar.jobs.base import JobContext, MetaWrite, Outcome
from sidecar.providers.crm import build_provider, provider_class
from sidecar.providers.crm.base import Contact, CrmProvider, Deal, Known, LineItem, Synced
from sidecar.providers.crm.limits import Budget, limiter_for
from sidecar.store import OrderState

# HubSpot's standard "Sales Pipeline", used when the settings carry no mapping at all (the plugin's
# settings section has the same defaults).
DEFAULT_STAGES: Mapping[str, str] = {
    "pending": "appointmentscheduled",
    "on-hold": "qualifiedtobuy",
    "processing": "contractsent",
    "completed": "closedwon",
    "cancelled": "closedlost",
    "refunded": "closedlost",
    "failed": "closedlost",
}
OFF = "The CRM is switched off in the BPM Bridge settings."
ERASED = "The buyer's personal data was erased on request; nothing is sent to the CRM."


def suppressed(state: OrderState) -> bool:
    """The plugin's eraser ran for the buyer (GET orders/{id} ``consent.crm_suppressed``): never send them."""
    return bool((state.consent or {}).get("crm_suppressed"))


@dataclass(frozen=True)
class Payload:
    """What one sync of an order sends, and its digest."""

    contact: Contact
    deal: Deal
    known: Known
    digest: str


def settings_of(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return config.get("crm") or {}


def provider_name(config: Mapping[str, Any]) -> str:
    return str(settings_of(config).get("provider") or "none")


def provider_for(
    name: str, config: Mapping[str, Any], audit: Any, observe: Any = None, limiter: Budget | None = None
) -> CrmProvider:
    crm = settings_of(config)
    return build_provider(name, crm, audit, observe=observe, limiter=limiter or limiter_for(name, crm))


def _utc(value: Any) -> str | None:
    """WooCommerce's ``…_gmt`` dates carry no zone; the CRM gets them as ISO-8601 UTC."""
    text = str(value or "").strip()
    if not text:
        return None
    return text if text.endswith("Z") or "+" in text[10:] else text + "Z"


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value or "0"))
    except InvalidOperation:
        return Decimal("0")


def build_contact(data: Mapping[str, Any], order_id: int) -> Contact:
    contact = data["contact"]
    if not contact.get("email"):
        raise PermanentError(
            f"order {order_id} has no billing e-mail address, so it cannot become a CRM contact"
        )
    return Contact(
        email=contact["email"],
        first_name=contact.get("first_name", ""),
        last_name=contact.get("last_name", ""),
        company=contact.get("company", ""),
        nip=contact.get("nip", ""),
        marketing=bool(contact.get("marketing_consent")),
        consent_version=str(contact.get("consent_version") or ""),
        consent_at=contact.get("consent_at"),
    )


def build_payload(state: OrderState, config: Mapping[str, Any]) -> Payload:
    """The contact and the deal for ``state`` under the CRM settings (the job's and the backfill's)."""
    crm = settings_of(config)
    name = provider_name(config)
    meta = state.meta
    order = state.order
    consent = state.consent or {}
    data = privacy.for_crm(
        order, marketing_consent=bool(consent.get("marketing")), consent=consent, meta=meta
    )
    facts = data["order"]
    order_id = int(facts["id"])
    account = provider_class(name).account(crm)
    same_crm = same_account(meta, name, account)
    known = Known(meta.get("_bpm_crm_contact_id", ""), meta.get("_bpm_crm_id", "")) if same_crm else Known()
    status = str(facts.get("status") or "")
    mapped = crm.get("stages")
    stages: Mapping[str, Any] = mapped if isinstance(mapped, Mapping) else DEFAULT_STAGES
    # An unmapped status leaves the deal where it is (the stage last sent); a new deal gets the pipeline's
    # first stage from the provider.
    stage = str(stages.get(status) or "") or (meta.get("_bpm_crm_stage", "") if same_crm else "")
    refunded = sum((_money(r.get("amount")) for r in state.refunds), Decimal("0"))
    items = tuple(
        LineItem(i["name"], int(i["quantity"]), Decimal(i["price"]), i["sku"]) for i in facts["items"]
    )
    number = str(facts.get("number") or order_id)
    deal = Deal(
        order_id=order_id,
        number=number,
        name=f"Order #{number}",
        amount=_money(facts.get("total")) - refunded,
        currency=str(facts.get("currency") or ""),
        status=status,
        stage=stage,
        pipeline=str(crm.get("pipeline") or "default"),
        close_date=_utc(facts.get("date_completed_gmt") or facts.get("date_paid_gmt")),
        created_at=_utc(facts.get("date_created_gmt")),
        invoice_number=facts["invoice_number"],
        invoice_url=facts["invoice_url"],
        return_state=facts["return_state"],
        line_items=items if crm.get("line_items", True) else (),
    )
    contact = build_contact(data, order_id)
    sent = {"provider": name, "account": account, "contact": asdict(contact), "deal": asdict(deal)}
    digest = hashlib.sha256(json.dumps(sent, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return Payload(contact, deal, known, f"{account}.{digest}")


def same_account(meta: Mapping[str, str], name: str, account: str) -> bool:
    """The CRM ids on the order belong to the CRM account the settings point at now.

    The account travels in ``_bpm_crm_hash`` ("<account>.<digest>"), not in ``_bpm_crm_provider``, which
    the order box shows as the CRM's name. A hash from before accounts were recorded (no dot) counts as
    the same account; its digest differs anyway, so the order is sent once more."""
    if meta.get("_bpm_crm_provider") != name:
        return False
    head, dot, _ = meta.get("_bpm_crm_hash", "").partition(".")
    return not dot or head == account


def synced_now(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def result_meta(name: str, payload: Payload, synced: Synced, now: datetime | None = None) -> dict[str, str]:
    return {
        "_bpm_crm_id": synced.deal_id,
        "_bpm_crm_contact_id": synced.contact_id,
        "_bpm_crm_provider": name,
        "_bpm_crm_url": synced.url,
        "_bpm_crm_stage": synced.stage,
        "_bpm_crm_hash": payload.digest,
        "_bpm_crm_synced_at": synced_now(now),
    }


def keep_stage(synced: Synced, meta: Mapping[str, str]) -> Synced:
    """A CRM that did not say the stage (the deal was left where it was) keeps the one we know."""
    return synced if synced.stage else replace(synced, stage=meta.get("_bpm_crm_stage", ""))


def describe(label: str, payload: Payload, synced: Synced, meta: Mapping[str, str]) -> tuple[str, bool]:
    """The outcome's words, and whether they belong on the order as a note (first sync, new stage)."""
    first = not payload.known.deal_id
    link = f" {synced.url}" if synced.url else ""
    stage = f' in stage "{synced.stage}"' if synced.stage else ""
    if first:
        return f"Order sent to {label}: deal {synced.deal_id}{stage}.{link}", True
    if synced.stage != meta.get("_bpm_crm_stage", ""):
        return (
            f'{label} deal {synced.deal_id} moved to stage "{synced.stage}" '
            f"(order {payload.deal.status}).{link}",
            True,
        )
    return f"{label} deal {synced.deal_id} updated.", False


# -- crm.sync_order ------------------------------------------------------------------------------------


def sync_order(ctx: JobContext) -> Outcome:
    name = provider_name(ctx.config)
    if name == "none":
        return Outcome("skipped", OFF, note=False)
    order_id = ctx.order_id
    if order_id is None:
        raise PermanentError("the event names no order")
    label = provider_class(name).label
    state = ctx.store.read_order(order_id)
    if suppressed(state):
        return Outcome("skipped", ERASED, note=False)
    payload = build_payload(state, ctx.config)
    if payload.digest == state.meta.get("_bpm_crm_hash") and payload.known.deal_id:
        # Nothing is written: a write would change the order's modification time and make the sweep take
        # it for behind again. An event's outcome is still reported (its outbox row); a sweep's is not.
        return Outcome(
            "skipped",
            f"{label} already has this order as it is now (deal {payload.known.deal_id}).",
            {"deal_id": payload.known.deal_id},
            note=False,
        )
    provider = provider_for(name, ctx.config, ctx.audit, ctx.observe)
    ctx.ensure_lock()
    synced = keep_stage(provider.sync_order(payload.contact, payload.deal, payload.known), state.meta)
    if synced.created and suppressed(ctx.store.read_order(order_id)):
        return erased_meanwhile(provider, label, payload.contact.email)
    message, note = describe(label, payload, synced, state.meta)
    details = {
        "provider": name,
        "deal_id": synced.deal_id,
        "contact_id": synced.contact_id,
        "stage": synced.stage,
        "url": synced.url,
    }
    return Outcome("done", message, details, note=note, write=MetaWrite(result_meta(name, payload, synced)))


def erased_meanwhile(provider: CrmProvider, label: str, email: str) -> Outcome:
    """The buyer was erased while this sync ran, and the sync made a new contact the erasure could not
    see: it is erased again, and nothing is written back onto the order.

    Only a sync that created its contact looks (one more order read): a contact that existed before was
    there for the erasure to delete, and HubSpot refuses to re-create a GDPR-deleted address."""
    try:
        said = provider.erase(email)
    except BridgeError as exc:
        # A retry would skip the erased order without a word, so this cannot be left to the retries.
        raise PermanentError(
            f"the buyer was erased on request while this order was being sent to {label}, and removing the "
            f"contact the sync had just made failed ({exc.reason}): erase the person in {label} by hand"
        ) from exc
    return Outcome(
        "skipped",
        f"The buyer's data was erased on request while this order was being sent to {label}; the contact "
        f"the sync had just made was erased again: {said}",
        {"erased_again": True},
        note=False,
    )


# -- crm.sync_contact ----------------------------------------------------------------------------------


def sync_contact(ctx: JobContext) -> Outcome:
    name = provider_name(ctx.config)
    if name == "none":
        return Outcome("skipped", OFF, note=False)
    order_id = ctx.order_id
    if order_id is None and not ctx.data.get("customer_id"):
        raise PermanentError(
            "the consent change names neither a customer nor an order, so there is no contact to update"
        )
    if order_id is None:
        return Outcome(
            "skipped",
            "The customer has no order yet, so the CRM has no contact to update.",
            note=False,
        )
    label = provider_class(name).label
    state = ctx.store.read_order(order_id)
    if suppressed(state):
        return Outcome("skipped", ERASED, note=False)
    consent = state.consent or {}
    data = privacy.for_crm(state.order, marketing_consent=bool(consent.get("marketing")), consent=consent)
    contact = build_contact(data, order_id)
    same_crm = same_account(state.meta, name, provider_class(name).account(settings_of(ctx.config)))
    known = (
        Known(state.meta.get("_bpm_crm_contact_id", ""), state.meta.get("_bpm_crm_id", ""))
        if same_crm
        else Known()
    )
    provider = provider_for(name, ctx.config, ctx.audit, ctx.observe)
    ctx.ensure_lock()
    contact_id = provider.sync_contact(contact, known)
    given = "given" if contact.marketing else "withdrawn"
    message = f"{label} contact {contact_id} updated: marketing consent {given}."
    # Only onto a record of the same CRM: the next order sync writes the whole set for another one.
    write = (
        MetaWrite({"_bpm_crm_contact_id": contact_id})
        if same_crm and known.contact_id != contact_id
        else None
    )
    return Outcome(
        "done",
        message,
        {"provider": name, "contact_id": contact_id, "marketing": contact.marketing},
        write=write,
    )


__all__ = ["build_payload", "suppressed", "sync_contact", "sync_order"]
