"""Returns: ``rma.process`` (a label for an approved return) and its follow-up ``rma.track``.

Both are state-based: every run re-reads the return (``GET rmas/{id}``) and decides from what it finds
(docs/returns.md "Labels and carriers"; the meta keys are the contract's ``rma_meta_keys``):

- ``approved`` and no label → make one. With InPost: before the create an *intent*
  ``pending:inpost:<RMA number>:<unix time>`` goes into ``_bpm_shipment_id`` with ``expect`` = the value
  read (compare-and-set: of two runs only one claims the return, and the claim survives a Redis wipe);
  the shipment id replaces it the moment ShipX answers, before any polling. A run that finds an intent
  looks the shipment up by its reference (exact match on our side) and only when nothing turns up after
  the carrier's recovery window does it create again. ShipX's reference does not de-duplicate: this
  intent is what keeps a return to one label.
- Then ``rma.track`` polls (5 s, then slower) until ShipX confirms and mints the tracking number, fetches
  the PDF, attaches it (``POST rmas/{id}/label``) and moves the return to ``label_ready``; it keeps
  following the parcel (slower still) until ``delivered`` → ``arrived``, and stops on a terminal status
  (canceled, returned to sender…) with a timeline step and a failed outcome the shop sees.
- No carrier, the customer's own shipment, or a definite refusal by the carrier (a field it will not take,
  our token) → the PDF return slip, so the customer always gets something; the refusal is kept in
  ``_bpm_carrier_error`` and told to the shop in plain words.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sidecar import privacy
from sidecar.errors import ConflictError, PermanentError, TransientError
from sidecar.jobs import synthetic
from sidecar.jobs.base import JobContext, Outcome
from sidecar.providers.carriers import SLIP, build_carrier, carrier_class
from sidecar.providers.carriers.base import (
    Carrier,
    CarrierRefused,
    Method,
    NotCreated,
    Party,
    ReturnParcel,
    Shipment,
)
from sidecar.providers.carriers.inpost import party
from sidecar.providers.invoicing.base import Intent
from sidecar.store import RmaRoutes

log = logging.getLogger(__name__)

TRACK = "rma.track"
SHIPMENT = "_bpm_shipment_id"
CARRIER = "_bpm_carrier"
STATUS = "_bpm_shipment_status"
TRACKING = "_bpm_tracking_number"
ERROR = "_bpm_carrier_error"
EXTRAS = "_bpm_shipment_extras"  # shipments of this return it does not use (cancelled or for staff)
CLOCK_SKEW = 120  # our clock against the carrier's, when matching a shipment to the intent's time
SEARCH_GIVE_UP = 86400  # a search that cannot tell: keep looking for a day, then ask a person
CREATE_DEADLINE = 20.0  # seconds between the intent write and the create (the lock is not forever)
LATE_SHIPMENT = 2 * 86400  # how long an earlier attempt's shipment is looked for after a new one
LABEL_GIVE_UP = 2 * 86400  # a shipment ShipX never confirms: the slip after two days
TRACK_GIVE_UP = 60 * 86400  # a parcel that never arrives: stop following after two months
MAX_LABEL_BYTES = 5 * 1024 * 1024  # the plugin's label route refuses a larger PDF
DONE_STATUSES = ("arrived", "received", "refunded", "rejected")


def _number(rma: Mapping[str, Any]) -> str:
    return str(rma.get("number") or f"RMA-{int(rma['id']):06d}")


def _rma_id(ctx: JobContext) -> int:
    value = ctx.data.get("rma_id")
    if value is None:
        raise PermanentError("the event names no return")
    return int(value)


def _provider(ctx: JobContext, rma: Mapping[str, Any]) -> str:
    """The carrier for this return: the one already used, else the shop's (the slip for own shipments)."""
    meta = rma.get("meta") or {}
    if meta.get(CARRIER):
        return str(meta[CARRIER])
    intent = Intent.decode(meta.get(SHIPMENT))
    if intent is not None:
        return intent.provider
    configured = str((ctx.config.get("carrier") or {}).get("provider") or "none")
    if configured == "none" or rma.get("method") not in ("locker", "courier"):
        return SLIP
    return configured


