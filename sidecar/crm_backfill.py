"""``bpm-sidecar crm backfill --since DATE``: an existing shop's orders into the CRM, within its limits.

The orders changed since DATE are listed through the store's search route (ids and BPM meta only); the
ones already in the CRM and unchanged since (:func:`sidecar.engine.reconcile_crm.behind`) are skipped
without a read, so an interrupted backfill simply runs again and carries on where it stopped. The rest
are read (a few at a time), mapped exactly as ``crm.sync_order`` maps them, and sent in batches of up to
100 when the provider can take batches (HubSpot: a handful of requests per 100 orders instead of four or
five per order), else one by one. Every CRM request takes a slot of the account's shared budget
(:mod:`sidecar.providers.crm.limits`), so the backfill and the live workers together stay under the
CRM's limit; a wait the CRM asks for (429, Retry-After) is told ("waiting 8 s for HubSpot's limit") and
waited out here, and only the orders that did not get through are sent again (upserts: sending twice
changes nothing); a wait of more than :data:`LONG_WAIT` (a daily limit) stops the run with the time to run
it again. Each order's result is written back like the job's, but only while the order's
``_bpm_crm_hash`` is still the one read: a live ``crm.sync_order`` that wrote meanwhile wins, and the
order is queued for one more sync so the CRM ends with its current state, whichever send arrived last.

``--queue`` queues one ``crm.sync_order`` per order instead and leaves the sending to the workers.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from redis import exceptions as redis_errors

from sidecar.engine import queueing, reconcile_crm
from sidecar.errors import BridgeError, ConflictError, PermanentError, TransientError
from sidecar.jobs import crm as crm_jobs
from sidecar.jobs import synthetic
from sidecar.providers.crm import provider_class
from sidecar.providers.crm.base import CrmProvider, Synced
from sidecar.providers.crm.limits import Budget, limiter_for

if TYPE_CHECKING:
    import redis

    from sidecar.config import Settings
    from sidecar.store import StoreClient

BATCH = 100
READERS = 8  # concurrent store reads/writes: WordPress serves them in parallel, the CRM is the limit
TRANSIENT_TRIES = 20
LONG_WAIT = 300.0  # seconds: a longer wait stops the run ("run again after …") instead of holding it
MAX_LISTED_FAILURES = 20


@dataclass
class Summary:
    provider: str
    since: str
    listed: int = 0
    already: int = 0  # in the CRM and unchanged since: not even read
    sent: int = 0
    unchanged: int = 0  # read, and the payload was the one last sent
    erased: int = 0  # read, and the buyer was erased on request: never sent
    queued: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    requeued: int = 0  # sent, but a live sync wrote the order meanwhile: queued for one more sync
    stopped: str = ""  # why the run stopped early (a long wait the CRM asked for)
    waited: float = 0.0  # seconds spent waiting for the CRM's limit
    seconds: float = 0.0

    @property
    def done(self) -> int:
        return self.already + self.sent + self.unchanged + self.erased + self.queued + len(self.failed)

    def render(self, label: str) -> str:
        lines = [
            f"Backfill into {label} of the orders changed since {self.since}: {self.listed} listed, "
            f"{self.sent} sent, {self.already + self.unchanged} already up to date, {self.queued} queued, "
            f"{len(self.failed)} failed, in {self.seconds:.1f} s ({self.waited:.1f} s waiting for "
            f"{label}'s request limit)."
        ]
        if self.erased:
            lines.append(f"  {self.erased} order(s) not sent: their buyer's data was erased on request.")
        if self.requeued:
            lines.append(
                f"  {self.requeued} order(s) were synced by a worker meanwhile: queued for one more sync."
            )
        if self.stopped:
            lines.append(f"Stopped early: {self.stopped}")
        for order_id, reason in self.failed[:MAX_LISTED_FAILURES]:
            lines.append(f"  order {order_id}: {reason}")
        if len(self.failed) > MAX_LISTED_FAILURES:
            lines.append(f"  … and {len(self.failed) - MAX_LISTED_FAILURES} more")
        if self.failed:
            lines.append("Fix them and run the backfill again: orders already sent are skipped.")
        return "\n".join(lines)


class ProgressBar:
    """A bar that redraws itself on a terminal; one plain line per step elsewhere (logs, CI)."""

    WIDTH = 30

    def __init__(self, out: IO[str], total: int) -> None:
        self.out, self.total = out, total
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.started = time.monotonic()

    def show(self, s: Summary) -> None:
        words = f"{s.done}/{self.total} orders · {s.sent} sent · {s.already + s.unchanged} up to date"
        if s.queued:
            words += f" · {s.queued} queued"
        words += f" · {len(s.failed)} failed · {time.monotonic() - self.started:.0f} s"
        if self.tty:
            filled = int(self.WIDTH * s.done / self.total) if self.total else self.WIDTH
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            self.out.write(f"\r[{bar}] {words}")
        else:
            self.out.write(words + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


def run(
    conn: redis.Redis,
    settings: Settings,
    store: StoreClient,
    config: Mapping[str, Any],
    since: datetime,
    *,
    audit: Any,
    queue: bool = False,
    batch: int = BATCH,
    out: IO[str] = sys.stderr,
    provider: CrmProvider | None = None,
    limiter: Budget | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Summary:
    name = crm_jobs.provider_name(config)
    if name == "none":
        raise PermanentError("the CRM is switched off in the BPM Bridge settings: choose one first")
    started = time.monotonic()
    summary = Summary(name, since.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    now = datetime.now(UTC)
    listed = list(store.iter_orders(reconcile_crm.statuses(config), since, now))
    summary.listed = len(listed)
    due = [o for o in listed if reconcile_crm.behind(o, reconcile_crm.WRITE_BACK_SLACK) is not None]
    summary.already = len(listed) - len(due)
    bar = ProgressBar(out, len(listed))
    bar.show(summary)
    if queue:
        for order in due:
            envelope = synthetic.envelope(settings.store_url, order, now)
            queueing.requeue_missing(conn, settings, envelope, [reconcile_crm.ACTION])
            summary.queued += 1
            if summary.queued % batch == 0:
                bar.show(summary)
    else:
        budget = limiter or limiter_for(name, crm_jobs.settings_of(config), conn=conn)
        client = provider or crm_jobs.provider_for(name, config, audit, limiter=budget)

        def requeue(order_id: int) -> None:
            envelope = synthetic.envelope(settings.store_url, {"id": order_id}, datetime.now(UTC))
            queueing.requeue_missing(conn, settings, envelope, [reconcile_crm.ACTION])

        def wait(seconds: float) -> None:
            out.write(f"waiting {seconds:.0f} s for {client.label}'s limit\n")
            out.flush()
            sleep(seconds)

        with ThreadPoolExecutor(READERS) as pool:
            for start in range(0, len(due), batch):
                ids = [int(o["id"]) for o in due[start : start + batch]]
                _chunk(pool, store, config, client, ids, summary, wait, requeue)
                bar.show(summary)
                if summary.stopped:
                    break
        summary.waited = float(getattr(budget, "waited", 0.0))
    bar.show(summary)
    bar.close()
    summary.seconds = time.monotonic() - started
    return summary


def _chunk(
    pool: ThreadPoolExecutor,
    store: StoreClient,
    config: Mapping[str, Any],
    client: CrmProvider,
    ids: Sequence[int],
    summary: Summary,
    wait: Callable[[float], None],
    requeue: Callable[[int], None],
) -> None:
    def read(order_id: int) -> tuple[int, Any]:
        try:
            state = store.read_order(order_id)
            return order_id, (state, crm_jobs.build_payload(state, config))
        except BridgeError as exc:
            return order_id, exc

    pending, unchanged, erased = [], [], []
    for order_id, found in pool.map(read, ids):
        if isinstance(found, BridgeError):
            summary.failed.append((order_id, found.reason))
            continue
        state, payload = found
        if crm_jobs.suppressed(state):
            erased.append(order_id)
            continue
        if payload.digest == state.meta.get("_bpm_crm_hash") and payload.known.deal_id:
            unchanged.append(order_id)
            continue
        pending.append((state, payload))

    def touch(order_id: int) -> None:
        # As the job does: the sync time moves on, so the next run skips the order without reading it.
        with contextlib.suppress(BridgeError):
            store.apply(order_id, meta={"_bpm_crm_synced_at": crm_jobs.synced_now()})

    list(pool.map(touch, unchanged + erased))
    summary.unchanged += len(unchanged)
    summary.erased += len(erased)
    if not pending:
        return
    results, stopped = _send(client, [p for _, p in pending], wait)
    summary.stopped = summary.stopped or stopped
    label = client.label

    def write(item: tuple[Any, Any, Synced | BridgeError]) -> tuple[int, str | None]:
        state, payload, result = item
        order_id = payload.deal.order_id
        if isinstance(result, BridgeError):
            return order_id, result.reason
        result = crm_jobs.keep_stage(result, state.meta)
        message, note = crm_jobs.describe(label, payload, result, state.meta)
        try:
            store.apply(
                order_id,
                meta=crm_jobs.result_meta(summary.provider, payload, result),
                expect={"_bpm_crm_hash": state.meta.get("_bpm_crm_hash", "")},
                note=f"{message} (Sent by the CRM backfill.)" if note else None,
            )
        except ConflictError:
            # A worker synced the order after our read: its record stays, and one more sync makes sure
            # the CRM holds the order as it is now, not whichever of the two sends arrived last.
            try:
                requeue(order_id)
            except redis_errors.RedisError as exc:  # the order is then simply behind for the sweep
                return (
                    order_id,
                    f"sent; a worker synced it meanwhile and queueing one more sync failed ({exc})",
                )
            return order_id, "requeued"
        except BridgeError as exc:
            return order_id, f"sent, but the order could not be updated: {exc.reason}"
        return order_id, None

    rows = [(state, payload, result) for (state, payload), result in zip(pending, results, strict=True)]
    for order_id, failure in pool.map(write, rows):
        if failure is None:
            summary.sent += 1
        elif failure == "requeued":
            summary.sent += 1
            summary.requeued += 1
        else:
            summary.failed.append((order_id, failure))


def _send(
    client: CrmProvider, payloads: Sequence[Any], wait: Callable[[float], None]
) -> tuple[list[Any], str]:
    """The provider's results, one per payload, and why the run must stop ("" to go on). A wait the CRM
    asks for is waited out and only the orders without an answer yet (a TransientError) are sent again;
    a wait over :data:`LONG_WAIT` leaves them for the next run."""
    items = [(p.contact, p.deal, p.known) for p in payloads]
    results: list[Any] = [
        TransientError("the CRM kept asking us to wait; run the backfill again later")
    ] * len(items)
    todo = list(range(len(items)))
    batcher = getattr(client, "sync_batch", None)
    for _ in range(TRANSIENT_TRIES):
        delay: float | None = None
        try:
            chosen = [items[i] for i in todo]
            got = list(batcher(chosen)) if batcher is not None else [_one(client, *item) for item in chosen]
        except PermanentError:
            batcher = None  # a refusal of the batch as a whole: each order gets its own answer
            continue
        except TransientError as exc:
            delay = float(exc.retry_after or 5.0)
        else:
            for i, result in zip(todo, got, strict=True):
                results[i] = result
            todo = [i for i in todo if isinstance(results[i], TransientError)]
            if not todo:
                return results, ""
            delay = max(float(results[i].retry_after or 5.0) for i in todo)
        delay = max(1.0, delay)
        if delay > LONG_WAIT:
            until = datetime.now(UTC).timestamp() + delay
            when = datetime.fromtimestamp(until, UTC).strftime("%H:%M")
            reason = f"{client.label} asks to wait {delay / 60:.0f} minutes: run again after {when} UTC"
            for i in todo:
                results[i] = TransientError(reason, delay)
            return results, reason
        wait(delay)
    return results, ""


def _one(client: CrmProvider, contact: Any, deal: Any, known: Any) -> Synced | BridgeError:
    try:
        return client.sync_order(contact, deal, known)
    except BridgeError as exc:  # a TransientError too: that order alone is sent again
        return exc


def label_of(name: str) -> str:
    return provider_class(name).label
