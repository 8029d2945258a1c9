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
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sidecar import privacy
from sidecar.errors import ConflictError, PermanentError, TransientError
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
LABEL_GIVE_UP = 2 * 86400  # a shipment ShipX never confirms: the slip after two days
TRACK_GIVE_UP = 60 * 86400  # a parcel that never arrives: stop following after two months
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


def _shop(ctx: JobContext) -> tuple[Party, str]:
    """The shop's return address (``config.rma.return_*``) as the receiver, and its own locker."""
    settings = ctx.config.get("rma") or {}

    def get(key: str) -> str:
        return str(settings.get(f"return_{key}") or "").strip()

    receiver = party(
        {
            "street": get("street"),
            "building_number": get("building"),
            "city": get("city"),
            "post_code": get("postcode"),
            "email": get("email"),
            "phone": get("phone"),
        },
        company=get("name"),
    )
    return receiver, get("locker")


def parcel_for(ctx: JobContext, rma: Mapping[str, Any]) -> ReturnParcel:
    """The return as a carrier sees it: only what :func:`sidecar.privacy.for_carrier` passes on."""
    customer = privacy.for_carrier(rma)
    receiver, locker = _shop(ctx)
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
    try:
        shipment_id = _claim_shipment(ctx, routes, rma, carrier, parcel)
    except CarrierRefused as exc:
        return _refused(ctx, routes, rma["id"], carrier, exc.reason)
    try:
        outcome = _advance(ctx, routes, routes.get(rma["id"]), carrier, shipment_id)
    except CarrierRefused as exc:
        return _refused(ctx, routes, rma["id"], carrier, exc.reason)
    if not outcome.report:  # still being made: rma.process's own outcome tells the shop it is on the way
        return replace(
            outcome,
            message=f"Return label for {number} ordered from {carrier.label} (shipment {shipment_id}); "
            "waiting for it to be confirmed.",
            report=True,
            details={"rma_id": rma["id"], "shipment_id": shipment_id},
        )
    return outcome


def _claim_shipment(
    ctx: JobContext, routes: RmaRoutes, rma: Mapping[str, Any], carrier: Carrier, parcel: ReturnParcel
) -> str:
    """The return's shipment id: the stored one, the one a lost create made, or a new one (exactly once)."""
    current = rma["meta"].get(SHIPMENT, "")
    prior = Intent.decode(current)
    if current and prior is None:
        return current
    if prior is not None:
        found = carrier.find(parcel.reference, prior.started)
        if found is not None:
            _store_shipment(routes, rma["id"], carrier, found, expect=current)
            log.info("return %s: recovered shipment %s by its reference", parcel.reference, found.id)
            return found.id
        wait = carrier.recovery_window - prior.age()
        if wait > 0:
            raise TransientError(
                f"a create of the label for {parcel.reference} may have reached {carrier.label} without an "
                f"answer; looking again in {wait:.0f} s before buying one",
                retry_after=wait,
            )
    ctx.ensure_lock()  # the last moment a run that lost its lock can still stop
    intent = Intent(carrier.name, parcel.reference, int(time.time())).encode()
    routes.set_meta(rma["id"], {SHIPMENT: intent, CARRIER: carrier.name}, {SHIPMENT: current})
    try:
        shipment = carrier.create(parcel)
    except (CarrierRefused, NotCreated):
        routes.set_meta(rma["id"], {SHIPMENT: ""}, {SHIPMENT: intent})  # nothing was bought
        raise
    _store_shipment(routes, rma["id"], carrier, shipment, expect=intent)
    return shipment.id


def _store_shipment(
    routes: RmaRoutes, rma_id: int, carrier: Carrier, shipment: Shipment, expect: str
) -> None:
    routes.set_meta(
        rma_id,
        {SHIPMENT: shipment.id, CARRIER: carrier.name, STATUS: shipment.status, ERROR: ""},
        {SHIPMENT: expect},
        log={
            "event": "shipment",
            "message": f"{carrier.label} shipment {shipment.id} created for the return label.",
            "public": False,
        },
    )


def _refused(ctx: JobContext, routes: RmaRoutes, rma_id: int, carrier: Carrier, reason: str) -> Outcome:
    """The carrier said no for good: record why, and give the customer the PDF slip instead."""
    current = routes.get(rma_id)["meta"].get(SHIPMENT, "")
    routes.set_meta(
        rma_id,
        # An intent is withdrawn (nothing was bought); a real shipment id stays on record.
        {CARRIER: SLIP, ERROR: reason[:1000], SHIPMENT: "" if Intent.decode(current) else current},
        {SHIPMENT: current},
        log={"event": "carrier_error", "message": reason[:2000], "public": False},
    )
    return _slip(ctx, routes, routes.get(rma_id), reason=reason)


def _slip(ctx: JobContext, routes: RmaRoutes, rma: Mapping[str, Any], reason: str = "") -> Outcome:
    parcel = parcel_for(ctx, rma)
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
    carrier = _carrier(ctx, name)
    try:
        return _advance(ctx, routes, rma, carrier, shipment_id)
    except CarrierRefused as exc:
        if rma.get("label"):
            raise  # the customer has the label; only following it failed
        return _refused(ctx, routes, rma["id"], carrier, exc.reason)


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
    """One look at the shipment: label it when confirmed, mark the return arrived when delivered."""
    number, status, meta = _number(rma), str(rma["status"]), rma["meta"]
    shipment = carrier.status(shipment_id)
    progress = carrier.progress(shipment.status)
    if not getattr(carrier, "known", lambda s: True)(shipment.status):
        log.warning(
            "return %s: unknown %s status %r (treated as on its way)", number, carrier.label, shipment.status
        )
    changed = shipment.status != meta.get(STATUS, "")
    if progress == "stopped" and not changed:
        # Told once already (a failed outcome and the customer's timeline); a later look stays quiet.
        return Outcome("skipped", f"Return {number}: parcel {carrier.describe(shipment.status)}.", note=False)
    if progress == "stopped":
        _note_status(routes, rma, carrier, shipment, public=True)
        raise PermanentError(
            f"{carrier.label} reports the parcel of return {number} as {carrier.describe(shipment.status)}: "
            "it will not reach the shop. Contact the customer; a new label needs the return approved again."
        )
    if status == "approved" and not rma.get("label"):
        if progress == "pending" or not carrier.ready(shipment):
            if _age(ctx) > LABEL_GIVE_UP:
                reason = f"{carrier.label} has not confirmed shipment {shipment.id} in two days"
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
    routes: RmaRoutes, rma: Mapping[str, Any], carrier: Carrier, shipment: Shipment, public: bool
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
            "message": f"{carrier.label}: parcel {carrier.describe(shipment.status)}.",
            "public": public,
        },
    )


def _attach(
    ctx: JobContext, routes: RmaRoutes, rma: Mapping[str, Any], carrier: Carrier, shipment: Shipment
) -> Outcome:
    parcel = parcel_for(ctx, rma)
    pdf = carrier.label_pdf(shipment, parcel)
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