def _carrier(ctx: JobContext, name: str, **extra: Any) -> Carrier:
    return build_carrier(name, ctx.config.get("carrier") or {}, ctx.audit, observe=ctx.observe, **extra)


def _shop(ctx: JobContext, rma: Mapping[str, Any]) -> tuple[Party, str]:
    """The shop's return address (``config.rma.return_*``) as the receiver, and its own locker; without a
    return street and city, WooCommerce's store address (``store_address`` of GET rmas/{id})."""
    settings = ctx.config.get("rma") or {}

    def get(key: str) -> str:
        return str(settings.get(f"return_{key}") or "").strip()

    found = rma.get("store_address")
    store: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    contact = {"email": get("email"), "phone": get("phone")}
    if get("street") and get("city"):
        source: dict[str, Any] = {
            "street": get("street"),
            "building_number": get("building"),
            "city": get("city"),
            "post_code": get("postcode"),
            **contact,
        }
        name = get("name")
    else:
        source = {k: str(store.get(k) or "") for k in ("address_1", "address_2", "city", "postcode")}
        source.update(contact, country=str(store.get("country") or "PL").split(":")[0])
        name = get("name") or str(store.get("name") or "")
    return party(source, company=name), get("locker")


def parcel_for(ctx: JobContext, rma: Mapping[str, Any]) -> ReturnParcel:
    """The return as a carrier sees it: only what :func:`sidecar.privacy.for_carrier` passes on."""
    customer = privacy.for_carrier(rma)
    receiver, locker = _shop(ctx, rma)
    inpost = (ctx.config.get("carrier") or {}).get("inpost") or {}
    items = tuple(
        (str(i.get("name") or f"product {i.get('product_id')}"), int(i.get("quantity") or 0))
        for i in rma.get("items") or ()
    )
    method: Method = "courier" if rma.get("method") == "courier" else "locker"
    return ReturnParcel(
        rma_id=int(rma["id"]),
        reference=_number(rma),
        order_number=str(rma.get("order_number") or rma.get("order_id")),
        method=method,
        sender=party(customer),
        receiver=receiver,
        target_point=locker,
        dropoff_point=customer.get("point", ""),
        size=str(inpost.get("parcel_template") or "small"),
        items=items,
    )


# -- rma.process ------------------------------------------------------------------------------------


def process(ctx: JobContext) -> Outcome:
    routes = RmaRoutes(ctx.store)
    rma = routes.get(_rma_id(ctx))
    number, status, meta = _number(rma), str(rma["status"]), rma["meta"]
    if status != "approved":
        # Reported all the same: the event's outbox row waits for this action's outcome.
        return Outcome("skipped", f"Return {number} is {status}: no label to make.", note=False)
    if rma.get("label"):
        # The label is stored but the return did not move (a run stopped in between): finish that step.
        return _label_ready(ctx, routes, rma, str(rma["label"].get("carrier") or meta.get(CARRIER) or SLIP))
    name = _provider(ctx, rma)
    if name == SLIP:
        return _slip(ctx, routes, rma, reason=meta.get(ERROR, ""))
    carrier = _carrier(ctx, name)
    parcel = parcel_for(ctx, rma)
    stored = meta.get(SHIPMENT, "")
    # A shipment stored by an earlier run already has its rma.track chain: another event's rma.process
    # (a note edited on an approved return) looks once but starts no second chain. A retry of the run that
    # stored it may have lost its follow-up, so it keeps one; the sweep resumes a chain Redis lost.
    # The sweep's synthetic event comes only when no chain is queued or running: it starts one.
    followed = (
        bool(stored)
        and Intent.decode(stored) is None
        and ctx.attempt == 1
        and not synthetic.is_synthetic(ctx.event)
    )
    try:
        shipment_id, extras = _claim_shipment(ctx, routes, rma, carrier, parcel)
    except CarrierRefused as exc:  # only create() refuses: nothing was bought
        return _refused(ctx, routes, rma["id"], carrier, exc.reason)
    outcome = _advance(ctx, routes, routes.get(rma["id"]), carrier, shipment_id)
    if not outcome.report:  # still being made: rma.process's own outcome tells the shop it is on the way
        outcome = replace(
            outcome,
            message=f"Return label for {number} ordered from {carrier.label} (shipment {shipment_id}); "
            "waiting for it to be confirmed.",
            report=True,
            details={"rma_id": rma["id"], "shipment_id": shipment_id},
        )
    if extras:
        outcome = replace(
            outcome,
            message=f"{outcome.message} Warning: {' '.join(extras)}",
            report=True,
            details={**outcome.details, "extra_shipments": extras},
        )
    return replace(outcome, follow_up=None) if followed else outcome


