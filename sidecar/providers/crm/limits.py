"""A CRM account's request budget, shared by every worker and the backfill through Redis.

HubSpot's burst limit (e.g. 100 requests per rolling 10 s) belongs to the *account*, not to a process:
N workers each counting their own calls would exceed it together. So every request first takes a slot
in one Redis sorted set per account (a sliding log of send times, on Redis' clock so that hosts with
skewed clocks agree); when the log is full the caller waits for the oldest entry to age out. The limit
itself is learnt from the ``X-HubSpot-RateLimit-Max`` / ``-Interval-Milliseconds`` headers of every
answer (the defaults only cover the first request), a few slots are kept in reserve for latency, and a
429 or an exhausted ``-Remaining`` / ``-Daily-Remaining`` pauses the whole account, not one process.

A slot is stamped with the time the request was sent and stamped again when its answer arrives: the CRM
counted it somewhere in between, so a slot is never freed before the CRM's own window frees it, however
slow the network.

A caller waits in-process up to ``max_wait`` seconds (one window); a longer wait (a 429's Retry-After, a
daily limit) becomes a :class:`TransientError` with that delay, so the job framework retries later
instead of holding a worker.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import redis

from sidecar.errors import TransientError

PREFIX = "bpm:crm:limit:"
# Slots kept free for requests that are on the wire and for clocks that disagree by a few ms.
RESERVE_SHARE = 0.05
LATENCY_MARGIN_MS = 50
# ``-Remaining: 0`` without a 429: somebody else (another app on the account) uses the budget too.
EXHAUSTED_PAUSE_SHARE = 0.1

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local conf = redis.call('HMGET', KEYS[2], 'max', 'interval', 'paused_until')
local max = tonumber(conf[1]) or tonumber(ARGV[1])
local interval = tonumber(conf[2]) or tonumber(ARGV[2])
local paused = tonumber(conf[3]) or 0
if paused > now then return paused - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - interval - tonumber(ARGV[4]))
local budget = math.max(1, max - math.max(1, math.ceil(max * tonumber(ARGV[3]))))
if redis.call('ZCARD', KEYS[1]) < budget then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], interval * 2 + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + interval + tonumber(ARGV[4]) - now)
"""

_RESTAMP = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
return now
"""

_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'paused_until')) or 0
if until_ms > current then redis.call('HSET', KEYS[1], 'paused_until', until_ms) end
redis.call('EXPIRE', KEYS[1], 2 * 86400)
return until_ms
"""


class Budget(Protocol):
    """What a provider needs from a limiter: :class:`RateLimiter`, or :class:`LocalLimiter` in one process."""

    def acquire(self) -> str: ...
    def observe(self, headers: Mapping[str, str], token: str = "") -> None: ...
    def learn(self, most: int, interval_ms: int) -> None: ...
    def pause(self, seconds: float) -> None: ...
    def remembered(self, name: str) -> bool: ...
    def remember(self, name: str, ttl: int) -> None: ...


def account_key(provider: str, credential: str, portal_id: str = "") -> str:
    """One budget per account: the portal id when known, else a digest of the token (never the token)."""
    ident = portal_id or hashlib.sha256(credential.encode()).hexdigest()[:16]
    return f"{provider}:{ident}"


def _int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


