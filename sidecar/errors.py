"""The error vocabulary every job and provider speaks.

A job's framework only has to know three things about a failure: may it be retried, when, and what
does a shop admin need to read about it. Providers translate their HTTP answers into these classes so
that the framework never looks at a status code.
"""

from __future__ import annotations


class BridgeError(Exception):
    """Base class. ``reason`` is written for a shop admin: no stack traces, no personal data, no tokens."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(BridgeError):
    """Worth retrying: timeouts, connection errors, 5xx, 429. ``retry_after`` is in seconds when known."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentError(BridgeError):
    """Retrying cannot help (validation 4xx, bad credentials, a total that does not add up).

    The job goes to the dead-letter list at once and the reason is written on the order.
    """


class ConflictError(BridgeError):
    """The store refused a compare-and-set write: somebody else changed the state first."""

    def __init__(self, reason: str, current: dict[str, object] | None = None) -> None:
        super().__init__(reason)
        self.current = current or {}


class LockLost(TransientError):
    """This run no longer holds the per-(order, action) lock; another run owns the work now."""


class EventNotFound(PermanentError):
    """The store has no outbox row for the event (a reconciliation event, or a purged row)."""