def site_prefix(store_url: str) -> str:
    """Six hex digits of the store URL: another shop's, a staging copy's or a reinstall's RMA-000042 is
    never taken for ours (the same URL after a reinstall is told apart by the intent's time)."""
    return hashlib.sha256(store_url.rstrip("/").lower().encode()).hexdigest()[:6].upper()


def reference(ctx: JobContext, rma: Mapping[str, Any], attempt: int) -> str:
    """``<site>-RMA-000042-<attempt>``: each create attempt has its own reference (docs/contract.md)."""
    return f"{site_prefix(ctx.store.base)}-{_number(rma)}-{attempt}"


def attempt_of(ctx: JobContext, rma: Mapping[str, Any], ref: str) -> int:
    """The attempt a reference names; 0 for one of ours from before attempts were numbered."""
    found = re.fullmatch(re.escape(f"{site_prefix(ctx.store.base)}-{_number(rma)}-") + r"(\d{1,4})", ref)
    return int(found.group(1)) if found else 0


def _extras(meta: Mapping[str, Any]) -> list[str]:
    return [x for x in str(meta.get(EXTRAS) or "").split(",") if x]


def _claim_shipment(
    ctx: JobContext, routes: RmaRoutes, rma: Mapping[str, Any], carrier: Carrier, parcel: ReturnParcel
) -> tuple[str, list[str]]:
    """The return's shipment id (the stored one, the one a lost create made, or a new one) and what the
    shop must hear about duplicates. A new attempt only when the last one is *certainly* absent."""
    current = rma["meta"].get(SHIPMENT, "")
    prior = Intent.decode(current)
    if current and prior is None:
        return current, []
    attempt = 1
    if prior is not None:
        ours = replace(parcel, reference=prior.ref)
        search = carrier.find(ours, prior.started - CLOCK_SKEW)
        if search.shipments:
            log.info("return %s: recovered shipment %s by its reference", prior.ref, search.shipments[0].id)
            return _adopt(routes, rma, carrier, search.shipments, expect=current)
        age = prior.age()
        if age < carrier.recovery_window:
            wait = carrier.recovery_window - age
            raise TransientError(
                f"a create of the label for {prior.ref} may have reached {carrier.label} without an "
                f"answer; looking again in {wait:.0f} s before buying one",
                retry_after=wait,
            )
        if not search.certain:
            # Patience counts from this job's first run, so a replay (once staff know) looks for a day again.
            if _age(ctx) > SEARCH_GIVE_UP:
                raise PermanentError(
                    f"{carrier.label} may already have shipment {prior.ref} for return {_number(rma)}, but "
                    f"its search could not tell for a day — check Manager Paczek (InPost's web panel) for "
                    "that reference; replay this event once you know (it buys a new label only when the "
                    "search is sure there is none)"
                )
            wait = min(max(age / 2, 60.0), 3600.0)
            raise TransientError(
                f"{carrier.label}'s search could not tell whether shipment {prior.ref} exists; "
                f"looking again in {wait:.0f} s before buying one",
                retry_after=wait,
            )
        attempt = max(attempt_of(ctx, rma, prior.ref), 0) + 1
    parcel = replace(parcel, reference=reference(ctx, rma, attempt))
    ctx.ensure_lock()
    intent = Intent(carrier.name, parcel.reference, int(time.time())).encode()
    written = time.monotonic()
    routes.set_meta(rma["id"], {SHIPMENT: intent, CARRIER: carrier.name}, {SHIPMENT: current})
    ctx.ensure_lock()  # the last moment a run that lost its lock can still stop
    if time.monotonic() - written > CREATE_DEADLINE:
        raise TransientError(
            f"recording the intent for {parcel.reference} took too long; looking again before buying"
        )
    try:
        shipment = carrier.create(parcel)
    except (CarrierRefused, NotCreated):
        routes.set_meta(rma["id"], {SHIPMENT: ""}, {SHIPMENT: intent})  # nothing was bought
        raise
    try:
        _store_shipment(routes, rma["id"], carrier, shipment, expect=intent)
    except ConflictError:
        _orphan(routes, rma["id"], carrier, shipment, "another run changed the return meanwhile")
        raise TransientError(
            f"return {_number(rma)} changed while its label was bought; looking again"
        ) from None
    return shipment.id, []


