"""Probes and metrics: ``/healthz`` (alive), ``/readyz`` (can do work), ``/metrics`` (Prometheus)."""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST

from sidecar import composition
from sidecar.api import BpmState, state
from sidecar.api.problems import problem
from sidecar.audit import AuditLog
from sidecar.engine import dead_letters
from sidecar.errors import BridgeError
from sidecar.metrics import render

STORE_CHECK_KEY = "bpm:readyz:store"
STORE_CHECK_TTL = 10  # probes every few seconds from several replicas must not turn into store traffic

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    # Liveness only: no I/O, so a Redis or store outage never gets a healthy process restarted.
    return jsonify(status="ok")


def _store_status(bpm: BpmState) -> str:
    """Return ``ok`` or ``down: <reason>``, cached in Redis for STORE_CHECK_TTL seconds."""
    cached = bpm.redis.get(STORE_CHECK_KEY)
    if cached is not None:
        return cached.decode() if isinstance(cached, bytes) else str(cached)
    try:
        # Probe pings are not business traffic: they stay out of the audit trail.
        client = composition.store_client(bpm.settings, bpm.metrics, AuditLog(None), bpm.redis)
        status = "ok" if client.ping() else f"down: {client.last_error}"
    except BridgeError as exc:
        status = f"down: {exc.reason}"
    bpm.redis.set(STORE_CHECK_KEY, status, ex=STORE_CHECK_TTL)
    return status


@bp.get("/readyz")
def readyz() -> Response:
    bpm = state()
    checks: dict[str, str] = {}
    try:
        bpm.redis.ping()
        checks["redis"] = "ok"
        checks["store"] = _store_status(bpm)
    except redis.RedisError as exc:
        checks["redis"] = f"down: {type(exc).__name__}"
        checks.setdefault("store", "not checked (Redis is down)")
    down = {name: value for name, value in checks.items() if value != "ok"}
    if down:
        detail = "Not ready: " + "; ".join(f"{name} {value}" for name, value in down.items())
        return problem(503, "not-ready", "Not ready", detail, checks=checks)
    return jsonify(status="ready", checks=checks)


@bp.get("/metrics")
def metrics() -> Response:
    bpm = state()
    try:
        text = render(bpm.redis, lambda: dead_letters.queue_stats(bpm.redis, bpm.settings))
    except redis.RedisError as exc:
        log.warning("metrics unavailable: Redis error %s", type(exc).__name__)
        return problem(503, "unavailable", "Metrics unavailable", "The sidecar cannot reach Redis.")
    return Response(text, mimetype=CONTENT_TYPE_LATEST.split(";")[0], content_type=CONTENT_TYPE_LATEST)
