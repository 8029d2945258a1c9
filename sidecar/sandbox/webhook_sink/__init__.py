"""A webhook receiver standing in for an n8n / Zapier / Make flow: it checks Standard Webhooks signatures
as a careful receiver does and records what it got.

- ``POST /hooks/<name>``: the signature (``webhook-id``, ``webhook-timestamp`` within 5 minutes,
  ``webhook-signature`` v1 over ``{id}.{timestamp}.{body}`` with the configured ``whsec_`` secret) and a JSON
  object body are required (401 / 400 otherwise); a ``webhook-id`` seen before is answered 200 and counted
  as a duplicate, not delivered twice; a forced ``receiver.status`` (e.g. 410 for a deleted flow) answers
  every delivery with that status.
- ``/_sandbox/``: ``GET documents`` (``deliveries``: id, hook, body, headers; ``duplicates``; ``refused``),
  ``POST faults`` (503, 500, 429, latency, ``drop_after_commit`` — the delivery is recorded, the answer
  lost), ``POST receiver`` (``secret``, ``status``), ``POST reset``.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from sidecar.sandbox.control import Setting, control_blueprint
from sidecar.sandbox.faults import Faults, lost_response
from sidecar.signing import SignatureError, new_secret, verify


def _answer(message: str, status: int) -> Response:
    response = jsonify({"message": message})
    response.status_code = status
    return response


class State:
    def __init__(self, secret: str) -> None:
        self.lock = threading.Lock()
        self.faults = Faults(_answer)
        self.secret = secret
        self.reset()

    def reset(self) -> None:
        self.receiver: dict[str, Any] = {"secret": self.secret, "status": 0}
        self.deliveries: list[dict[str, Any]] = []
        self.duplicates = 0
        self.refused: list[dict[str, Any]] = []
        self.faults.clear()

    def snapshot(self) -> dict[str, Any]:
        return {
            "deliveries": list(self.deliveries),
            "duplicates": self.duplicates,
            "refused": list(self.refused),
        }


def _hooks(state: State) -> Blueprint:
    hooks = Blueprint("webhook_sink", __name__)

    @hooks.before_app_request
    def _faults() -> Response | None:
        return state.faults.before()

    @hooks.post("/hooks/<name>")
    def receive(name: str) -> Response:
        raw = request.get_data()
        headers = {k.lower(): v for k, v in request.headers.items()}
        with state.lock:
            secret, forced = str(state.receiver["secret"]), int(state.receiver["status"] or 0)
        try:
            msg_id = verify([secret], headers, raw)
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except SignatureError as exc:
            with state.lock:
                state.refused.append({"hook": name, "reason": str(exc)})
            return _answer(f"signature refused: {exc}", 401)
        except ValueError:
            return _answer("the body is not a JSON object", 400)
        if forced:
            return _answer("refused (simulated)", forced)
        with state.lock:
            if any(d["id"] == msg_id for d in state.deliveries):
                state.duplicates += 1
                return jsonify({"ok": True, "duplicate": True})
            state.deliveries.append({"id": msg_id, "hook": name, "body": body, "headers": headers})
        if state.faults.drop_after_commit():
            return lost_response()
        return jsonify({"ok": True})

    return hooks


def create_app(secret: str | None = None) -> Flask:
    app = Flask("webhook_sink")
    # Without a configured secret it makes one: read it from ``POST /_sandbox/receiver {}``.
    state = State(secret or os.environ.get("BPM_SANDBOX_WEBHOOK_SECRET") or new_secret())
    app.extensions["webhook_sink"] = state
    app.register_blueprint(_hooks(state))
    settings = (Setting("receiver", lambda s: s.receiver, ("secret", "status")),)
    app.register_blueprint(control_blueprint(state, settings, _answer))
    return app
