"""Shared fixtures. Every test talks to a real Redis: scripts/test.sh starts one when none answers."""

from __future__ import annotations

import os
import socket

import pytest
import redis

# Fixtures shared across folders: woo (WooCommerce simulator), sidecar_env (tests/support/__init__.py).
pytest_plugins = ["support"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_redis_url(base: str, worker: str) -> str:
    """The Redis database of one pytest-xdist worker: gw0 gets ``base``'s, gwN the N-th one below it.

    Parallel workers must not share a database: each flushes it, and two sidecars on one database would
    take each other's jobs. BPM_TEST_REDIS_WORKER_DBS ("15,14") names them explicitly instead.
    """
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    root, _, db = base.rpartition("/")
    explicit = [d.strip() for d in os.environ.get("BPM_TEST_REDIS_WORKER_DBS", "").split(",") if d.strip()]
    if index < len(explicit):
        return f"{root}/{explicit[index]}"
    if index == 0:
        return base
    return f"{root}/{(int(db or 0) - index) % 16}"


@pytest.fixture(scope="session")
def redis_url() -> str:
    # Each developer/helper may point BPM_TEST_REDIS_URL at its own database; the suite owns it wholly.
    base = os.environ.get("BPM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    return worker_redis_url(base, os.environ.get("PYTEST_XDIST_WORKER", ""))


@pytest.fixture
def redis_conn(redis_url: str) -> redis.Redis:
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()
