"""``POST /v1/crm/pipelines``: the CRM's deal pipelines and stages, for the settings' "Load stages" button.

The plugin signs the request exactly like an event delivery (Standard Webhooks over the body ``{}``), so
only the shop can ask. The sidecar reads the shop's configuration afresh (the admin may have just saved
a token) and asks the configured CRM. A refusal comes back as a problem whose ``detail`` a shop admin
can act on ("HubSpot refused the access token …"); the CRM's own answer never reaches the browser.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Blueprint, Response, jsonify, request

from sidecar.api import state
from sidecar.api.problems import problem
from sidecar.errors import PermanentError, TransientError
from sidecar.signing import SignatureError, verify

MAX_BODY = 1024
REPLAY_KEY = "bpm:crm:pipelines:seen:{}"
REPLAY_TTL = 600  # longer than the signature's 5-minute tolerance
MAX_WAIT = 3.0  # an admin is waiting: a full CRM budget is a 503, not a held request

log = logging.getLogger(__name__)
bp = Blueprint("crm", __name__)


@bp.post("/v1/crm/pipelines")
def pipelines() -> Response:
    bpm = state()
    if request.content_length is not None and request.content_length > MAX_BODY:
        return problem(413, "payload-too-large", "Payload too large", "Send an empty JSON object.")
    body = request.get_data(cache=False)[: MAX_BODY + 1]
    if len(body) > MAX_BODY:
        return problem(413, "payload-too-large", "Payload too large", "Send an empty JSON object.")
    try:
        headers = {name.lower(): value for name, value in request.headers.items()}
        msg_id = verify(bpm.settings.webhook_secrets, headers, body)
    except SignatureError as exc:
        return problem(401, "bad-signature", "Bad signature", str(exc))
    try:
        if not bpm.redis.set(REPLAY_KEY.format(msg_id), "1", nx=True, ex=REPLAY_TTL):
            return problem(401, "bad-signature", "Bad signature", "This signed request was already used.")
    except redis.RedisError:
        return problem(
            503,
            "unavailable",
            "Queue unavailable",
            "The sidecar cannot reach Redis; try again.",
            headers={"Retry-After": "5"},
        )
    return _answer(bpm)


def _answer(bpm: Any) -> Response:
    # Provider code only here, never at import time: the intake's other routes do not need it.
    from sidecar import composition
    from sidecar.engine import runtime_config
    from sidecar.jobs.crm import provider_for, provider_name
    from sidecar.providers.crm import provider_class
    from sidecar.providers.crm.limits import limiter_for

    conn = composition.worker_redis(bpm.settings)
    try:
        store = composition.store_client(bpm.settings, bpm.metrics, conn=conn)
        runtime_config.invalidate(conn)
        config = runtime_config.get_config(conn, bpm.settings, store)
    except (PermanentError, TransientError, redis.RedisError) as exc:
        reason = getattr(exc, "reason", type(exc).__name__)
        return problem(
            502,
            "store-unavailable",
            "Settings not readable",
            f"The sidecar could not read the shop's settings: {reason}",
        )
    name = provider_name(config)
    if name == "none":
        return problem(
            409,
            "crm-off",
            "No CRM chosen",
            "Choose a CRM (HubSpot, Pipedrive or a webhook) and save the settings first.",
        )
    try:
        label = provider_class(name).label
        crm = config.get("crm") or {}
        limiter = limiter_for(name, crm, conn=conn, max_wait=MAX_WAIT)
        found = provider_for(name, config, store.http.audit, bpm.metrics.provider_call, limiter).pipelines()
    except PermanentError as exc:
        log.warning("pipelines refused: %s", exc.reason)
        return problem(502, "crm-refused", "The CRM refused", exc.reason)
    except TransientError as exc:
        wait = str(int(exc.retry_after or 30))
        return problem(
            503,
            "crm-unavailable",
            "The CRM is not answering",
            f"{exc.reason}; try again shortly.",
            headers={"Retry-After": wait},
        )
    return jsonify(
        provider=name,
        label=label,
        pipelines=[
            {"id": p.id, "label": p.label, "stages": [{"id": s.id, "label": s.label} for s in p.stages]}
            for p in found
        ],
    )
