"""Per-(order, lock group) Redis lock with a fencing token.

RQ may run one job twice at once (an orphaned work horse next to the re-run of its "abandoned" job,
reliability.md §1.4), so every action runs under this lock. The token comes from INCR on a counter
that never goes back, so a later owner always holds a larger token than an earlier one; ``ensure()``
lets an action check, right before an irreversible step, that its token is still the current one.
The lock expires on its own (``ttl``) if its owner dies; a heartbeat thread renews it meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from sidecar.errors import LockLost

log = logging.getLogger(__name__)

# Extend / release only while the value is still ours: a lock that expired and was taken by another
# run must not be renewed or deleted by the old owner.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def lock_key(scope: str) -> str:
    return f"bpm:lock:{scope}"


def fence_key(scope: str) -> str:
    return f"bpm:fence:{scope}"


class OrderLock:
    """``with OrderLock(conn, "order:123:invoice", ttl=60) as lock: ...; lock.ensure()``.

    ``acquire`` waits up to ``wait`` seconds; on timeout it raises :class:`LockLost` (a transient
    error: another run owns the work now, so this one is retried later and then finds the state done).
    """

    def __init__(self, conn: redis.Redis, scope: str, ttl: float = 60.0, wait: float = 10.0) -> None:
        self.conn = conn
        self.scope = scope
        self.key = lock_key(scope)
        self.ttl_ms = max(1000, int(ttl * 1000))
        self.wait = wait
        self.token: int | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._renew = conn.register_script(_RENEW)
        self._release = conn.register_script(_RELEASE)

    # -- acquisition ------------------------------------------------------------------------------
    def try_acquire(self) -> bool:
        """One attempt. The token is drawn first so two contenders never share one."""
        token = int(self.conn.incr(fence_key(self.scope)))
        if self.conn.set(self.key, str(token), nx=True, px=self.ttl_ms):
            self.token = token
            return True
        return False

    def acquire(self) -> int:
        deadline = time.monotonic() + self.wait
        delay = 0.05
        while True:
            if self.try_acquire():
                self._start_heartbeat()
                assert self.token is not None
                return self.token
            if time.monotonic() >= deadline:
                raise LockLost(f"another run is working on {self.scope}; will retry")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self._heartbeat = threading.Thread(target=self._beat, name=f"lock:{self.scope}", daemon=True)
        self._heartbeat.start()

    def _beat(self) -> None:
        interval = self.ttl_ms / 3000.0
        while not self._stop.wait(interval):
            try:
                if not self._renew(keys=[self.key], args=[str(self.token), self.ttl_ms]):
                    log.warning("lock %s lost before its owner finished", self.scope)
                    return
            except redis.RedisError:
                # Keep trying: the lock simply expires if Redis stays away, and ensure() reports it.
                log.warning("lock %s heartbeat failed", self.scope, exc_info=True)

    # -- checks and release -----------------------------------------------------------------------
    def is_current(self) -> bool:
        if self.token is None:
            return False
        value = self.conn.get(self.key)
        return value is not None and int(value) == self.token

    def ensure(self) -> None:
        """Raise :class:`LockLost` unless this run still holds the lock with its own token."""
        if not self.is_current():
            raise LockLost(f"lost the lock on {self.scope}; another run took over")

    def release(self) -> bool:
        self._stop.set()
        if self._heartbeat is not None and self._heartbeat is not threading.current_thread():
            self._heartbeat.join(timeout=2)
        self._heartbeat = None
        if self.token is None:
            return False
        released = bool(self._release(keys=[self.key], args=[str(self.token)]))
        self.token = None
        return released

    def release_quietly(self) -> None:
        """Release, logging instead of raising when Redis is away: the lock then expires by itself."""
        try:
            self.release()
        except redis.RedisError:
            log.warning("could not release lock %s; it expires by itself", self.scope, exc_info=True)

    def __enter__(self) -> OrderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_quietly()


def order_scope(order_id: int | None, group: str, fallback: str) -> str:
    """Lock scope: per order and group; events without an order lock on ``fallback`` (e.g. the rma id)."""
    return f"order:{order_id}:{group}" if order_id is not None else f"{fallback}:{group}"
