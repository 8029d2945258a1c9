"""The record every Pipedrive worker shares about a create (see sidecar/providers/crm/pipedrive.py):
``pending:<time>`` while a create is on the wire, ``lost:<time>`` once its answer was lost, then the new
record's id. Times are the shared Redis's clock (``TIME``), so workers on machines whose clocks differ
measure a claim's age alike."""

from __future__ import annotations

import hashlib
import time
from typing import Any, Protocol

PENDING, LOST = "pending", "lost"


class Memory(Protocol):
    def get(self, key: str) -> str | None: ...
    def claim(self, key: str, value: str, ttl: int) -> bool: ...
    def put(self, key: str, value: str, ttl: int) -> None: ...
    def forget(self, key: str) -> None: ...
    def now(self) -> float: ...


class RedisMemory:
    """The record every worker shares (the job's Redis)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def get(self, key: str) -> str | None:
        value = self.conn.get(key)
        return value.decode() if isinstance(value, bytes) else value

    def claim(self, key: str, value: str, ttl: int) -> bool:
        return bool(self.conn.set(key, value, nx=True, ex=ttl))

    def put(self, key: str, value: str, ttl: int) -> None:
        self.conn.set(key, value, ex=ttl)

    def forget(self, key: str) -> None:
        self.conn.delete(key)

    def now(self) -> float:
        seconds, micros = self.conn.time()
        return float(seconds) + float(micros) / 1_000_000


class LocalMemory:
    """The same within one provider object (a direct call outside a worker)."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        value, until = self.values.get(key, ("", 0.0))
        return value if until > time.time() else None

    def claim(self, key: str, value: str, ttl: int) -> bool:
        if self.get(key) is not None:
            return False
        self.put(key, value, ttl)
        return True

    def put(self, key: str, value: str, ttl: int) -> None:
        self.values[key] = (value, time.time() + ttl)

    def forget(self, key: str) -> None:
        self.values.pop(key, None)

    def now(self) -> float:
        return time.time()


def stamp(state: str, at: float) -> str:
    return f"{state}:{at:.3f}"


def parse(held: str) -> tuple[str, float]:
    """``(state, time)`` of a claim ("", 0.0 for anything else)."""
    state, _, at = held.partition(":")
    try:
        return state, float(at)
    except ValueError:
        return "", 0.0


def digest(text: str) -> str:
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()[:32]
