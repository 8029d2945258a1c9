"""ShipX webhooks (``Shipment.Tracking`` events) as the notes describe them, sent by the simulator to the
URL its ``webhook`` setting names. InPost registers webhooks by hand; the client treats them as a nudge."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

import requests

from sidecar.sandbox.shipx.state import State


def deliver_pending(state: State) -> None:
    """Send the webhooks status moves queued (outside the lock: the receiver may call back)."""
    with state.lock:
        events, state.pending = state.pending, []
    for event in events:
        deliver(state, event)


def deliver(state: State, event: Mapping[str, Any]) -> None:
    """POST one webhook to the configured URL, signed as the notes describe: ``x-inpost-signature`` =
    base64 HMAC-SHA256 of the raw body, or of ``{x-inpost-timestamp}.{body}`` (``signature: timestamp``)."""
    with state.lock:
        config = dict(state.webhook)
    if not config["url"]:
        return
    body = json.dumps(event, separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    signed = f"{stamp}.".encode() + body if config["signature"] == "timestamp" else body
    digest = hmac.new(str(config["secret"]).encode(), signed, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json",
        "x-inpost-signature": base64.b64encode(digest).decode(),
        "x-inpost-timestamp": stamp,
        "x-inpost-topic": "Shipment.Tracking",
        "x-inpost-event-id": str(uuid.uuid4()),
    }
    try:
        status: int | str = requests.post(config["url"], data=body, headers=headers, timeout=5).status_code
    except requests.RequestException as exc:
        status = type(exc).__name__
    with state.lock:
        state.webhooks_sent.append({"event": dict(event), "headers": headers, "answer": status})
