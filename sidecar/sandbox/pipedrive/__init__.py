"""Pipedrive API simulator (v2), faithful to the project's Pipedrive notes (returns_crm.md §2.3).

Layout as for every simulator: ``rules`` — what a body must hold and Pipedrive's error envelope;
``state`` — one company account (persons, organizations, deals, products, products on deals, pipelines and
stages, the search index's lag, the burst limit, the plan cap, faults); ``routes`` — the HTTP API; the shared
control API comes from :mod:`sidecar.sandbox.control`.

What it checks and answers as the notes document:
- the API token as the ``x-api-token`` header (v2) or the legacy ``?api_token=`` query; otherwise 401
  ``{"success": false, "error": "unauthorized access", "errorCode": 401, "error_info", "data": null,
  "additional_data": null}``;
- ``GET /api/v2/{persons|organizations|deals|products}/search?term=&fields=&exact_match=`` →
  ``{success, data: {items: [{result_score, item}]}, additional_data: {next_cursor}}`` (exact matches are
  case-insensitive; ``person_id``/``organization_id``/``status`` filters on deals) with **search lag**: a
  record created less than ``search.lag_seconds`` ago is not found yet, as the index catches up (a changed
  record is found at once, with its new values);
- ``POST`` / ``GET`` / ``PATCH`` / ``DELETE`` on ``/api/v2/{kind}/{id}``: bodies validated against the v2
  schema (required fields, types, e-mail labels, unknown fields refused) → 400 ``success: false``; a deleted
  record is 404; deleting a person leaves its deals without a person;
- ``GET /api/v2/{kind}?updated_since=&sort_by=id|update_time|add_time&sort_direction=`` lists the records
  themselves (no search lag; persons and deals filter by ``org_id``; products take no ``updated_since``);
- v1 notes (``routes_notes``): ``GET /api/v1/notes?deal_id=``, ``POST /api/v1/notes`` (content and a deal,
  person or organization required), ``PUT /api/v1/notes/{id}``;
- deals: ``person_id``/``org_id`` must exist, ``stage_id`` must exist (and belong to ``pipeline_id`` when
  both are given; a stage names its pipeline), ``status`` open|won|lost; an open deal over the plan's cap is
  403 with ``code: "feature_capping_deals_limit"``;
- products on a deal: ``GET|POST /api/v2/deals/{id}/products``, ``PATCH|DELETE …/products/{attachment}``
  (``product_id``, ``item_price``, ``quantity`` required; the product must exist);
- ``GET /api/v2/pipelines``, ``/api/v2/stages?pipeline_id=`` (v2 has both since 2025; older documentation
  shows them in v1 only, so ``GET /api/v1/pipelines`` and ``/api/v1/stages`` answer too, in v1's shape; a new
  account has one pipeline with five stages);
- the burst limit per token: every answer carries ``x-ratelimit-limit``, ``x-ratelimit-remaining`` and
  ``x-ratelimit-reset`` (seconds), a request over it is 429 with ``Retry-After`` — the header names are the
  ones Pipedrive documented for its request-based limits and are **UNCONFIRMED** for the token-based
  budget; ``x-daily-requests-left`` when ``limits.daily_left`` is set.

Sandbox-only endpoints under ``/_sandbox/``: ``GET documents`` (every record incl. deleted ones, counts,
what DELETE removed), ``POST faults`` (503, 500, 429, latency, ``drop_after_commit``), ``POST search``
(lag_seconds), ``POST limits`` (max, window_seconds, daily_left), ``POST plan`` (deals_limit),
``POST api`` (v2_pipelines: false = pipelines and stages in v1 only), ``POST pipelines`` (``{"name",
"stages": [names]}`` → a new pipeline), ``POST reset``.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask, Response, jsonify, request

from sidecar.sandbox.control import Setting, control_blueprint
from sidecar.sandbox.pipedrive.routes import api_blueprint
from sidecar.sandbox.pipedrive.routes_notes import notes_blueprint
from sidecar.sandbox.pipedrive.rules import error
from sidecar.sandbox.pipedrive.state import State

SETTINGS = (
    Setting("search", lambda state: state.search, ("lag_seconds",)),
    Setting("limits", lambda state: state.limits, ("max", "window_seconds", "daily_left")),
    Setting("plan", lambda state: state.plan, ("deals_limit",)),
    Setting("api", lambda state: state.api, ("v2_pipelines",)),
)


def _pipelines_blueprint(state: State) -> Blueprint:
    extra = Blueprint("pipedrive_sandbox", __name__, url_prefix="/_sandbox")

    @extra.post("/pipelines")
    def add_pipeline() -> Response:
        body = request.get_json(silent=True) or {}
        names = body.get("stages") or []
        if not body.get("name") or not names or not all(isinstance(n, str) and n for n in names):
            return error("name and stages (a list of names) are required", 400)
        with state.lock:
            pipeline_id = state.add_pipeline(str(body["name"]), [(n, 100) for n in names])
            stages = [s for s in state.stages.values() if s["pipeline_id"] == pipeline_id]
            return jsonify({"pipeline": state.pipelines[pipeline_id], "stages": stages})

    return extra


def create_app(token: str | None = None, domain: str | None = None) -> Flask:
    app = Flask("pipedrive_sandbox")
    state = State(
        token or os.environ.get("BPM_SANDBOX_PIPEDRIVE_TOKEN", "sandbox-pipedrive-token"),
        domain or os.environ.get("BPM_SANDBOX_PIPEDRIVE_DOMAIN", "sandbox"),
    )
    app.extensions["pipedrive_sandbox"] = state
    app.register_blueprint(api_blueprint(state))
    app.register_blueprint(notes_blueprint(state))
    app.register_blueprint(control_blueprint(state, SETTINGS, lambda message, status: error(message, status)))
    app.register_blueprint(_pipelines_blueprint(state))

    @app.errorhandler(404)
    def _missing(_exc: Exception) -> Response:
        return error("Unknown method .", 404)  # UNCONFIRMED wording of an unknown route

    @app.errorhandler(405)
    def _method(_exc: Exception) -> Response:
        return error("Method not allowed", 405)

    return app
