"""``POST /v1/events``: the intake (docs/contract.md §2) and ``GET /v1/meta``.

The order of checks is deliberate: size before reading, signature before parsing (an unauthenticated
caller gets no parser to poke at), then media type, JSON (nesting bounded), envelope, and only then
Redis. A request that fails any check queues nothing. No store call happens here: the worker reads what
it needs later.

Redis failures: the intake's client fails fast (sidecar/composition.py: 0.25 s connect, 0.5 s socket,
no retries); the id is claimed and the jobs queued in one MULTI/EXEC, so a failure leaves nothing
half-queued; the 503 path writes nothing to Redis (its metric waits in memory for the next good event).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

import redis
from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import ClientDisconnected

from sidecar.api import BpmState, state
from sidecar.api.problems import problem
from sidecar.engine import queueing, redelivery, runtime_config
from sidecar.events import (
    EVENT_TYPES,
    MAX_DEPTH,
    EnvelopeError,
    nesting_depth_exceeds,
    validate_envelope,
)
from sidecar.jobs import registry
from sidecar.metrics import Metrics
from sidecar.signing import SignatureError, verify

MAX_BODY = 65536
DEDUPE_KEY = "bpm:event:{}"
RETRY_AFTER_UNAVAILABLE = "5"
# Seconds of Redis time per event before no further command starts (see RedisBudget).
REDIS_BUDGET = 0.4
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
    response = problem(
        413, "payload-too-large", "Payload too large", f"The event body is larger than {MAX_BODY} bytes."
    )
    return _count_after(response, bpm, "unknown", "too_large")


def _invalid(
    bpm: BpmState, payload: Any, status: int, slug: str, title: str, detail: str, **extra: Any
) -> Response:
    return _count_after(problem(status, slug, title, detail, **extra), bpm, _type_label(payload), "invalid")


def _count_after(response: Response, bpm: BpmState, event_type: str, result: str) -> Response:
    """Count the event once the answer is sent: a slow metric write must not delay the plugin's answer.

    Counts kept in memory while Redis was unavailable travel with it.
    """
    pending = _pending_counts()

    def write() -> None:
        bpm.metrics.event(event_type, result)
        pending.flush(bpm.metrics)

    response.call_on_close(write)
    return response


@bp.post("/v1/events")
def receive_event() -> Response | tuple[Response, int]:
    bpm = state()
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _too_large(bpm)
    try:
        body = _read_body()
    except (OSError, ClientDisconnected):
        # gunicorn_conf gives every connection a receive timeout: a client that stops sending mid-body
        # (slowloris) loses its thread here instead of holding it.
        log.warning("event refused (408): the client stopped sending the body")
        return problem(
            408,
            "request-timeout",
            "Request timeout",
            "The body did not arrive in time.",
            headers={"Connection": "close"},
        )
    if body is None:
        return _too_large(bpm)

    try:
        headers = {name.lower(): value for name, value in request.headers.items()}
        msg_id = verify(bpm.settings.webhook_secrets, headers, body)
    except SignatureError as exc:
        log.warning("event refused (401): %s", exc)
        return _count_after(
            problem(401, "bad-signature", "Bad signature", str(exc)), bpm, "unknown", "bad_signature"
        )

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
        too_deep = nesting_depth_exceeds(payload)
    except RecursionError:
        too_deep = True
    except (UnicodeDecodeError, ValueError):
        return _invalid(
            bpm, None, 400, "malformed-json", "Malformed JSON", "The body is not valid UTF-8 JSON."
        )
    if too_deep:
        # An envelope is flat; a deeply nested body is refused before anything walks it recursively.
        return _invalid(
            bpm,
            None,
            400,
            "malformed-json",
            "Malformed JSON",
            f"The body nests arrays/objects deeper than {MAX_DEPTH} levels; an event envelope is flat.",
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
        answer, status, result = _accept(bpm, envelope, RedisBudget(REDIS_BUDGET))
    except redelivery.RedeliveryBusy:
        log.info("redelivery handled by another request", extra=_context(envelope))
        return problem(
            503,
            "redelivery-in-progress",
            "Retry in progress",
            "Another delivery of this Retry is being handled; deliver the event again later.",
            headers={"Retry-After": str(redelivery.CLAIM_TTL)},
        )
    except redis.RedisError as exc:
        return _unavailable(envelope, exc)
    answer.status_code = status
    return _count_after(answer, bpm, envelope["type"], result)


def _unavailable(envelope: dict[str, Any], exc: redis.RedisError) -> Response:
    """503 without touching Redis again: it just failed (or is frozen), and a write would wait as long."""
    log.error("event not accepted: Redis unavailable (%s)", type(exc).__name__, extra=_context(envelope))
    _pending_counts().add(envelope["type"], "unavailable")
    return problem(
        503,
        "unavailable",
        "Queue unavailable",
        "The sidecar cannot reach its queue (Redis); deliver the event again later.",
        headers={"Retry-After": RETRY_AFTER_UNAVAILABLE},
    )


class PendingCounts:
    """Event counts kept in this process while Redis is unavailable, written with the next good event."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, event_type: str, result: str) -> None:
        with self._lock:
            self._counts[(event_type, result)] += 1

    def flush(self, metrics: Metrics) -> None:
        with self._lock:
            if not self._counts:
                return
            counts, self._counts = self._counts, Counter()
        for (event_type, result), count in counts.items():
            metrics.event(event_type, result, count)


