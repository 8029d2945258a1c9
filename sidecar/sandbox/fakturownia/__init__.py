"""Fakturownia API simulator, faithful to the public documentation (fakturownia/API README and KSeF.md).

Layout (the same for every invoicing simulator): ``rules`` — what the API accepts and how it words a
refusal; ``state`` — one account (documents, numbering, KSeF progression, faults); ``routes`` — the HTTP
API over that state; the sandbox-only control API comes from :mod:`sidecar.sandbox.control`.

What it checks and answers as documented:
- authentication by ``api_token`` in the query, in the JSON body beside ``invoice``, or as
  ``Authorization: Bearer`` (the form the vendor's e-receipt API documents); otherwise 401;
- ``POST /invoices.json``: ``kind`` from the documented list, positions with name (≤ 256 characters),
  ``total_price_gross`` and a documented tax value; buyer name (or first and last name for
  ``buyer_company: false``); with KSeF on, a NIP in the documented format for company buyers and
  ``exempt_tax_kind`` when a position is ``zw``; ``oid_unique: "yes"`` refuses a second document with the
  same ``oid``; errors as 422 ``{"code": "error", "message": {field: ["- …"]}}``; 201 with the full
  document (money as strings, ``token``, ``view_url``, ``gov_*`` fields);
- corrections: ``invoice_id`` must exist, every position carries before/after attributes and its own
  values must be their difference;
- ``GET /invoices.json`` (``oid``, ``kind``, ``page``, ``per_page`` ≤ 100), ``GET /invoices/{id}.json``
  (``send_to_ksef=yes`` re-sends), ``GET /invoices/{id}.pdf``, the public ``GET /invoice/{token}.pdf``,
  ``POST /invoices/{id}/send_by_email.json`` (200 ``{"status": "error"}`` for a company document without
  a KSeF number, as KSeF.md describes);
- KSeF progression ``processing`` → ``ok`` (a 35-character KSeF number with a valid CRC-8) or
  ``send_error`` / ``server_error``, advanced by reads.

The ``oid`` filter of the list matches by substring on purpose: the documentation does not promise
exactness, so the client must match exactly itself.

Sandbox-only endpoints under ``/_sandbox/``: ``GET documents`` (everything held), ``POST faults`` (503,
429 with Retry-After, latency, ``drop_after_commit``), ``POST ksef`` (mode, polls, outcome, validate),
``POST reset``.
"""

from __future__ import annotations

import os

from flask import Flask

from sidecar.sandbox.control import Setting, control_blueprint
from sidecar.sandbox.fakturownia.routes import api_blueprint
from sidecar.sandbox.fakturownia.state import KSEF_MODES, KSEF_OUTCOMES, State, error

SETTINGS = (
    Setting(
        "ksef",
        lambda state: state.ksef,
        ("mode", "polls", "outcome", "validate"),
        {"mode": KSEF_MODES, "outcome": KSEF_OUTCOMES},
    ),
)


def create_app(token: str | None = None, domain: str | None = None) -> Flask:
    app = Flask("fakturownia_sandbox")
    state = State(
        token or os.environ.get("BPM_SANDBOX_FAKTUROWNIA_TOKEN", "sandbox-fakturownia-token"),
        domain or os.environ.get("BPM_SANDBOX_FAKTUROWNIA_DOMAIN", "sandbox"),
    )
    app.extensions["fakturownia_sandbox"] = state
    app.register_blueprint(api_blueprint(state))
    app.register_blueprint(control_blueprint(state, SETTINGS, lambda message, status: error(message, status)))
    return app
