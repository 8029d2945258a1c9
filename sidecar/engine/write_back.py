"""The write-back of a finished action: its final meta, the order note and the outcome, in one request.

``POST bpm-bridge/v1/orders/{id}/apply`` validates every part and checks ``expect`` under the store's
per-order lock before it writes anything (409 writes nothing); then it writes the meta, the note and the
outcome in that order — not one database transaction, so a PHP process that dies between them leaves the
later parts unwritten. Three answers need more than a retry:

- **409 whose current values are ours**: an earlier try wrote at least the meta but its answer was lost.
  The meta is not written again; the outcome is sent once more on its own (recording an action's outcome
  is idempotent, and an outbox row without it would be re-sent for 72 hours), the note is not (a lost
  answer is by far the likelier case, and a second note would be noise the shop admin reads).
- **409 on a JSON map** (``_bpm_corrections``) whose other entries changed meanwhile (the correction of
  another refund finished between our read and our write): our entries are merged into the current map
  and the write is tried again, as long as nobody touched *our* entries. Anything else is a real
  conflict: the meta is not overwritten (logged), the note and the outcome still go.
- **404 for the outcome** (the outbox row is gone): the meta and the note still belong on the order.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sidecar.errors import ConflictError, EventNotFound, TransientError

if TYPE_CHECKING:
    from sidecar.store import StoreClient

MAX_TRIES = 4
WRITTEN = "written"


def apply_write_back(
    store: StoreClient,
    order_id: int,
    write: Mapping[str, Any],
    note: str | None,
    outcome: Mapping[str, Any] | None,
    log: Callable[..., None],
) -> None:
    meta: dict[str, str] = dict(write.get("meta") or {})
    expect: dict[str, str] = dict(write.get("expect") or {})
    for _ in range(MAX_TRIES):
        if not (meta or note or outcome):
            return
        try:
            store.apply(order_id, meta=meta, expect=expect, note=note, outcome=outcome)
            return
        except EventNotFound:
            outcome = None
        except ConflictError as exc:
            current = {str(k): "" if v is None else str(v) for k, v in exc.current.items()}
            merged = rebase(meta, expect, current)
            if merged == WRITTEN:
                meta, expect, note = {}, {}, None  # only the outcome, if any, goes again
                continue
            if not isinstance(merged, tuple):
                log(
                    logging.ERROR,
                    "order meta changed under us (%s); not overwritten: %s",
                    ", ".join(sorted(current)),
                    exc.reason,
                )
                meta, expect = {}, {}
            else:
                meta, expect = merged
    raise TransientError(f"the store kept refusing the update of order {order_id}")


def rebase(
    meta: Mapping[str, str], expect: Mapping[str, str], current: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]] | str | None:
    """After a 409: :data:`WRITTEN` when ``current`` already holds our write (meta is written first and
    all together, so one key showing it means all of our meta was written), ``(meta, expect)``
    re-applied on ``current`` when others changed other entries of a JSON map, None for a real conflict."""
    merged_meta, merged_expect = dict(meta), dict(expect)
    for key, was in expect.items():
        now, mine = current.get(key, was), meta.get(key, was)
        if now == was:
            continue
        if now == mine:
            return WRITTEN
        old, ours, theirs = _map(was), _map(mine), _map(now)
        if old is None or ours is None or theirs is None:
            return None
        changed = {k for k in old.keys() | ours.keys() if old.get(k) != ours.get(k)}
        if changed and all(theirs.get(k) == ours.get(k) for k in changed):
            return WRITTEN  # our entries are there; others wrote theirs since
        if any(theirs.get(k) != old.get(k) for k in changed):
            return None  # somebody else changed our own entries
        result = {**theirs, **{k: ours[k] for k in changed if k in ours}}
        for k in changed - ours.keys():
            result.pop(k, None)
        merged_meta[key] = json.dumps(result, separators=(",", ":"), sort_keys=True) if result else ""
        merged_expect[key] = now
    return merged_meta, merged_expect


def _map(raw: str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
