"""The contract between the job framework and an action.

An action is a plain function ``(JobContext) -> Outcome``. It must be *state-based*: it re-reads the
order through ``ctx.store`` and decides from what it finds, so running it twice is harmless. Its final
meta write goes back in ``Outcome.write`` (the framework sends it together with the note and the outcome
report); the writes before that (an intent) it makes itself through ``ctx.store.apply``. It raises
:class:`sidecar.errors.TransientError` / :class:`PermanentError` for failures; the framework turns
those into retries, dead letters, outcome reports and order notes. Before an irreversible side effect
(issuing a document, buying a label) the action calls ``ctx.ensure_lock()`` so a run that lost its
lock stops instead of duplicating the work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sidecar.audit import AuditLog
    from sidecar.store import StoreClient

OutcomeStatus = Literal["done", "skipped"]


@dataclass(frozen=True)
class MetaWrite:
    """An action's last compare-and-set write: ``meta`` is written only while ``expect`` still holds."""

    meta: Mapping[str, str]
    expect: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """A finished action. ``message`` is shown to the shop admin (outbox row, order note)."""

    status: OutcomeStatus
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    note: bool = True  # write ``message`` on the order as a note
    # False: nothing the shop needs to hear (a poll that found no change): no outcome report, so with
    # no note and no write either the store is not called at all.
    report: bool = True
    # (action, delay seconds): run another action for the same event later, e.g. follow a KSeF
    # submission until it is final. The framework queues it once this outcome has been reported.
    follow_up: tuple[str, float] | None = None
    # The action's final meta write. The framework sends it with the note and the outcome in one
    # request (POST orders/{id}/apply) while the action's lock is held: one round trip, not three.
    write: MetaWrite | None = None


@dataclass(frozen=True)
class JobContext:
    event: Mapping[str, Any]  # the validated envelope (docs/contract.md §2)
    action: str  # e.g. "invoice.issue"
    store: StoreClient  # reads WooCommerce, writes through bpm-bridge/v1
    config: Mapping[str, Any]  # GET bpm-bridge/v1/config merged with environment overrides
    audit: AuditLog  # append-only record of outbound calls (providers use it through sidecar.http)
    ensure_lock: Callable[[], None]  # raises LockLost when this run's fencing token is no longer current
    fencing_token: int
    attempt: int  # 1 for the first run
    # observe(provider, method, status_class, seconds): provider-call metrics for HttpClient.
    observe: Callable[[str, str, str, float], None] | None = None
    # Unix time of this job's first run, kept across its retries and self-follow-ups. Patience is
    # measured from here, not from the event: a dead letter replayed a week later is a fresh start.
    first_run_at: float | None = None

    @property
    def data(self) -> Mapping[str, Any]:
        return self.event["data"]

    @property
    def order_id(self) -> int | None:
        value = self.data.get("order_id")
        return int(value) if value is not None else None


Action = Callable[[JobContext], Outcome]
