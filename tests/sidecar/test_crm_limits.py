"""HubSpot's request limit, shared: several workers stay under the account's limit together, and a 429
storm is ridden out (every 429 answered by a pause) without a lost or doubled deal.

The simulator's rolling window is shortened to 0.5 s here (its headers say so, and the limiter learns the
window from them), so a storm takes seconds, not minutes.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from crm_harness import CrmShop, crm_fixture, servers_fixture, unique_email

from sidecar.errors import TransientError
from sidecar.providers.crm.limits import RateLimiter
from sidecar.sandbox.hubspot import limits as hub_limits

FIXTURES = (crm_fixture, servers_fixture)  # imported for pytest
LIMIT = 20
WORKERS = 4


def test_two_limiters_on_one_account_share_its_budget(redis_conn: redis.Redis) -> None:
    first = RateLimiter(redis_conn, "hubspot:test", default_max=5, default_interval_ms=400)
    second = RateLimiter(redis_conn, "hubspot:test", default_max=5, default_interval_ms=400)
    started = time.monotonic()
    for n in range(12):  # 4 slots per window (one kept in reserve): 12 requests need three windows
        (first if n % 2 else second).acquire()
    assert time.monotonic() - started >= 0.8
    other = RateLimiter(redis_conn, "hubspot:another-account", default_max=5, default_interval_ms=400)
    started = time.monotonic()
    for _ in range(4):
        other.acquire()
    assert time.monotonic() - started < 0.2  # another account has its own budget


def test_the_limit_is_learnt_from_the_headers_and_a_pause_holds_everyone(redis_conn: redis.Redis) -> None:
    first = RateLimiter(redis_conn, "hubspot:learn", default_max=100, default_interval_ms=10_000)
    second = RateLimiter(
        redis_conn, "hubspot:learn", default_max=100, default_interval_ms=10_000, max_wait=0.1
    )
    first.observe({"X-HubSpot-RateLimit-Max": "3", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
    for _ in range(2):
        first.acquire()
    with pytest.raises(TransientError) as waiting:
        second.acquire()  # the learnt 3 (one in reserve) is used up for this window
    assert 9 <= (waiting.value.retry_after or 0) <= 11
    third = RateLimiter(redis_conn, "hubspot:pause", max_wait=0.1)
    third.pause(5)
    with pytest.raises(TransientError):
        RateLimiter(redis_conn, "hubspot:pause", max_wait=0.1).acquire()


def sync_like_the_framework(crm: CrmShop, order_id: int) -> str:
    """The job, retried on a TransientError after its delay as the runner would."""
    for _ in range(10):
        try:
            return crm.sync(order_id).status
        except TransientError as exc:
            time.sleep(min(float(exc.retry_after or 1), 2))
    raise AssertionError(f"order {order_id} never synced")


def test_a_429_storm_is_ridden_out_within_the_limit(crm: CrmShop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_limits, "WINDOW", 0.5)
    crm.hubspot.set_limits(ten_second_max=LIMIT)
    # The first syncs also create the account's properties, all four workers at once.
    orders = [crm.order(billing={"email": unique_email(f"storm{n}")})["id"] for n in range(8)]
    crm.hubspot.fault(mode="429", count=6, retry_after=1)  # HubSpot's own storm, on top of the limit
    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:  # four workers, each with its own limiter on one Redis
        statuses = list(pool.map(lambda oid: sync_like_the_framework(crm, oid), orders))
    took = time.monotonic() - started
    stats = crm.hubspot.limits()
    assert statuses == ["done"] * len(orders)
    assert [len(crm.hubspot.deals(oid)) for oid in orders] == [1] * len(orders)
    assert stats["max_in_window"] <= LIMIT
    assert stats["rejected_429"] == 0  # the limiter kept every request inside the window
    assert took >= 1.0  # the injected 429s' Retry-After was waited out
