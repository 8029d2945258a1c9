"""HubSpot's per-account request limits: a rolling 10-second window, a daily budget and the Search API's
own per-second limit, with the ``X-HubSpot-RateLimit-*`` headers and the counters a benchmark reads.

Refused requests (429) do not use up the window (UNCONFIRMED whether HubSpot counts them); they are
counted apart so a benchmark sees both what was served and what was attempted.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

WINDOW = 10.0
SEARCH_WINDOW = 1.0


class Limits:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.settings: dict[str, Any] = {"ten_second_max": 100, "daily_max": 250_000, "search_per_second": 5}
        self.served: deque[float] = deque()  # accepted requests in the rolling window
        self.attempts: deque[float] = deque()  # every authenticated request, refused ones included
        self.searches: deque[float] = deque()
        self.daily_used = 0
        self.stats: dict[str, Any] = {
            "requests": 0,
            "served": 0,
            "rejected_429": 0,
            "by_policy": {"TEN_SECONDLY_ROLLING": 0, "DAILY": 0, "SECONDLY": 0},
            "max_in_window": 0,
            "max_attempts_in_window": 0,
        }

    @staticmethod
    def _prune(window: deque[float], now: float, span: float) -> None:
        while window and window[0] <= now - span:
            window.popleft()

    def admit(self, search: bool = False) -> tuple[str | None, dict[str, str]]:
        """Count one request: (the policy that refuses it or None, the headers to answer with)."""
        with self.lock:
            now = self.clock()
            self._prune(self.served, now, WINDOW)
            self._prune(self.attempts, now, WINDOW)
            self._prune(self.searches, now, SEARCH_WINDOW)
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
            elif search and len(self.searches) >= int(self.settings["search_per_second"]):
                # UNCONFIRMED policy name for the Search API's per-second limit.
                policy = "SECONDLY"
            if policy is None:
                self.served.append(now)
                self.daily_used += 1
                if search:
                    self.searches.append(now)
                self.stats["served"] += 1
                self.stats["max_in_window"] = max(self.stats["max_in_window"], len(self.served))
            else:
                self.stats["rejected_429"] += 1
                self.stats["by_policy"][policy] += 1
            return policy, self._headers(burst, daily)

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
                "settings": dict(self.settings),
            }
