"""HubSpot's request limit, shared: several workers stay under the account's limit together, and a 429
storm is ridden out (every 429 answered by a pause) without a lost or doubled deal.

The simulator's rolling window is shortened to 0.5 s here (its headers say so, and the limiter learns the
window from them), so a storm takes seconds, not minutes.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
from crm_harness import CrmShop, crm_fixture, servers_fixture, unique_email

from sidecar.errors import TransientError
from sidecar.providers.crm import pipedrive_http
from sidecar.providers.crm.hubspot import HubSpotProvider
from sidecar.providers.crm.limits import LocalLimiter, RateLimiter, bounded_delay
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
    # Zero 429s left unanswered: each refused request was sent again and got a real answer (for a property
    # read, a 404 is the answer that makes the worker create it).
    timeline = stats["timeline"]
    refused = [what for _, what, status in timeline if status == 429]
    assert len(refused) == 6
    for what in refused:
        assert any(w == what and status != 429 for _, w, status in timeline), what


def test_after_a_429_nothing_is_sent_before_its_retry_after(crm: CrmShop) -> None:
    """Timestamps from the simulator: the next request after an injected 429 comes Retry-After later."""
    order = crm.order(billing={"email": unique_email("gap")})
    crm.sync(order["id"])  # the account's properties exist: the next sync is a few upserts
    seen = len(crm.hubspot.limits()["timeline"])
    crm.shop.set_status(order["id"], "completed")
    crm.hubspot.fault(mode="429", count=1, retry_after=2, match="POST /crm/v3/objects/deals/batch/upsert")
    assert crm.sync(order["id"]).status == "done"
    timeline = crm.hubspot.limits()["timeline"][seen:]
    [n] = [n for n, (_, _, status) in enumerate(timeline) if status == 429]
    gap = timeline[n + 1][0] - timeline[n][0]
    assert gap >= 2.0, timeline
    assert timeline[n + 1][1:] == [timeline[n][1], 200]  # the same request, sent again and taken


def answer(status: int, headers: dict[str, str], body: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    response._content = json.dumps(body or {}).encode()
    return response


class Recording(LocalLimiter):
    def __init__(self) -> None:
        super().__init__()
        self.paused: list[float] = []

    def pause(self, seconds: float) -> None:
        self.paused.append(seconds)


def test_a_retry_after_is_kept_within_one_window_or_an_hour() -> None:
    """A Retry-After of a day (or zero) must neither stall the account nor hammer it: a burst policy
    waits 1 s .. one window, any other at most an hour."""
    assert (bounded_delay(86400, window=10), bounded_delay(0, window=10)) == (10, 1)
    assert (bounded_delay(None, window=10), bounded_delay(86400, window=None)) == (10, 3600)
    limiter = Recording()
    hub = HubSpotProvider({"hubspot": {"access_token": "pat-x"}}, None, limiter=limiter)  # type: ignore[arg-type]
    rolling = {"Retry-After": "86400", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    for policy, window in (("TEN_SECONDLY_ROLLING", 10.0), ("SECONDLY", 1.0)):
        with pytest.raises(TransientError) as waiting:
            hub._rate_limited(answer(429, rolling, {"policyName": policy}), last=True)
        assert limiter.paused[-1] == waiting.value.retry_after == window
    assert pipedrive_http._limit_delay(answer(429, {"Retry-After": "86400", "x-ratelimit-reset": "2"})) == 2.0
    spent = {"Retry-After": "86400", "x-daily-requests-left": "0"}
    assert pipedrive_http._limit_delay(answer(429, spent)) == 3600.0
