"""``privacy.erase`` (event ``customer.erasure_requested``): WordPress' personal-data eraser, fanned out to
every CRM BPM Bridge may have sent the person to.

The event carries only the e-mail's hash and the erasure request's id (docs/contract.md §2); the address is
read inside the job from ``GET erasures/{id}`` and checked against the hash, so it never sits in the queue.
Every CRM whose credentials are present in ``config.crm`` is told — not only the one selected now: a shop
that moved from HubSpot to Pipedrive still has the person in HubSpot. Each destination's result is recorded
on the request (``POST erasures/{id}/outcome``), where the shop admin sees it on Tools → Erase Personal
Data. The job is state-based: it reads the recorded outcomes first and skips the destinations already
``done``, so when one CRM fails transiently only what is left is retried. Invoices and tax records are
kept (the tax law's 5 years): this job never touches invoicing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from sidecar.errors import LockLost, PermanentError, TransientError
from sidecar.jobs.base import JobContext, Outcome
from sidecar.providers.crm import build_provider, provider_class
from sidecar.providers.crm.limits import limiter_for
from sidecar.store import ErasureGone, ErasureRoutes

FINISHED = ("done", "skipped")
RETRY_NOTE = " BPM Bridge tries again."
# Which setting says a CRM may hold the shop's customers (its credential, or the webhook's address).
CREDENTIALS: Mapping[str, tuple[str, ...]] = {
    "hubspot": ("access_token",),
    "pipedrive": ("api_token",),
    "webhook": ("url", "secret"),
}


def email_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def configured(crm: Mapping[str, Any]) -> list[str]:
    """The destinations with credentials in the settings, in a stable order."""
    found = []
    for name, keys in CREDENTIALS.items():
        block = crm.get(name)
        if isinstance(block, Mapping) and all(str(block.get(k) or "").strip() for k in keys):
            found.append(name)
    return found


def erase(ctx: JobContext) -> Outcome:
    raw_id = ctx.data.get("request_id")
    if not raw_id:
        raise PermanentError(
            "the erasure event names no erasure request, so the e-mail address cannot be read: erase the "
            "person in the CRM by hand"
        )
    request_id = int(raw_id)
    routes = ErasureRoutes(ctx.store)
    try:
        erasure = routes.read_erasure(request_id)
    except ErasureGone as exc:
        # The event was queued for this request, so the person may still be in a CRM: a failure the admin
        # must see (the Events screen), never a quiet skip.
        raise PermanentError(
            f"{exc.reason}, so the e-mail address cannot be read and nothing was erased in the CRM: erase "
            "the person there by hand"
        ) from exc
    wanted = str(ctx.data.get("email_hash") or "").lower()
    if not hmac.compare_digest(email_hash(erasure.email), wanted):
        raise PermanentError(
            f"erasure request {request_id} is for another e-mail address than the event's (the hashes "
            "differ); nothing was erased"
        )
    crm = ctx.config.get("crm") or {}
    targets = configured(crm)
    if not targets:
        return Outcome("skipped", "No CRM is set up in BPM Bridge, so no CRM holds this person.", note=False)

    said: dict[str, str] = {}
    waiting: dict[str, TransientError] = {}
    refused: list[str] = []
    for name in targets:
        label = provider_class(name).label
        if erasure.outcomes.get(name, {}).get("status") in FINISHED:
            said[name] = "already done"
            continue
        try:
            provider = build_provider(
                name, crm, ctx.audit, observe=ctx.observe, limiter=limiter_for(name, crm)
            )
            ctx.ensure_lock()
            message = provider.erase(erasure.email)
        except LockLost:
            raise  # another run owns the request now: not this destination's failure
        except TransientError as exc:
            waiting[label] = exc
            said[name] = exc.reason
            routes.record_erasure_outcome(request_id, name, "failed", exc.reason + RETRY_NOTE)
            continue
        except PermanentError as exc:
            refused.append(f"{label}: {exc.reason}")
            said[name] = exc.reason
            routes.record_erasure_outcome(request_id, name, "failed", exc.reason)
            continue
        # Recorded right away: a later destination's failure must not make this one run again.
        routes.record_erasure_outcome(request_id, name, "done", message)
        said[name] = message
    details = {"request_id": request_id, "destinations": said}
    if waiting:
        later = max((e.retry_after or 0 for e in waiting.values()), default=0) or None
        names, first = ", ".join(waiting), next(iter(waiting.values())).reason
        raise TransientError(
            f"erasure request {request_id}: {names} could not finish yet ({first}); the other destinations "
            "are recorded on the request",
            later,
        )
    if refused:
        raise PermanentError(f"erasure request {request_id} was refused by " + "; ".join(refused))
    labels = ", ".join(provider_class(n).label for n in targets)
    return Outcome(
        "done",
        f"Erasure request {request_id}: the person was erased in {labels}. Invoices are kept, as tax law "
        "requires.",
        details,
        note=False,
    )
