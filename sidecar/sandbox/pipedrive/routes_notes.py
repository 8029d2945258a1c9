"""Pipedrive's notes (``/api/v1/notes``: notes have no v2 endpoints): HTML content attached to a deal,
person or organization; listed by ``deal_id`` with v1's ``start``/``limit`` pagination, updated with PUT."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from sidecar.sandbox.pipedrive.rules import error
from sidecar.sandbox.pipedrive.state import State, now_iso

V1 = "/api/v1"
FLAGS = ("pinned_to_deal_flag", "pinned_to_person_flag", "pinned_to_organization_flag")


def _ok(data: Any, additional: dict[str, Any] | None = None) -> Response:
    return jsonify({"success": True, "data": data, "additional_data": additional})


def notes_blueprint(state: State) -> Blueprint:
    api = Blueprint("pipedrive_notes", __name__)

    @api.get(f"{V1}/notes")
    def list_notes() -> Response:
        try:
            start = int(request.args.get("start", 0))
            limit = min(500, max(1, int(request.args.get("limit", 100))))
        except ValueError:
            return error("start and limit must be integers", 400)
        deal_id = request.args.get("deal_id")
        with state.lock:
            rows = [n for n in state.notes.values() if deal_id is None or str(n["deal_id"]) == deal_id]
        rows.sort(key=lambda n: n["id"])
        chunk = rows[start : start + limit]
        more = start + limit < len(rows)
        page = {"start": start, "limit": limit, "more_items_in_collection": more}
        if more:
            page["next_start"] = start + limit
        return _ok(chunk or None, {"pagination": page})

    @api.post(f"{V1}/notes")
    def add_note() -> Response:
        body = request.get_json(silent=True) or {}
        content = body.get("content")
        if not isinstance(content, str) or not content.strip():
            return error("Content cannot be empty", 400)
        deal_id = body.get("deal_id")
        if deal_id is None and body.get("person_id") is None and body.get("org_id") is None:
            return error("Note must be attached to a deal, person, organization or lead", 400)
        with state.lock:
            if deal_id is not None and state.get("deals", int(deal_id)) is None:
                return error("Deal not found", 404)
            note_id = state._next("notes")
            stamp = now_iso().replace("T", " ").rstrip("Z")  # v1 writes "YYYY-MM-DD HH:MM:SS"
            note = {
                "id": note_id,
                "content": content,
                "deal_id": deal_id,
                "person_id": body.get("person_id"),
                "org_id": body.get("org_id"),
                "add_time": stamp,
                "update_time": stamp,
                "active_flag": True,
                **{flag: bool(body.get(flag)) for flag in FLAGS},
            }
            state.notes[note_id] = note
            return _ok(note)

    @api.put(f"{V1}/notes/<int:note_id>")
    def update_note(note_id: int) -> Response:
        body = request.get_json(silent=True) or {}
        with state.lock:
            note = state.notes.get(note_id)
            if note is None:
                return error("Note not found", 404)
            if "content" in body:
                if not isinstance(body["content"], str) or not body["content"].strip():
                    return error("Content cannot be empty", 400)
                note["content"] = body["content"]
            note.update({flag: bool(body[flag]) for flag in FLAGS if flag in body})
            note["update_time"] = now_iso().replace("T", " ").rstrip("Z")
            return _ok(note)

    return api
