"""The one compare-and-set claim an action holds on an order while it creates a document.

Before the create an *intent* (``pending:<provider>:<ref>:<time>``, :class:`Intent`) is written with
``expect`` = the value read, so of two runs only one wins the claim, and the claim survives a Redis
wipe. Checkpoints (a provider's task reference) move it on the same way; a definite refusal releases it;
the final value goes back to the framework as a :class:`MetaWrite` (sent with the outcome).

The claimed value is either a whole meta value (``_bpm_invoice_id``) or one slot of a JSON map held in a
meta value (a refund's entry in ``_bpm_corrections``, where the slot's intent is ``{"pending": …}``).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from sidecar.errors import BridgeError, PermanentError
from sidecar.jobs.base import MetaWrite
from sidecar.providers.invoicing.base import Attempt, Intent

if TYPE_CHECKING:
    from sidecar.store import StoreClient

T = TypeVar("T")


def json_map(raw: str, key: str, order_id: int) -> dict[str, Any]:
    """A JSON-object meta value ("" is empty); PermanentError when someone stored something else."""
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise PermanentError(f"{key} of order {order_id} is not a JSON object; fix or clear it")
    return value


def dump_map(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True) if value else ""


class Claim:
    def __init__(
        self, store: StoreClient, order_id: int, key: str, raw: str, slot: str | None = None
    ) -> None:
        self.store, self.order_id, self.key, self.raw, self.slot = store, order_id, key, raw, slot

    def _with(self, value: Any) -> str:
        """The meta value with the claimed place set to ``value`` (None: emptied)."""
        if self.slot is None:
            return "" if value is None else str(value)
        slots = json_map(self.raw, self.key, self.order_id)
        if value is None:
            slots.pop(self.slot, None)
        else:
            slots[self.slot] = value
        return dump_map(slots)

    def _mark(self, intent: Intent) -> Any:
        return intent.encode() if self.slot is None else {"pending": intent.encode()}

    def write(self, value: Any) -> None:
        new = self._with(value)
        self.store.apply(self.order_id, meta={self.key: new}, expect={self.key: self.raw})
        self.raw = new

    def final(self, value: Any, **more: str) -> MetaWrite:
        """The write that replaces the intent by the result (plus other keys set at the same time)."""
        return MetaWrite({self.key: self._with(value), **more}, {self.key: self.raw})

    def commit(self, write: MetaWrite) -> None:
        """Write a final value now: for a result that is kept although the action then fails."""
        self.store.apply(self.order_id, meta=write.meta, expect=write.expect)
        self.raw = write.meta[self.key]

    def create(
        self,
        prior: Intent | None,
        provider: str,
        ensure_lock: Callable[[], None],
        make: Callable[[Attempt], T],
    ) -> T:
        """Claim (unless resuming ``prior``), run ``make`` with the attempt, release on a refusal.

        A provider's checkpoint (inFakt's task reference) is written to the order only when this run
        ends without the document: a create that finishes in one run costs no extra store request. A
        run killed while waiting loses the reference; the next one finds the document through the
        provider's lookup by its key instead (slower, equally safe).
        """
        started = prior.started if prior is not None else int(time.time())
        if prior is None:
            self.write(self._mark(Intent(provider, "", started)))
        refs: list[str] = []
        attempt = Attempt(
            prior=prior,
            checkpoint=refs.append,
            ensure_lock=ensure_lock,
            release=lambda: self.write(None),
        )
        try:
            return make(attempt)
        except PermanentError:
            if not attempt.committed:
                self.write(None)  # refused: nothing exists, so the next try (e.g. after a fix) may create it
            raise
        except BaseException:
            if refs:
                with contextlib.suppress(BridgeError):  # the store may be what failed; the lookup remains
                    self.write(self._mark(Intent(provider, refs[-1], started)))
            raise