def _pending_counts() -> PendingCounts:
    # Per application (gunicorn loads one per worker process), not a module global.
    counts: PendingCounts = current_app.extensions.setdefault("bpm.pending_counts", PendingCounts())
    return counts


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _context(envelope: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": envelope["id"],
        "event_type": envelope["type"],
        "order_id": envelope["data"].get("order_id"),
    }


class RedisBudget:
    """The intake's time for Redis per event: no further command starts once it is spent.

    Each command is bounded by the client's socket timeout (0.5 s); without a budget a Redis answering
    every command just in time would still add up to seconds. With it, the answer (503 at worst) comes
    within REDIS_BUDGET plus one command.
    """

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise redis.exceptions.TimeoutError("Redis answered too slowly for the intake's budget")


Answer = tuple[Response, int, str]  # the receipt, its status and the metric's result label


def _accept(bpm: BpmState, envelope: dict[str, Any], budget: RedisBudget) -> Answer:
    """Claim the id and queue its actions in one MULTI/EXEC, or handle the duplicate.

    One transaction means a Redis failure at any point leaves nothing behind (no claimed id without
    jobs), so the error path needs no compensating write to a Redis that just failed.
    """
    conn, settings = bpm.redis, bpm.settings
    event_id, event_type = envelope["id"], envelope["type"]
    key = DEDUPE_KEY.format(event_id)
    actions = registry.actions_for(event_type, envelope["data"])
    if actions and event_type != "config.updated":
        actions = registry.without_switched_off(actions, runtime_config.cached(conn, settings))
        budget.check()
    if envelope.get("redelivery") is not None:
        return _retry(bpm, envelope, actions, budget)

    with conn.pipeline() as pipe:
        pipe.watch(key)
        budget.check()
        stored = pipe.get(key)
        budget.check()
        if stored is None:
            pipe.multi()
            pipe.set(key, json.dumps(actions), ex=settings.dedupe_ttl)
            if event_type == "config.updated":
                runtime_config.invalidate(pipe)
            queueing.enqueue_actions(conn, settings, envelope, actions, pipeline=pipe)
            try:
                pipe.execute()
            except redis.WatchError:
                stored = conn.get(key)  # a concurrent copy claimed it first: this one is its duplicate
            else:
                log.info("event accepted, queued %s", list(actions), extra=_context(envelope))
                return jsonify(id=event_id, duplicate=False, actions=actions), 202, "accepted"
    # The key may expire between the claim and the read; then today's table is the best answer.
    first = json.loads(stored) if stored is not None else list(actions)
    budget.check()
    requeued = queueing.requeue_missing(conn, settings, envelope, first)
    if requeued:
        log.warning(
            "duplicate event: re-queued actions whose jobs were gone: %s", requeued, extra=_context(envelope)
        )
    else:
        log.info("duplicate event: nothing queued", extra=_context(envelope))
    return jsonify(id=event_id, duplicate=True, actions=first), 200, "duplicate"


def _retry(bpm: BpmState, envelope: dict[str, Any], actions: tuple[str, ...], budget: RedisBudget) -> Answer:
    """A delivery carrying the Retry counter (docs/contract.md §2, sidecar/engine/redelivery.py).

    Not the blind enqueue of a new event even when the id is unknown here (its de-dup key lives a week,
    a dead letter a year): only what did not finish done/skipped runs again. Every step is idempotent
    for one counter, so a Redis failure half-way is finished by the plugin's next delivery.
    """
    conn, settings = bpm.redis, bpm.settings
    event_id, event_type, counter = envelope["id"], envelope["type"], int(envelope["redelivery"])
    key = DEDUPE_KEY.format(event_id)
    new = bool(conn.set(key, json.dumps(actions), nx=True, ex=settings.dedupe_ttl))
    budget.check()
    stored = None if new else conn.get(key)
    first = json.loads(stored) if stored is not None else list(actions)
    if new and event_type == "config.updated":
        runtime_config.invalidate(conn)
    budget.check()
    redelivered = redelivery.redeliver(conn, settings, envelope, first, counter)
    result = "accepted" if new else "duplicate"
    if redelivered is None:
        log.info("Retry %s seen before: nothing queued", counter, extra=_context(envelope))
        return jsonify(id=event_id, duplicate=True, actions=first), 200, result
    log.warning("Retry %s: re-queued %s", counter, redelivered, extra=_context(envelope))
    return jsonify(id=event_id, duplicate=not new, actions=first, redelivered=redelivered), 202, result


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
