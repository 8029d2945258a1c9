"""The plugin's erasure routes (includes/rest/class-privacy-controller.php), with the same argument schemas.

- ``GET erasures/{request_id}``: ``{request_id, email, status, outcomes}`` of a WordPress erasure request
  (``remove_personal_data``) while it is open and for 30 days after it was completed; else 404
  ``bpm_bridge_erasure_not_found``. ``outcomes`` is what the sidecar reported so far
  (destination → ``{status, message, at}``), so a retried erasure knows what is done;
- ``POST erasures/{request_id}/outcome {destination, status: done|failed|skipped, message}``: the latest
  report per destination wins; answers ``{request_id, outcomes}``.

Sandbox-only: ``POST /sandbox/erasures {email, status?, completed_days_ago?}`` files a request (what
Tools → Erase Personal Data does), ``GET /sandbox/erasures/{id}`` shows it with every report received,
``DELETE /sandbox/erasures/{id}`` removes it (one whose CRM erasure is unfinished stays readable as
``status: "deleted"``, as the plugin keeps it).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify, request

from sidecar.sandbox.woo.state import Shop
from sidecar.sandbox.woo.wp import Schema, WpError, strip_tags

Route = Callable[[str, str, Mapping[str, Schema] | None], Callable[[Callable[..., Any]], Any]]
STATUSES = ("pending", "confirmed", "failed", "completed")
OUTCOMES = ("done", "failed", "skipped")
FINISHED = ("done", "skipped")
AFTER_COMPLETION = timedelta(days=30)
NOT_FOUND = "No open erasure request with this id."


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def register(app: Flask, route: Route, shop: Shop) -> None:
    erasures: dict[int, dict[str, Any]] = {}
    ids = itertools.count(9001)  # user_request posts share the posts table: ids far from the orders'

    def open_request(request_id: int) -> dict[str, Any]:
        found = erasures.get(request_id)
        gone = found is None or (
            found["status"] == "completed" and datetime.now(UTC) - found["_completed"] > AFTER_COMPLETION
        )
        if gone or found is None:
            raise WpError(404, "bpm_bridge_erasure_not_found", NOT_FOUND)
        return found

    request_id_arg: dict[str, Schema] = {"request_id": {"type": "integer", "minimum": 1, "required": True}}

    @route("/erasures/<int:request_id>", "GET", request_id_arg)
    def get_erasure(a: dict[str, Any]) -> Response:
        found = open_request(a["request_id"])
        return jsonify(
            {
                "request_id": found["request_id"],
                "email": found["email"],
                "status": found["status"],
                "outcomes": dict(sorted(found["outcomes"].items())),
            }
        )

    outcome_args: dict[str, Schema] = {
        **request_id_arg,
        "destination": {"type": "string", "required": True, "pattern": r"^[a-z0-9_-]{1,40}\Z"},
        "status": {"type": "string", "required": True, "enum": list(OUTCOMES)},
        "message": {"type": "string", "default": "", "maxLength": 1000},
    }

    @route("/erasures/<int:request_id>/outcome", "POST", outcome_args)
    def record_outcome(a: dict[str, Any]) -> Response:
        found = open_request(a["request_id"])
        entry = {"status": a["status"], "message": strip_tags(a["message"]), "at": _stamp(datetime.now(UTC))}
        found["outcomes"][a["destination"]] = entry
        found["_reports"].append({"destination": a["destination"], **entry})
        return jsonify(
            {"request_id": found["request_id"], "outcomes": dict(sorted(found["outcomes"].items()))}
        )

    @app.post("/sandbox/erasures")
    def sb_erasure() -> tuple[Response, int]:
        data = request.get_json(force=True) or {}
        status = str(data.get("status") or "confirmed")
        if status not in STATUSES or not str(data.get("email") or "").strip():
            raise WpError(
                400, "sandbox_invalid", "email is required; status is one of " + ", ".join(STATUSES)
            )
        days = float(data.get("completed_days_ago") or 0)
        with shop.lock:
            request_id = next(ids)
            erasures[request_id] = {
                "request_id": request_id,
                "email": str(data["email"]).strip().lower(),
                "status": status,
                "outcomes": {},
                "_reports": [],
                "_completed": datetime.now(UTC) - timedelta(days=days),
            }
            return jsonify({"request_id": request_id, "email": erasures[request_id]["email"]}), 201

    @app.delete("/sandbox/erasures/<int:request_id>")
    def sb_erasure_delete(request_id: int) -> Response:
        """Tools → Erase Personal Data → Remove request: one whose CRM erasure is not finished (no report,
        or one not done/skipped) stays readable as status "deleted" (the plugin keeps it 30 days)."""
        with shop.lock:
            found = erasures.get(request_id)
            if found is None:
                raise WpError(404, "bpm_bridge_erasure_not_found", NOT_FOUND)
            reports = found["outcomes"].values()
            finished = bool(reports) and all(o["status"] in FINISHED for o in reports)
            if finished:
                del erasures[request_id]
            else:
                found["status"] = "deleted"
            return jsonify({"request_id": request_id, "kept": not finished})

    @app.get("/sandbox/erasures/<int:request_id>")
    def sb_erasure_get(request_id: int) -> Response:
        with shop.lock:
            found = erasures.get(request_id)
            if found is None:
                raise WpError(404, "bpm_bridge_erasure_not_found", NOT_FOUND)
            view = {k: v for k, v in found.items() if not k.startswith("_")}
            return jsonify({**view, "reports": list(found["_reports"])})
