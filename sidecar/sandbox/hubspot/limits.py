"""HubSpot's per-account request limits: a rolling 10-second window, a daily budget and the Search API's
own per-token limit (4 a second, HubSpot changelog "CRM Search API Rate Limit Increase"), with the
``X-HubSpot-RateLimit-*`` headers and the counters a benchmark reads; and the transient 500s HubSpot
sometimes answers under load.

Refused requests (429) do not use up the window (UNCONFIRMED whether HubSpot counts them); they are
counted apart so a benchmark sees both what was served and what was attempted.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

WINDOW = 10.0
SEARCH_WINDOW = 1.0
TIMELINE = 2000


class Limits:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.settings: dict[str, Any] = {"ten_second_max": 100, "daily_max": 250_000, "search_per_second": 4}
        # Transient 500s when the window is at least ``above`` full: each request fails with ``rate``.
        self.load: dict[str, Any] = {"error_rate": 0.0, "above": 0.8, "seed": 0}
        self.random = random.Random(0)  # noqa: S311 - a simulator's dice, not a secret
        self.served: deque[float] = deque()  # accepted requests in the rolling window
        self.attempts: deque[float] = deque()  # every authenticated request, refused ones included
        self.searches: dict[str, deque[float]] = {}
        self.daily_used = 0
        self.started: float | None = None
        self.buckets: list[int] = []  # served requests per consecutive 10 s since the first request
        # (wall time, "METHOD /path", status) of every API answer, for tests that check the pacing.
        self.timeline: deque[tuple[float, str, int]] = deque(maxlen=TIMELINE)
        self.stats: dict[str, Any] = {
            "requests": 0,
            "served": 0,
            "rejected_429": 0,
            "by_policy": {"TEN_SECONDLY_ROLLING": 0, "DAILY": 0, "SECONDLY": 0},
            "max_in_window": 0,
            "max_attempts_in_window": 0,
            "load_errors": 0,
        }

    def reseed(self) -> None:
        self.random = random.Random(int(self.load.get("seed") or 0))  # noqa: S311

    @staticmethod
    def _prune(window: deque[float], now: float, span: float) -> None:
        while window and window[0] <= now - span:
            window.popleft()

    def admit(self, search: bool = False, token: str = "") -> tuple[str | None, dict[str, str]]:
        """Count one request: (the policy that refuses it or None, the headers to answer with)."""
        with self.lock:
            now = self.clock()
            searches = self.searches.setdefault(token, deque())
            self._prune(self.served, now, WINDOW)
            self._prune(self.attempts, now, WINDOW)
            self._prune(searches, now, SEARCH_WINDOW)
            self.attempts.append(now)
            self.stats["requests"] += 1
            self.stats["max_attempts_in_window"] = max(
                self.stats["max_attempts_in_window"], len(self.attempts)
            )
            burst, daily = int(self.settings["ten_second_max"]), int(self.settings["daily_max"])
            policy = None
            if self.daily_used >= daily:
                policy = "DAILY"
            elif len(self.served) >= burst:
                policy = "TEN_SECONDLY_ROLLING"
            elif search and len(searches) >= int(self.settings["search_per_second"]):
                # UNCONFIRMED policy name for the Search API's per-second limit.
                policy = "SECONDLY"
            if policy is None:
                self._count(now, search, searches)
            else:
                self.stats["rejected_429"] += 1
                self.stats["by_policy"][policy] += 1
            return policy, self._headers(burst, daily)

    def _count(self, now: float, search: bool, searches: deque[float]) -> None:
        self.served.append(now)
        self.daily_used += 1
        if search:
            searches.append(now)
        self.stats["served"] += 1
        self.stats["max_in_window"] = max(self.stats["max_in_window"], len(self.served))
        if self.started is None:
            self.started = now
        index = int((now - self.started) // WINDOW)
        self.buckets.extend([0] * (index + 1 - len(self.buckets)))
        self.buckets[index] += 1

    def record(self, what: str, status: int) -> None:
        with self.lock:
            self.timeline.append((time.time(), what, status))

    def overloaded(self) -> bool:
        """A transient 500 for this (already admitted) request, when the load setting says so."""
        with self.lock:
            rate = float(self.load.get("error_rate") or 0)
            full = len(self.served) / max(1, int(self.settings["ten_second_max"]))
            if rate <= 0 or full < float(self.load.get("above") or 0) or self.random.random() >= rate:
                return False
            self.stats["load_errors"] += 1
            return True

    def _headers(self, burst: int, daily: int) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Max": str(burst),
            "X-HubSpot-RateLimit-Remaining": str(max(0, burst - len(self.served))),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(WINDOW * 1000)),
            "X-HubSpot-RateLimit-Daily": str(daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, daily - self.daily_used)),
        }

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            now = self.clock()
            self._prune(self.served, now, WINDOW)
            return {
                **{k: (dict(v) if isinstance(v, dict) else v) for k, v in self.stats.items()},
                "in_window": len(self.served),
                "daily_used": self.daily_used,
                "buckets": list(self.buckets),
                "settings": dict(self.settings),
                "load": dict(self.load),
                "timeline": [list(entry) for entry in self.timeline],
            }
