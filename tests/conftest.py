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


@pytest.fixture(scope="session")
def redis_url() -> str:
    # Each developer/helper may point BPM_TEST_REDIS_URL at its own database; the suite owns it wholly.
    return os.environ.get("BPM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_conn(redis_url: str) -> redis.Redis:
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()