def _adopt(
    routes: RmaRoutes, rma: Mapping[str, Any], carrier: Carrier, found: tuple[Shipment, ...], expect: str
) -> tuple[str, list[str]]:
    """Keep one shipment (the one furthest along, else the oldest); cancel any others."""
    live = [s for s in found if carrier.progress(s.status) != "stopped"] or list(found)
    keep = sorted(live, key=lambda s: (carrier.progress(s.status) == "pending", s.created_at))[0]
    _store_shipment(routes, rma["id"], carrier, keep, expect=expect)
    notes = [
        _orphan(
            routes,
            rma["id"],
            carrier,
            extra,
            f"{carrier.label} holds more than one shipment {keep.reference}",
        )
        for extra in found
        if extra.id != keep.id and extra.status != "canceled"
    ]
    return keep.id, notes


def _orphan(routes: RmaRoutes, rma_id: int, carrier: Carrier, shipment: Shipment, why: str) -> str:
    """A shipment the return does not use: cancelled, or (confirmed already) kept on record for staff."""
    try:
        cancelled = carrier.cancel(shipment.id)
    except (TransientError, PermanentError) as exc:
        log.warning("return %s: cancel of %s failed: %s", rma_id, shipment.id, exc)
        cancelled = False
    if cancelled:
        words = f"{why}: the extra {carrier.label} shipment {shipment.id} was cancelled."
    else:
        words = (
            f"{why}: the extra {carrier.label} shipment {shipment.id} could not be cancelled here — "
            "cancel it in Manager Paczek (InPost's web panel)."
        )
    for _ in range(3):  # recorded on the return whatever else changes meanwhile
        meta = routes.get(rma_id)["meta"]
        extras = _extras(meta)
        if shipment.id in extras:
            break
        with contextlib.suppress(ConflictError):
            routes.set_meta(
                rma_id,
                {EXTRAS: ",".join([*extras, shipment.id])[-1000:]},
                {EXTRAS: meta.get(EXTRAS, "")},
                log={"event": "carrier", "message": words, "public": False},
            )
            break
    return words


def _sweep_attempts(
    ctx: JobContext, routes: RmaRoutes, rma: Mapping[str, Any], carrier: Carrier, shipment: Shipment
) -> list[str]:
    """An earlier attempt's shipment that shows up late (search lag) is cancelled and noted."""
    attempt = attempt_of(ctx, rma, shipment.reference)
    made = _unix(shipment.created_at) or time.time()
    if attempt < 2 or time.time() - made > LATE_SHIPMENT:
        return []
    known = set(_extras(rma["meta"]))
    notes = []
    for earlier in range(1, attempt):
        parcel = replace(parcel_for(ctx, rma), reference=reference(ctx, rma, earlier))
        for late in carrier.find(parcel, made - LATE_SHIPMENT).shipments:
            if late.id not in known and late.status != "canceled":
                why = f"attempt {earlier} of the label ({parcel.reference}) reached {carrier.label} after all"
                notes.append(_orphan(routes, rma["id"], carrier, late, why))
    return notes


def _unix(value: str) -> float | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _store_shipment(
    routes: RmaRoutes, rma_id: int, carrier: Carrier, shipment: Shipment, expect: str
) -> None:
    routes.set_meta(
        rma_id,
        {SHIPMENT: shipment.id, CARRIER: carrier.name, STATUS: shipment.status, ERROR: ""},
        {SHIPMENT: expect},
        log={
            "event": "shipment",
            "message": f"{carrier.label} shipment {shipment.id} ({shipment.reference}) is the return label.",
            "public": False,
        },
    )


