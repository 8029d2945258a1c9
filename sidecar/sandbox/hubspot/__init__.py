"""HubSpot CRM API simulator, faithful to the project's HubSpot reference notes (returns_crm.md 2.1).

Layout as for every simulator: ``rules`` — object types, the standard property tables, the default Sales
Pipeline, association types, value checks; ``state`` — one account (records, unique values, associations,
GDPR blocklist, search index); ``limits`` — the rate limits and their counters; ``gate`` — faults, the
token, scopes and limits before every route; ``routes`` (objects), ``search``, ``routes_meta``
(properties, pipelines, v4 associations); the shared control API comes from :mod:`sidecar.sandbox.control`.

What it checks and answers as the notes document (choices where they say UNCONFIRMED are marked in code):
- ``Authorization: Bearer <private-app token>``, else 401 ``INVALID_AUTHENTICATION``; a scope taken away
  through the control API answers 403 ``MISSING_SCOPES``;
- per-account limits: a rolling 10-second window (100 by default) and a daily budget, the
  ``X-HubSpot-RateLimit-*`` headers on every answer, 429 ``{errorType: RATE_LIMIT, policyName:
  TEN_SECONDLY_ROLLING | DAILY}``; the Search API's own per-token limit (4 a second); transient 500s under
  load when asked;
- contacts, deals and line items: create (201; a taken unique value — a contact's e-mail, a deal's
  ``woo_order_id`` — is 409 ``"<Object> already exists. Existing ID: <id>"``), read/update by id or by
  ``idProperty``, archive, batch create (all or nothing), read, update and upsert (207 with ``numErrors``
  and ``errors`` when some inputs fail; ≤ 100 inputs; upsert only by a unique property); property
  values checked against the property table (unknown property, number, date, option, e-mail format,
  deal stage of the deal's pipeline, currency) in HubSpot's ``Property values were not valid: [...]``;
- search with filter groups, whose index sees a write only after ``search.lag_seconds``;
- GDPR delete by e-mail or id: the contact goes and the address is blocklisted (a later create is refused);
- properties (list, read, create with ``hasUniqueValue``; 409 when it exists), deal pipelines, v4
  associations (default, labelled, batch, list, delete) and inline associations on create.

Sandbox-only endpoints under ``/_sandbox/``: ``GET documents`` (contacts, deals, line items, associations,
custom properties, blocklist, counts, limit counters), ``GET limits``, ``POST faults`` (500/503, latency,
``drop_after_commit``), ``POST limits`` (ten_second_max, daily_max, search_per_second), ``POST load``
(error_rate, above, seed: transient 500s once the 10-second window is that full), ``POST search``
(lag_seconds), ``POST batch`` (errors: multi_status | whole_batch, max_inputs, conflict_seconds: an
upsert finding a record that young answers 409 as a racing create would; order: input | reversed),
``POST account``
(currencies, scopes_missing), ``POST pipelines``, ``POST reset``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from flask import Flask, Response

from sidecar.sandbox.control import Setting, control_blueprint
from sidecar.sandbox.hubspot import gate
from sidecar.sandbox.hubspot.errors import error
from sidecar.sandbox.hubspot.routes import api_blueprint
from sidecar.sandbox.hubspot.routes_meta import meta_blueprint, sandbox_blueprint
from sidecar.sandbox.hubspot.state import State

SETTINGS = (
    Setting(
        "limits", lambda state: state.limits.settings, ("ten_second_max", "daily_max", "search_per_second")
    ),
    Setting(
        "load",
        lambda state: state.limits.load,
        ("error_rate", "above", "seed"),
        changed=lambda s: s.limits.reseed(),
    ),
    Setting("search", lambda state: state.search, ("lag_seconds",)),
    Setting(
        "batch",
        lambda state: state.batch,
        ("errors", "max_inputs", "conflict_seconds", "order"),
        {"errors": ("multi_status", "whole_batch"), "order": ("input", "reversed")},
    ),
    Setting("account", lambda state: state.account, ("currencies", "scopes_missing")),
)


def create_app(token: str | None = None, portal_id: int | None = None, others: Iterable[str] = ()) -> Flask:
    """``others``: more private-app tokens of the same account (they share its limits)."""
    app = Flask("hubspot_sandbox")
    token = token or os.environ.get("BPM_SANDBOX_HUBSPOT_TOKEN", "pat-na1-sandbox-hubspot-token")
    portal = portal_id or int(os.environ.get("BPM_SANDBOX_HUBSPOT_PORTAL", "144000001"))
    state = State({t: str(portal) for t in (token, *others)}, portal)
    app.extensions["hubspot_sandbox"] = state
    gate.install(app, state)
    app.register_blueprint(api_blueprint(state))
    app.register_blueprint(meta_blueprint(state))
    app.register_blueprint(sandbox_blueprint(state))
    app.register_blueprint(control_blueprint(state, SETTINGS, error))

    @app.errorhandler(404)
    def _missing(_exc: Exception) -> Response:
        return error("Resource not found", 404, "OBJECT_NOT_FOUND")

    @app.errorhandler(405)
    def _method(_exc: Exception) -> Response:
        return error("Method not allowed", 405, "VALIDATION_ERROR")  # UNCONFIRMED wording

    return app
