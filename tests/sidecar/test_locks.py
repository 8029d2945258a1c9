"""The per-(order, group) lock: one winner, growing fencing tokens, expiry, owner-only release."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from sidecar.engine.locks import OrderLock, lock_key, order_scope
from sidecar.errors import LockLost
from sidecar.jobs.registry import lock_group


def test_two_contenders_one_wins_and_tokens_grow(redis_conn: redis.Redis) -> None:
    first = OrderLock(redis_conn, "order:1:invoice", ttl=5, wait=0)
    second = OrderLock(redis_conn, "order:1:invoice", ttl=5, wait=0)
    assert first.try_acquire() is True
    assert second.try_acquire() is False
    with pytest.raises(LockLost):
        second.acquire()  # wait=0: gives up at once
    first.ensure()
    assert first.release() is True
    token = second.acquire()
    assert first.token is None and token > 1  # every attempt drew a token, so they only grow
    second.release()


def test_racing_threads_never_share_the_lock(redis_conn: redis.Redis) -> None:
    inside, overlaps, tokens = [], [], []

    def contender() -> None:
        lock = OrderLock(
            redis.Redis(connection_pool=redis_conn.connection_pool), "order:2:invoice", ttl=5, wait=10
        )
        with lock:
            if inside:
                overlaps.append(lock.token)
            inside.append(lock.token)
            tokens.append(lock.token)
            time.sleep(0.05)
            lock.ensure()
            inside.remove(lock.token)

    threads = [threading.Thread(target=contender) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [] and len(tokens) == 6 and len(set(tokens)) == 6


def test_an_expired_lock_loses_ensure_and_cannot_delete_the_new_owner(redis_conn: redis.Redis) -> None:
    old = OrderLock(redis_conn, "order:3:invoice", ttl=1, wait=0)
    old.try_acquire()  # no heartbeat: simulates a frozen owner (GC pause, SIGSTOP)
    time.sleep(1.1)
    new = OrderLock(redis_conn, "order:3:invoice", ttl=5, wait=0)
    new.acquire()
    assert new.token > old.token
    with pytest.raises(LockLost):
        old.ensure()
    assert old.release() is False  # Lua compare: not the owner any more
    new.ensure()
    assert int(redis_conn.get(lock_key("order:3:invoice"))) == new.token
    new.release()


def test_the_heartbeat_keeps_a_long_run_alive(redis_conn: redis.Redis) -> None:
    with OrderLock(redis_conn, "order:4:invoice", ttl=1, wait=0) as lock:
        time.sleep(2.5)  # 2.5 times the TTL
        lock.ensure()
        assert 0 < redis_conn.pttl(lock_key("order:4:invoice")) <= 1000
    assert redis_conn.exists(lock_key("order:4:invoice")) == 0


def test_issue_and_correct_share_a_lock_group() -> None:
    assert lock_group("invoice.issue") == lock_group("invoice.correct") == "invoice"
    assert order_scope(5, "invoice", "x") == order_scope(5, lock_group("invoice.correct"), "y")
    assert order_scope(None, "privacy", "event:e1") == "event:e1:privacy"


def test_worker_warns_when_redis_may_evict_jobs(redis_conn) -> None:
    from sidecar.engine.worker import warn_if_redis_may_lose_jobs

    before = redis_conn.config_get("maxmemory-policy")["maxmemory-policy"]
    try:
        redis_conn.config_set("maxmemory-policy", "allkeys-lru")
        assert "allkeys-lru" in (warn_if_redis_may_lose_jobs(redis_conn) or "")
        redis_conn.config_set("maxmemory-policy", "noeviction")
        assert warn_if_redis_may_lose_jobs(redis_conn) is None
    finally:
        redis_conn.config_set("maxmemory-policy", before)


def test_worker_preloads_every_registered_action_before_forking() -> None:
    import subprocess
    import sys

    # A fresh interpreter: this test process has long since imported everything.
    code = (
        "import sys; from sidecar.engine.worker import preload_job_code; preload_job_code(); "
        "from sidecar.jobs import registry; "
        "print(all(t.partition(':')[0] in sys.modules for t in registry.all_actions().values()) "
        "and 'sidecar.engine.runner' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