def _refused(ctx: JobContext, routes: RmaRoutes, rma_id: int, carrier: Carrier, reason: str) -> Outcome:
    """The carrier said no for good: record why, and give the customer the PDF slip instead."""
    current = routes.get(rma_id)["meta"].get(SHIPMENT, "")
    routes.set_meta(
        rma_id,
        # The shipment id (or intent) stays on record: only a refused create withdraws its own intent.
        {CARRIER: SLIP, ERROR: reason[:1000]},
        {SHIPMENT: current},
        log={"event": "carrier_error", "message": reason[:2000], "public": False},
    )
    return _slip(ctx, routes, routes.get(rma_id), reason=reason)


def _slip(ctx: JobContext, routes: RmaRoutes, rma: Mapping[str, Any], reason: str = "") -> Outcome:
    parcel = parcel_for(ctx, rma)
    if not (parcel.receiver.street and parcel.receiver.city):
        raise PermanentError(
            f"the return slip for {parcel.reference} needs the shop's return address: fill in the Return "
            "address in WooCommerce → Settings → BPM Bridge → Returns (or the store address in WooCommerce "
            "→ Settings → General), then replay this event" + (f" ({reason})" if reason else "")
        )
    slip = _carrier(ctx, SLIP)
    pdf = slip.label_pdf(slip.create(parcel), parcel)
    with contextlib.suppress(ConflictError):  # another run attached it first: one label, whoever made it
        routes.attach_label(
            rma["id"], SLIP, parcel.reference, pdf_base64=base64.b64encode(pdf).decode("ascii")
        )
    if not rma["meta"].get(CARRIER):
        routes.set_meta(rma["id"], {CARRIER: SLIP}, {CARRIER: ""})
    outcome = _label_ready(ctx, routes, routes.get(rma["id"]), SLIP)
    if reason:
        message = f"{reason}. A PDF return slip was made instead for return {parcel.reference}."
        return Outcome("done", message, {**outcome.details, "carrier_error": reason})
    return outcome


def _label_ready(ctx: JobContext, routes: RmaRoutes, rma: Mapping[str, Any], name: str) -> Outcome:
    """approved → label_ready once the label is stored; InPost labels are then followed to the shop."""
    number, label = _number(rma), rma.get("label") or {}
    tracking = str(label.get("tracking_number") or "")
    if name == SLIP:
        words = f"Return slip for {number} is ready for the customer to print (PDF)."
    else:
        words = f"Return label for {number} is ready: {carrier_class(name).label} parcel {tracking}."
    if rma["status"] == "approved":
        # ConflictError: staff moved it on meanwhile (e.g. marked it received); the label stays.
        with contextlib.suppress(ConflictError):
            routes.set_status(rma["id"], "approved", "label_ready", words)
    details = {"rma_id": rma["id"], "carrier": name, "tracking_number": tracking}
    follow = None if name == SLIP else (TRACK, _track_delay(ctx, name, in_transit=True))
    return Outcome("done", words, details, follow_up=follow)


# -- rma.track --------------------------------------------------------------------------------------


def track(ctx: JobContext) -> Outcome:
    """Follow the shipment (polls are not reported: only a label, an arrival or a stop is news)."""
    routes = RmaRoutes(ctx.store)
    rma = routes.get(_rma_id(ctx))
    meta, status = rma["meta"], str(rma["status"])
    shipment_id = meta.get(SHIPMENT, "")
    name = meta.get(CARRIER) or ""
    if status in DONE_STATUSES or status == "requested" or not shipment_id or Intent.decode(shipment_id):
        return Outcome(
            "skipped", f"Nothing to follow for return {_number(rma)} ({status}).", note=False, report=False
        )
    if name == SLIP or not name:
        return Outcome("skipped", f"Return {_number(rma)} has no carrier parcel.", note=False, report=False)
    # A read InPost refuses (a revoked token) is a PermanentError: the shipment may well exist, so the
    # intent and the carrier stay and no slip is made; the shop hears it in plain words.
    return _advance(ctx, routes, rma, _carrier(ctx, name), shipment_id)


