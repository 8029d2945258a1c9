"""Events the sidecar makes itself (the reconciliation sweep), recognised by a reserved id namespace.

The plugin has no outbox row for such an event, so reporting its outcome would only earn a 404; the
runner skips the report and still writes the order notes. The marker cannot be a field of the envelope
(the intake schema has none for it, and a field could be sent from outside) nor only job meta (it would
be lost on follow-ups and dead-letter replays, which re-queue the bare envelope). So the id itself says
it: ``uuid5(NAMESPACE, "{store}|{order_id}|{YYYY-MM-DD of occurred_at}")``. The runner recomputes it
from the envelope; a plugin event (random UUIDv4) can never match, and the id is also deterministic per
(order, sweep day), which is what keeps repeated sweeps from queueing the same order twice a day.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:bpm-bridge:reconcile")
EVENT_TYPE = "order.status_changed"


def event_id(store: str, order_id: int, day: str, rma_id: int | None = None) -> str:
    """``rma_id`` (a return's resumed job) makes two returns of one order two events, not one."""
    tail = f"|rma-{int(rma_id)}" if rma_id is not None else ""
    return str(uuid.uuid5(NAMESPACE, f"{store.rstrip('/')}|{int(order_id)}|{day}{tail}"))


def envelope(store: str, order: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A valid ``order.status_changed`` envelope (contract §2) standing in for a lost event."""
    occurred_at = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    status = str(order.get("status") or "")
    order_id = int(order["id"])
    return {
        "id": event_id(store, order_id, occurred_at[:10]),
        "type": EVENT_TYPE,
        "occurred_at": occurred_at,
        "store": store.rstrip("/"),
        "data": {"order_id": order_id, "from": status, "to": status},
    }


def is_synthetic(event: Mapping[str, Any]) -> bool:
    try:
        data = event.get("data") or {}
        order_id, day, store = int(data["order_id"]), str(event["occurred_at"])[:10], str(event["store"])
        ids = {event_id(store, order_id, day)}
        if data.get("rma_id") is not None:
            ids.add(event_id(store, order_id, day, int(data["rma_id"])))
        return str(event["id"]).lower() in ids
    except (KeyError, TypeError, ValueError):
        return False
