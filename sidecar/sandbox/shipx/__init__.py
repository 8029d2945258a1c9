"""InPost ShipX API simulator, faithful to the project's ShipX reference notes (returns_crm.md, 1.1-1.2).

Layout as for every simulator: ``rules`` — what a create body must hold and how ShipX words a refusal;
``state`` — the shipments, asynchronous confirmation, statuses, points, quirks and faults; ``routes`` — the
HTTP API (``/v1/…``) and the ShipX-specific part of the control API; ``webhooks`` — the signed nudges; the
shared control API comes from :mod:`sidecar.sandbox.control`.

What it checks and answers as the notes document:
- ``Authorization: Bearer <token>`` on every organisation and shipment route (401 ``unauthorized``); the
  organisation in the path must be the token's (403); another organisation's shipment is not found (404);
  ``GET /v1/tracking/{number}``, ``/v1/statuses`` and ``/v1/points`` need no token;
- ``POST /v1/organizations/{org}/shipments`` for ``inpost_locker_standard`` (``parcels`` one object with a
  template, ``custom_attributes.target_point`` an operating locker, ``sending_method``, receiver e-mail +
  phone) and ``inpost_courier_standard`` (``parcels`` a list with dimensions in mm and weight in kg, the
  receiver's address, the sender's address for a ``dispatch_order`` pick-up), a customer-as-sender return
  included; 400 ``validation_failed`` with ``details`` flat (``{"receiver": {"phone": ["invalid"]}}``) or as
  lists (``{"custom_attributes": [{"target_point": ["does_not_exist"]}]}``, ``{"parcels": [{…}, {…}]}``);
  ``reference`` is stored and never de-duplicated (two creates, two shipments);
- asynchronous creation: ``created`` with ``tracking_number: null``; reads by id (or time) make it
  ``confirmed`` with a 24-digit tracking number; the label (``format=pdf|zpl``, ``type=normal|A6``) is refused
  before that (400 ``invalid_action``) and a PDF after; ``DELETE`` cancels before ``confirmed`` only;
- search ``{href, count, page, per_page, items}`` by id, tracking_number, status, reference,
  external_customer_id; tracking history, the status dictionary, the points table.

Sandbox-only endpoints under ``/_sandbox/``: ``GET documents`` (shipments, ``by_reference`` counts,
``creates``, ``label_fetches``, webhooks sent), ``POST faults`` (503/500/502, 429 with or without
``Retry-After``, latency, ``200_error``, ``empty``, ``drop_after_commit``), ``POST confirmation`` (reads,
seconds), ``POST search`` (ignore_unsupported, lag_seconds, misses_by_id, reference_match),
``POST webhook`` (url, secret, signature, auto: a signed webhook on every status change),
``POST shipments/{id}/status``, ``POST points``, ``POST webhook/send``, ``POST reset``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask, Response

from sidecar.sandbox.control import Setting, control_blueprint
from sidecar.sandbox.shipx.routes import api_blueprint, sandbox_blueprint
from sidecar.sandbox.shipx.state import State, error, not_found
from sidecar.sandbox.shipx.webhooks import deliver, deliver_pending

SETTINGS = (
    Setting("confirmation", lambda state: state.confirmation, ("reads", "seconds")),
    Setting(
        "search",
        lambda state: state.search,
        ("ignore_unsupported", "lag_seconds", "misses_by_id", "reference_match"),
        {"reference_match": ("exact", "substring")},
    ),
    Setting(
        "webhook",
        lambda state: state.webhook,
        ("url", "secret", "signature", "auto"),
        {"signature": ("body", "timestamp")},
    ),
)


def create_app(
    token: str | None = None, organization_id: int | None = None, others: Mapping[str, int] | None = None
) -> Flask:
    """``others``: more accounts (token → organization id), to show one organisation cannot see another's."""
    app = Flask("shipx_sandbox")
    token = token or os.environ.get("BPM_SANDBOX_INPOST_TOKEN", "sandbox-inpost-token")
    org = organization_id or int(os.environ.get("BPM_SANDBOX_INPOST_ORGANIZATION", "1234"))
    state = State({token: org, **(others or {})})
    app.extensions["shipx_sandbox"] = state
    app.register_blueprint(api_blueprint(state))
    app.register_blueprint(sandbox_blueprint(state, lambda event: deliver(state, event)))
    app.register_blueprint(
        control_blueprint(state, SETTINGS, lambda message, status: error(status, "sandbox", message))
    )

    @app.after_request
    def _webhooks(response: Response) -> Response:
        deliver_pending(state)  # the receiver may call back into the simulator: sent with no lock held
        return response

    @app.errorhandler(404)
    def _missing(_exc: Exception) -> Response:
        return not_found()

    @app.errorhandler(405)
    def _method(_exc: Exception) -> Response:
        return error(405, "method_not_allowed", "Method not allowed")  # UNCONFIRMED wording

    return app
