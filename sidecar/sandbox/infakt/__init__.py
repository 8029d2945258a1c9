"""inFakt API v3 simulator, faithful to the public documentation (infakt/API readme.md and ksef.md).

Layout as every invoicing simulator: ``rules`` (what the API accepts), ``state`` (one account: documents,
tasks, limits, KSeF, faults), ``routes`` (HTTP), and the control API of :mod:`sidecar.sandbox.control`.

What it checks and answers as documented:
- ``X-inFakt-ApiKey`` on every call (401 otherwise); JSON bodies (406 for another content type);
- asynchronous creation: ``POST /api/v3/async/invoices.json`` (and ``corrective_invoices``) → 202
  ``{invoice_task_reference_number, processing_code: 100, processing_description, timestamps}``;
  ``GET …/async/invoices/status/{ref}.json`` moves 100 → 120 → 140 → 201 (``invoice_uuid``) or 422
  (``invoice_errors``). Tasks also finish on their own after a short time, as in the real service, so a
  task whose 202 was lost still creates its document;
- validation when the task runs: ``services`` required, each with ``name`` and a ``tax_symbol`` from the
  VAT rate list, money as **integer grosze**, ``vat_exemption_reason`` (an id of
  ``/vat_exemptions.json``) for ``zw`` positions, client name/country, NIP format for a business,
  payment method from the documented list; corrections need ``corrected_invoice_uuid`` of an existing
  invoice, a ``correction_reason`` and services in before/after pairs per ``group``;
- no idempotency: a second identical POST creates a second document (that is the real contract);
- documents are created as ``draft``; ``POST …/async/invoices/{uuid}/paid.json`` (201) marks them paid,
  ``pdf.json`` (``document_type`` required) returns a PDF and sets ``printed``,
  ``deliver_via_email.json`` (``print_type`` required) sets ``sent``; share links; list with
  ``metainfo``/``entities``, ``offset``/``limit`` ≤ 100 and ``q[…]`` filters;
- KSeF 2.0: ``/ksef2/integration.json``, ``/ksef2/documents/{uuid}/send.json`` (422 when the account is
  not integrated), ``/ksef2/documents/{uuid}/status.json`` sent → success (valid KSeF number) | error.

Sandbox-only endpoints under ``/_sandbox/``: ``GET documents`` (documents and tasks), ``POST faults``,
``POST ksef`` (active, polls, outcome), ``POST tasks`` (polls, seconds), ``POST limits``
(``{"enabled": true}`` enforces the documented 300 GET / 150 writes per 60 s with 429 + Retry-After),
``POST reset``.
"""

from __future__ import annotations

import os

from flask import Flask

from sidecar.sandbox.control import Setting, control_blueprint
from sidecar.sandbox.infakt.routes import api_blueprint, guard, share_blueprint
from sidecar.sandbox.infakt.state import KSEF_OUTCOMES, State, error

SETTINGS = (
    Setting("ksef", lambda state: state.ksef, ("active", "polls", "outcome"), {"outcome": KSEF_OUTCOMES}),
    Setting("tasks", lambda state: state.task_rules, ("polls", "seconds")),
    Setting(
        "limits",
        lambda state: state.limits,
        ("enabled", "GET", "WRITE", "window"),
        changed=lambda state: state.clear_hits(),
    ),
)


def create_app(api_key: str | None = None) -> Flask:
    app = Flask("infakt_sandbox")
    state = State(api_key or os.environ.get("BPM_SANDBOX_INFAKT_KEY", "sandbox-infakt-key"))
    app.extensions["infakt_sandbox"] = state
    app.before_request(guard(state))
    app.register_blueprint(api_blueprint(state))
    app.register_blueprint(share_blueprint(state))
    app.register_blueprint(control_blueprint(state, SETTINGS, lambda message, status: error(message, status)))
    return app