def _age(ctx: JobContext) -> float:
    now = time.time()
    return max(0.0, now - (ctx.first_run_at or now))


def _track_delay(ctx: JobContext, name: str, *, in_transit: bool) -> float:
    """Often while the label is being made (5 s, then half the wait so far, at most 15 min), rarely once
    the parcel is on its way (every 30 min)."""
    settings = (ctx.config.get("carrier") or {}).get(name) or {}
    if in_transit:
        return float(settings.get("track_seconds") or 1800)
    first = float(settings.get("poll_seconds") or 5)
    most = float(settings.get("poll_max_seconds") or 900)
    return min(max(_age(ctx) / 2, first), most)


def _advance(
    ctx: JobContext, routes: RmaRoutes, rma: Mapping[str, Any], carrier: Carrier, shipment_id: str
) -> Outcome:
    """One look at the shipment: label it when confirmed, mark the return arrived when delivered; and,
    after a second attempt, a look for the earlier one's shipment that search lag hid."""
    shipment = carrier.status(shipment_id)
    try:
        late = _sweep_attempts(ctx, routes, rma, carrier, shipment)
    except (TransientError, PermanentError) as exc:  # best effort: the next look tries again
        log.warning("return %s: looking for earlier attempts failed: %s", _number(rma), exc)
        late = []
    outcome = _look(ctx, routes, rma if not late else routes.get(rma["id"]), carrier, shipment)
    if not late:
        return outcome
    return replace(
        outcome,
        message=f"{outcome.message} Warning: {' '.join(late)}",
        report=True,
        details={**outcome.details, "extra_shipments": late},
    )


def _look(
    ctx: JobContext, routes: RmaRoutes, rma: Mapping[str, Any], carrier: Carrier, shipment: Shipment
) -> Outcome:
    number, status, meta = _number(rma), str(rma["status"]), rma["meta"]
    progress = carrier.progress(shipment.status)
    if not getattr(carrier, "known", lambda s: True)(shipment.status):
        log.warning(
            "return %s: unknown %s status %r (treated as on its way)", number, carrier.label, shipment.status
        )
    changed = shipment.status != meta.get(STATUS, "")
    if progress == "stopped" and not changed:
        # Told once already (a failed outcome and the customer's timeline); a later look stays quiet.
        return Outcome("skipped", f"Return {number}: parcel {carrier.describe(shipment.status)}.", note=False)
    if progress == "stopped" and status == "approved" and not rma.get("label"):
        # Stopped before any label reached the customer: they still need something to send the parcel with.
        _note_status(routes, rma, carrier, shipment, public=False)
        reason = (
            f"{carrier.label} reports shipment {shipment.id} as {carrier.describe(shipment.status)} before "
            "its label was made"
        )
        return _refused(ctx, routes, rma["id"], carrier, reason)
    if progress == "stopped":
        _note_status(routes, rma, carrier, shipment, public=True)
        raise PermanentError(
            f"{carrier.label} reports the parcel of return {number} as {carrier.describe(shipment.status)}: "
            "it will not reach the shop. Contact the customer: print a new label in InPost Manager Paczek "
            "and send it to them, or ask them to send the parcel their own way with the return number on it."
        )
    if status == "approved" and not rma.get("label"):
        if progress == "pending" or not carrier.ready(shipment):
            if _age(ctx) > LABEL_GIVE_UP:
                # Cancelled first, so that a late confirmation cannot make it a second label after the slip.
                if carrier.cancel(shipment.id):
                    after = "it was cancelled"
                else:
                    after = "cancel it in InPost Manager Paczek if it is still there"
                reason = f"{carrier.label} has not confirmed shipment {shipment.id} in two days ({after})"
                return _refused(ctx, routes, rma["id"], carrier, reason)
            if changed:
                _note_status(routes, rma, carrier, shipment, public=False)
            return Outcome(
                "done",
                f"Waiting for {carrier.label} to confirm the label of return {number}.",
                note=False,
                report=False,
                follow_up=(TRACK, _track_delay(ctx, carrier.name, in_transit=False)),
            )
        return _attach(ctx, routes, rma, carrier, shipment)
    if progress == "delivered" and status in ("label_ready", "approved"):
        _note_status(routes, rma, carrier, shipment, public=False)
        words = (
            f"{carrier.label} delivered the parcel of return {number} to the shop; "
            "check it and mark it received."
        )
        with contextlib.suppress(ConflictError):  # staff marked it received first
            routes.set_status(rma["id"], status, "arrived", words, actor="carrier")
        return Outcome("done", words, {"rma_id": rma["id"], "shipment_status": shipment.status})
    attention = carrier.attention(shipment.status)
    if attention and changed:
        where = carrier.describe(shipment.status)
        if attention == "expired":
            _note_status(routes, rma, carrier, shipment, public=False)
            raise PermanentError(
                f"{carrier.label}: the parcel of return {number} was not collected in time ({where}); "
                "ask InPost where it is now (Manager Paczek, the tracking number) and contact the customer"
            )
        words = (
            f"{carrier.label}: the parcel of return {number} is waiting for the shop ({where}) — collect it "
            "from the locker or the branch."
        )
        _note_status(routes, rma, carrier, shipment, public=False, message=words)
        return Outcome(
            "done",
            words,
            {"rma_id": rma["id"], "shipment_status": shipment.status},
            follow_up=(TRACK, _track_delay(ctx, carrier.name, in_transit=True)),
        )
    if _age(ctx) > TRACK_GIVE_UP:
        raise PermanentError(
            f"the parcel of return {number} has not reached the shop in two months "
            f"({carrier.label} status: {carrier.describe(shipment.status)}); stopped following it"
        )
    if changed:
        _note_status(routes, rma, carrier, shipment, public=False)
    return Outcome(
        "done",
        f"Return {number}: parcel {carrier.describe(shipment.status)}.",
        note=False,
        report=False,
        follow_up=(TRACK, _track_delay(ctx, carrier.name, in_transit=True)),
    )


