"""The composition root: one place builds the clients, with the intake's fast-fail Redis."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import redis

from sidecar import composition
from sidecar.config import Settings


def settings_for(redis_url: str) -> Settings:
    return Settings(("s" * 32,), "https://shop.example", "bpm-api", "pw", redis_url=redis_url)


def test_intake_redis_fails_fast_when_redis_freezes() -> None:
    """A Redis that accepts connections but never answers costs the intake half a second, not more."""
    frozen = socket.socket()
    frozen.bind(("127.0.0.1", 0))
    frozen.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        frozen.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(frozen.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        port = frozen.getsockname()[1]
        conn = composition.intake_redis(settings_for(f"redis://127.0.0.1:{port}/0"))
        started = time.monotonic()
        with pytest.raises(redis.RedisError):
            conn.ping()
        assert time.monotonic() - started < 1.5  # one 0.5 s socket timeout, no automatic retries
    finally:
        stop.set()
        thread.join(2)
        for s in accepted:
            s.close()
        frozen.close()


def test_worker_and_intake_clients_differ_only_where_meant() -> None:
    settings = settings_for("redis://127.0.0.1:6379/3")
    intake = composition.intake_redis(settings).connection_pool.connection_kwargs
    worker = composition.worker_redis(settings).connection_pool.connection_kwargs
    assert intake["socket_connect_timeout"] == 0.25 and intake["socket_timeout"] == 0.5
    assert worker.get("socket_timeout") is None  # RQ's blocking dequeue must not time out
    assert intake["db"] == worker["db"] == 3
