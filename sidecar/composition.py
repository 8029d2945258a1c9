"""The composition root: every long-lived client the processes use is built here, once per process.

The intake (gunicorn, :func:`sidecar.app.create_app`), the worker and its jobs
(:mod:`sidecar.engine.worker`, :mod:`sidecar.engine.runner`, :mod:`sidecar.engine.reconcile`) and the
CLI get their Redis connection, audit log, metrics and store client from these functions, so there is
one set of timeouts and no module builds a client of its own. Invoicing providers are built per job by
:func:`sidecar.providers.invoicing.build_provider` from the shop's configuration, with the audit log and
the metrics hook handed to the job from here.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from sidecar.audit import AuditLog
from sidecar.config import Settings
from sidecar.metrics import Metrics

if TYPE_CHECKING:
    from sidecar.store import StoreClient

# The intake answers the plugin within its own short timeout: a frozen Redis must turn into a quick
# 503 (the plugin retries), never a held gunicorn worker. Hence no automatic retries either.
INTAKE_CONNECT_TIMEOUT = 0.25
INTAKE_SOCKET_TIMEOUT = 0.5
# Workers block in RQ's dequeue for up to its timeout, so their reads carry no socket timeout; a
# connection that cannot be made still fails within seconds.
WORKER_CONNECT_TIMEOUT = 5.0
HEALTH_CHECK_INTERVAL = 30
# The store's REST root (pretty or plain permalinks); a wrong one is forgotten at the first non-REST answer.
REST_ROOT_TTL = 3600


def rest_root_key(store_url: str) -> str:
    """Per store: a Redis shared by two sidecars (or a demo after a test run) must not lend one shop's root
    to another — a root on another host or port is a connection error, not a non-REST answer, so it would
    never be forgotten."""
    digest = hashlib.sha256(store_url.rstrip("/").lower().encode()).hexdigest()[:16]
    return f"bpm:store:rest_root:{digest}"


def intake_redis(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=INTAKE_CONNECT_TIMEOUT,
        socket_timeout=INTAKE_SOCKET_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=HEALTH_CHECK_INTERVAL,
    )


def worker_redis(settings: Settings) -> redis.Redis:
    """Workers, their jobs and the CLI."""
    return redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=WORKER_CONNECT_TIMEOUT,
        health_check_interval=HEALTH_CHECK_INTERVAL,
    )


class RedisValue:
    """One string in Redis with a lifetime: the store's REST root, shared by every work horse."""

    def __init__(self, conn: redis.Redis, key: str, ttl: int) -> None:
        self.conn, self.key, self.ttl = conn, key, ttl

    def get(self) -> bytes | str | None:
        try:
            return self.conn.get(self.key)
        except redis.RedisError:
            return None  # discovering again costs one request; failing the job for it would cost more

    def set(self, value: str) -> None:
        with contextlib.suppress(redis.RedisError):
            self.conn.set(self.key, value, ex=self.ttl)

    def delete(self) -> None:
        with contextlib.suppress(redis.RedisError):
            self.conn.delete(self.key)


def store_client(
    settings: Settings,
    metrics: Metrics | None,
    audit: AuditLog | None = None,
    conn: redis.Redis | None = None,
) -> StoreClient:
    """The store client; ``audit`` defaults to the configured trail (probes pass ``AuditLog(None)``).

    With ``conn`` the discovered REST root is kept in Redis: RQ forks a work horse per job, and
    discovering it per job would add a request to every order.
    """
    from sidecar.store import StoreClient  # pulls in requests: the intake only needs it for /readyz

    return StoreClient(
        settings,
        audit if audit is not None else AuditLog(settings.audit_dir),
        observe=metrics.provider_call if metrics is not None else None,
        root_cache=(
            RedisValue(conn, rest_root_key(settings.store_url), REST_ROOT_TTL) if conn is not None else None
        ),
    )


@dataclass(frozen=True)
class Services:
    """What a job (or a CLI command working like one) needs: built together, sharing one connection."""

    settings: Settings
    redis: redis.Redis
    metrics: Metrics
    audit: AuditLog
    store: StoreClient


def services(settings: Settings, conn: redis.Redis | None = None) -> Services:
    """Services on ``conn`` (a running job passes its worker's connection) or a new worker connection."""
    conn = conn if conn is not None else worker_redis(settings)
    metrics = Metrics(conn)
    audit = AuditLog(settings.audit_dir)
    return Services(settings, conn, metrics, audit, store_client(settings, metrics, audit, conn))