def _note_status(
    routes: RmaRoutes,
    rma: Mapping[str, Any],
    carrier: Carrier,
    shipment: Shipment,
    public: bool,
    message: str = "",
) -> None:
    meta = {STATUS: shipment.status}
    if shipment.tracking_number:
        meta[TRACKING] = shipment.tracking_number
    routes.set_meta(
        rma["id"],
        meta,
        {SHIPMENT: shipment.id},
        # A public step is worded by the plugin in the shop's language; the sidecar's words are for staff.
        log={
            "event": "parcel_stopped" if public else "carrier",
            "message": message or f"{carrier.label}: parcel {carrier.describe(shipment.status)}.",
            "public": public,
        },
    )


def checked_pdf(pdf: bytes, carrier: Carrier, shipment: Shipment) -> bytes:
    """What the shop's label route takes (a PDF of at most 5 MiB), checked before it is sent."""
    problem = ""
    if not pdf.startswith(b"%PDF-"):
        problem = "is not a PDF"
    elif len(pdf) > MAX_LABEL_BYTES:
        problem = f"is {len(pdf) / 1048576:.1f} MiB, more than the 5 MiB a return label may have"
    if problem:
        raise PermanentError(
            f"the {carrier.label} label of shipment {shipment.id} ({shipment.tracking_number}) {problem}: "
            "print the label in InPost Manager Paczek and send it to the customer, then mark the return "
            "as Label ready"
        )
    return pdf


def _attach(
    ctx: JobContext, routes: RmaRoutes, rma: Mapping[str, Any], carrier: Carrier, shipment: Shipment
) -> Outcome:
    parcel = parcel_for(ctx, rma)
    pdf = checked_pdf(carrier.label_pdf(shipment, parcel), carrier, shipment)
    url = carrier.tracking_url(shipment.tracking_number)
    with contextlib.suppress(ConflictError):  # attached by an earlier run whose answer was lost
        routes.attach_label(
            rma["id"],
            carrier.name,
            shipment.tracking_number,
            url=url or None,
            pdf_base64=base64.b64encode(pdf).decode("ascii"),
        )
    routes.set_meta(
        rma["id"], {STATUS: shipment.status, TRACKING: shipment.tracking_number}, {SHIPMENT: shipment.id}
    )
    return _label_ready(ctx, routes, routes.get(rma["id"]), carrier.name)
