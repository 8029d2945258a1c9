"""Fault injection shared by the simulators: outages, rate limits, latency and responses lost after commit.

A rule is ``{"mode", "match", "count", "retry_after", "seconds"}``: ``mode`` is ``503`` | ``500`` | ``429`` |
``latency`` | ``drop_after_commit``; ``match`` is a prefix of ``"METHOD /path"`` (empty = every request);
``count`` how many requests it hits (default 1). The sandbox's own ``/_sandbox/`` routes are never hit.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, request

MODES = ("503", "500", "429", "latency", "drop_after_commit")

# How a simulator words a refused request: (message, status) → the provider's error body.
ErrorResponse = Callable[[str, int], Response]


class Faults:
    def __init__(self, error: ErrorResponse) -> None:
        self.rules: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.error = error

    def add(self, rule: Mapping[str, Any]) -> None:
        mode = str(rule.get("mode") or "")
        if mode not in MODES:
            raise ValueError(f"unknown fault mode {mode!r}")
        with self.lock:
            self.rules.append({"count": 1, "match": "", **rule, "mode": mode})

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def listed(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(rule) for rule in self.rules]

    def take(self, modes: tuple[str, ...]) -> dict[str, Any] | None:
        here = f"{request.method} {request.path}"
        with self.lock:
            for rule in self.rules:
                if rule["mode"] in modes and here.startswith(rule["match"]) and rule["count"] > 0:
                    rule["count"] -= 1
                    return dict(rule)
        return None

    def before(self) -> Response | None:
        """Faults that strike before the request is handled."""
        if request.path.startswith("/_sandbox/"):
            return None
        rule = self.take(("latency",))
        if rule:
            time.sleep(float(rule.get("seconds") or 1))
        rule = self.take(("503", "500", "429"))
        if rule is None:
            return None
        status = int(rule["mode"])
        response = self.error("simulated fault", status)
        if status == 429:
            response.headers["Retry-After"] = str(int(rule.get("retry_after") or 1))
        return response

    def drop_after_commit(self) -> bool:
        """Call after committing: True when the response must be lost (the connection is cut)."""
        if self.take(("drop_after_commit",)) is None:
            return False
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return True


def lost_response() -> Response:
    # Where the server cannot cut the connection (not the werkzeug server), a gateway error stands in.
    response = Response("response lost (simulated)", status=502)
    response.headers["Connection"] = "close"
    return response
