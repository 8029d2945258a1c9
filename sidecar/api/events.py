"""``POST /v1/events``: the intake (docs/contract.md §2) and ``GET /v1/meta``.

The order of checks is deliberate: size before reading, signature before parsing (an unauthenticated
caller gets no parser to poke at), then media type, JSON, envelope, and only then Redis. A request that
fails any check queues nothing. No store call happens here: the worker reads what it needs later.
"""

from __future__ import annotations

import contextlib
import json
import logging
from importlib import metadata
from pathlib import Path
from typing import Any

import redis
from flask import Blueprint, Response, jsonify, request

from sidecar.api import BpmState, state
from sidecar.api.problems import problem
from sidecar.engine import queueing, runtime_config
from sidecar.events import EVENT_TYPES, EnvelopeError, validate_envelope
from sidecar.jobs import registry
from sidecar.signing import SignatureError, verify

MAX_BODY = 65536
DEDUPE_KEY = "bpm:event:{}"
RETRY_AFTER_UNAVAILABLE = "5"
OPENAPI_PATH = Path(__file__).resolve().parents[1] / "openapi.yaml"

log = logging.getLogger(__name__)
bp = Blueprint("events", __name__)


def _read_body() -> bytes | None:
    """The raw body, or None when it exceeds MAX_BODY. Reads at most MAX_BODY + 1 bytes.

    A chunked request has no Content-Length, so the limit is enforced while reading as well.
    """
    chunks: list[bytes] = []
    size = 0
    stream = request.stream
    while size <= MAX_BODY:
        chunk = stream.read(MAX_BODY + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > MAX_BODY else b"".join(chunks)


def _type_label(payload: Any) -> str:
    # Metric labels come from a closed set: an attacker's "type" must not create new time series.
    event_type = payload.get("type") if isinstance(payload, dict) else None
    return event_type if isinstance(event_type, str) and event_type in EVENT_TYPES else "unknown"


def _too_large(bpm: BpmState) -> Response:
    bpm.metrics.event("unknown", "too_large")
    return problem(
        413, "payload-too-large", "Payload too large", f"The event body is larger than {MAX_BODY} bytes."
    )


def _invalid(
    bpm: BpmState, payload: Any, status: int, slug: str, title: str, detail: str, **extra: Any
) -> Response:
    bpm.metrics.event(_type_label(payload), "invalid")
    return problem(status, slug, title, detail, **extra)


@bp.post("/v1/events")
def receive_event() -> Response | tuple[Response, int]:
    bpm = state()
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _too_large(bpm)
    body = _read_body()
    if body is None:
        return _too_large(bpm)

    try:
        msg_id = verify(bpm.settings.webhook_secrets, request.headers, body)
    except SignatureError as exc:
        log.warning("event refused (401): %s", exc)
        bpm.metrics.event("unknown", "bad_signature")
        return problem(401, "bad-signature", "Bad signature", str(exc))

    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        return _invalid(
            bpm,
            None,
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "Send the event as application/json.",
        )
    try:
        payload = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError):
        return _invalid(
            bpm, None, 400, "malformed-json", "Malformed JSON", "The body is not valid UTF-8 JSON."
        )
    if not isinstance(payload, dict):
        return _invalid(bpm, None, 400, "malformed-json", "Malformed JSON", "The body must be a JSON object.")

    try:
        envelope = validate_envelope(payload)
        if envelope["id"] != msg_id.lower():
            # The signature covers webhook-id; tying it to the envelope id stops a captured body from
            # being replayed under a fresh id to dodge de-duplication.
            raise EnvelopeError({"id": ["Must equal the webhook-id header (the event id)."]})
    except EnvelopeError as exc:
        detail = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.errors.items())
        # Field names only: the values came from outside and are the plugin's to look at.
        log.warning("event refused (422): invalid %s", ", ".join(sorted(exc.errors)))
        return _invalid(
            bpm, payload, 422, "invalid-envelope", "Invalid event envelope", detail, errors=exc.errors
        )

    try:
        return _accept(bpm, envelope)
    except redis.RedisError as exc:
        log.error(
            "event not accepted: Redis unavailable (%s)",
            type(exc).__name__,
            extra={"event_id": envelope["id"], "event_type": envelope["type"]},
        )
        bpm.metrics.event(envelope["type"], "unavailable")
        return problem(
            503,
            "unavailable",
            "Queue unavailable",
            "The sidecar cannot reach its queue (Redis); deliver the event again later.",
            headers={"Retry-After": RETRY_AFTER_UNAVAILABLE},
        )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _accept(bpm: BpmState, envelope: dict[str, Any]) -> tuple[Response, int]:
    conn, settings = bpm.redis, bpm.settings
    event_id, event_type = envelope["id"], envelope["type"]
    context = {"event_id": event_id, "event_type": event_type, "order_id": envelope["data"].get("order_id")}
    key = DEDUPE_KEY.format(event_id)
    actions = registry.actions_for(event_type, envelope["data"])

    if not conn.set(key, json.dumps(actions), nx=True, ex=settings.dedupe_ttl):
        stored = conn.get(key)
        # The key may expire between SET and GET; then today's table is the best answer.
        first = json.loads(stored) if stored is not None else actions
        requeued = queueing.requeue_missing(conn, settings, envelope, first)
        if requeued:
            log.warning(
                "duplicate event: re-queued actions whose jobs were gone: %s", requeued, extra=context
            )
        else:
            log.info("duplicate event: nothing queued", extra=context)
        bpm.metrics.event(event_type, "duplicate")
        return jsonify(id=event_id, duplicate=True, actions=first), 200

    try:
        if event_type == "config.updated":
            runtime_config.invalidate(conn)
        queueing.enqueue_actions(conn, settings, envelope, actions)
    except Exception:
        # Forget the id so the plugin's re-delivery is treated as new, not as an already-queued duplicate.
        # If even that fails, the re-delivery takes the duplicate path, whose requeue_missing heals it.
        with contextlib.suppress(redis.RedisError):
            conn.delete(key)
        raise
    log.info("event accepted, queued %s", actions, extra=context)
    bpm.metrics.event(event_type, "accepted")
    return jsonify(id=event_id, duplicate=False, actions=actions), 202


def sidecar_version() -> str:
    try:
        return metadata.version("bpm-bridge-sidecar")
    except metadata.PackageNotFoundError:
        return "0.0.0"


@bp.get("/v1/meta")
def meta() -> Response:
    return jsonify(event_types=registry.routing_table(), version=sidecar_version())


@bp.get("/v1/openapi.yaml")
def openapi() -> Response:
    # Next to the package's modules (pyproject ships it as package data); not importlib.resources,
    # which resolves "sidecar" wrongly when a tests/sidecar directory is on sys.path.
    text = OPENAPI_PATH.read_text(encoding="utf-8")
    return Response(text, mimetype="application/yaml")