class RateLimiter:
    """The sliding-log budget of one account in Redis (see the module docstring)."""

    def __init__(
        self,
        conn: redis.Redis,
        account: str,
        *,
        default_max: int = 100,
        default_interval_ms: int = 10_000,
        max_wait: float = 12.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.conn = conn
        self.log_key = f"{PREFIX}{account}:log"
        self.conf_key = f"{PREFIX}{account}:conf"
        self.flag_prefix = f"{PREFIX}{account}:flag:"
        self.default_max = default_max
        self.default_interval_ms = default_interval_ms
        self.max_wait = max_wait
        self.sleep = sleep
        self._acquire = conn.register_script(_ACQUIRE)
        self._pause = conn.register_script(_PAUSE)
        self._restamp = conn.register_script(_RESTAMP)
        self._ids = itertools.count()
        self._me = f"{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.waited = 0.0  # seconds this limiter made its caller wait (the benchmark reads it)

    def acquire(self) -> str:
        """Take one slot, waiting while the account's window is full (TransientError past ``max_wait``);
        returns the slot's token for :meth:`observe`."""
        waited = 0.0
        while True:
            member = f"{self._me}:{next(self._ids)}"
            wait_ms = int(
                self._acquire(
                    keys=[self.log_key, self.conf_key],
                    args=[
                        self.default_max,
                        self.default_interval_ms,
                        RESERVE_SHARE,
                        LATENCY_MARGIN_MS,
                        member,
                    ],
                )
            )
            if wait_ms <= 0:
                return member
            wait = wait_ms / 1000
            if waited + wait > self.max_wait:
                raise TransientError(
                    f"the CRM's request limit for this account is used up for the next {math.ceil(wait)} s; "
                    "the sync waits for it",
                    math.ceil(wait),
                )
            self.sleep(wait)
            waited += wait
            self.waited += wait

    def observe(self, headers: Mapping[str, str], token: str = "") -> None:
        """Learn the limit from an answer's headers; pause the account when they say it is exhausted.
        With the slot's ``token``, the slot counts from now (the answer's arrival) on."""
        if token:
            self._restamp(keys=[self.log_key], args=[token])
        most = _int(headers, "X-HubSpot-RateLimit-Max")
        interval = _int(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        if most and interval:
            self.learn(most, interval)
        remaining = _int(headers, "X-HubSpot-RateLimit-Remaining")
        if remaining == 0:
            span = (interval or self.default_interval_ms) / 1000
            self.pause(span * EXHAUSTED_PAUSE_SHARE)
        if _int(headers, "X-HubSpot-RateLimit-Daily-Remaining") == 0:
            self.pause(seconds_to_next_hour())

    def learn(self, most: int, interval_ms: int) -> None:
        """The account's limit as the CRM's answers state it: ``most`` requests per ``interval_ms``."""
        known = self.conn.hmget(self.conf_key, "max", "interval")
        if known != [str(most).encode(), str(interval_ms).encode()]:
            self.conn.hset(self.conf_key, mapping={"max": most, "interval": interval_ms})
            self.conn.expire(self.conf_key, 2 * 86400)

    def pause(self, seconds: float) -> None:
        """Nobody on this account sends anything for ``seconds`` (a 429's Retry-After)."""
        self._pause(keys=[self.conf_key], args=[max(1, int(seconds * 1000))])

    def remembered(self, name: str) -> bool:
        return bool(self.conn.exists(self.flag_prefix + name))

    def remember(self, name: str, ttl: int) -> None:
        """A fact about the account every worker may rely on for ``ttl`` s (e.g. "the property exists")."""
        self.conn.set(self.flag_prefix + name, "1", ex=ttl)


class LocalLimiter:
    """The same budget within one process (a direct call of the job outside a worker, unit tests)."""

    def __init__(
        self,
        *,
        default_max: int = 100,
        default_interval_ms: int = 10_000,
        max_wait: float = 12.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.most = default_max
        self.interval = default_interval_ms / 1000
        self.max_wait = max_wait
        self.sleep = sleep
        self.sent: dict[str, float] = {}
        self._ids = itertools.count()
        self.paused_until = 0.0
        self.flags: dict[str, float] = {}
        self.lock = threading.Lock()
        self.waited = 0.0

    def _wait(self, now: float, token: str) -> float:
        if self.paused_until > now:
            return self.paused_until - now
        margin = LATENCY_MARGIN_MS / 1000
        self.sent = {k: t for k, t in self.sent.items() if t > now - self.interval - margin}
        budget = max(1, self.most - max(1, math.ceil(self.most * RESERVE_SHARE)))
        if len(self.sent) < budget:
            self.sent[token] = now
            return 0.0
        return max(0.001, min(self.sent.values()) + self.interval + margin - now)

    def acquire(self) -> str:
        waited = 0.0
        token = str(next(self._ids))
        while True:
            with self.lock:
                wait = self._wait(time.monotonic(), token)
            if wait <= 0:
                return token
            if waited + wait > self.max_wait:
                raise TransientError(
                    f"the CRM's request limit for this account is used up for the next {math.ceil(wait)} s; "
                    "the sync waits for it",
                    math.ceil(wait),
                )
            self.sleep(wait)
            waited += wait
            self.waited += wait

    def observe(self, headers: Mapping[str, str], token: str = "") -> None:
        if token:
            with self.lock:
                if token in self.sent:
                    self.sent[token] = time.monotonic()
        most = _int(headers, "X-HubSpot-RateLimit-Max")
        interval = _int(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        if most and interval:
            self.learn(most, interval)
        if _int(headers, "X-HubSpot-RateLimit-Remaining") == 0:
            self.pause(self.interval * EXHAUSTED_PAUSE_SHARE)
        if _int(headers, "X-HubSpot-RateLimit-Daily-Remaining") == 0:
            self.pause(seconds_to_next_hour())

    def learn(self, most: int, interval_ms: int) -> None:
        self.most, self.interval = most, interval_ms / 1000

    def pause(self, seconds: float) -> None:
        with self.lock:
            self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    def remembered(self, name: str) -> bool:
        return self.flags.get(name, 0) > time.monotonic()

    def remember(self, name: str, ttl: int) -> None:
        self.flags[name] = time.monotonic() + ttl


MAX_PAUSE = 3600.0  # the longest a 429 holds an account: a daily limit is looked at again every hour


def bounded_delay(told: float | None, *, window: float | None) -> float:
    """How long a 429 pauses the account: ``told`` (its Retry-After; the window when it has none) kept
    within [1 s, one window] for a burst limit of ``window`` seconds and within [1 s, an hour] for any
    other, so an odd Retry-After (a day, zero, a date in the past) neither stalls nor hammers the account."""
    value = told if told is not None and math.isfinite(told) else (window or 1.0)
    ceiling = max(1.0, window) if window else MAX_PAUSE
    return min(max(1.0, value), ceiling)


def seconds_to_next_hour(now: float | None = None) -> float:
    """A daily limit resets at the account's midnight, whose time zone we do not know: look every hour."""
    now = time.time() if now is None else now
    return 3600 - (now % 3600) + 60


def limiter_for(
    name: str, settings: Mapping[str, Any], conn: redis.Redis | None = None, max_wait: float = 12.0
) -> Budget:
    """The account's shared budget: in the running job's Redis (every worker sees it), else in the Redis
    of ``BPM_REDIS_URL`` (a job run in-process, e.g. by ``Runner`` in a test), else one for this process."""
    if conn is None:
        from rq import get_current_job

        job = get_current_job()
        conn = job.connection if job is not None else None
    if conn is None and os.environ.get("BPM_REDIS_URL"):
        conn = redis.Redis.from_url(os.environ["BPM_REDIS_URL"])
    raw = settings.get(name)
    block: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    credential = json.dumps(block, sort_keys=True, default=str)
    if conn is None:
        return LocalLimiter(max_wait=max_wait)
    return RateLimiter(
        conn, account_key(name, credential, str(block.get("portal_id") or "")), max_wait=max_wait
    )
