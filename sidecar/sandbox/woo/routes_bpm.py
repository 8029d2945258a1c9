"""The plugin's ``bpm-bridge/v1`` routes (docs/contract.md §3), with the plugin's argument schemas.

Each route is declared once: path, method, argument schema (checked before the permission callback, as
WordPress does) and a handler that runs under the shop's lock with the checked arguments. Limits, meta
keys, statuses and transitions come from the contract.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, jsonify, request

from sidecar import contract
from sidecar.sandbox.woo import routes_privacy, routes_rma
from sidecar.sandbox.woo.guard import NAMESPACE, REST_PREFIX, permission
from sidecar.sandbox.woo.state import Shop
from sidecar.sandbox.woo.wp import Schema, WpError, check_args, invalid, parse_rest_date, strip_tags

Handler = Callable[[dict[str, Any]], Any]
EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ACTION = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
MAX_DETAILS_DEPTH = 32
MAX_JSON_DEPTH = 512  # PHP's json_decode() default: deeper is invalid JSON to WordPress
INVALID = object()


def _id(name: str) -> dict[str, Schema]:
    return {name: {"type": "integer", "minimum": 1, "required": True}}


def _meta(required: bool) -> Schema:
    value = {"type": "string", "maxLength": contract.limit("max_meta_value_chars")}
    return {
        "type": "object",
        "additionalProperties": value,
        **({"required": True} if required else {"default": {}}),
    }


def _note_text() -> dict[str, Any]:
    return {"type": "string", "required": True, "minLength": 1, "maxLength": contract.limit("max_note_chars")}


def _optional_note() -> Schema:
    return {"type": "string", "default": "", "maxLength": contract.limit("max_note_chars")}


def _status_arg() -> Schema:
    return {"type": "string", "required": True, "pattern": r"^(wc-)?[a-z0-9_-]{1,40}$"}


def _outcome_properties() -> dict[str, Any]:
    return {
        "action": {"type": "string", "required": True, "pattern": ACTION},
        "status": {"type": "string", "required": True, "enum": list(contract.outcome_statuses())},
        "message": {"type": "string", "default": ""},
        "details": {"type": ["object", "null"], "default": {}},
        "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
    }


def _empty_note(value: Any) -> str | None:
    return (
        "note is empty once markup is removed." if isinstance(value, str) and not strip_tags(value) else None
    )


def _missing_meta(value: Any) -> str | None:
    ok = value is None or value in contract.order_meta_keys()
    return None if ok else "missing_meta must be null or an allow-listed meta key."


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def check_meta(meta: Mapping[str, str], expect: Mapping[str, str]) -> None:
    """Order_Input::check_meta: the allow-list first (nothing written), then each value's rule."""
    bad = [k for k in dict.fromkeys([*meta, *expect]) if k not in contract.order_meta_keys()]
    if bad:
        raise WpError(
            400,
            "bpm_bridge_meta_not_allowed",
            f"These meta keys may not be written: {', '.join(bad)}.",
            keys=bad,
        )
    for key, value in meta.items():
        if value == "":
            continue
        rule = VALUE_RULES.get(key)
        if rule and not rule[0](value):
            raise WpError(400, "rest_invalid_param", rule[1], params={"meta": key})


def _is_corrections_map(value: str) -> bool:
    try:
        decoded = json.loads(value)
    except ValueError:
        return False
    return isinstance(decoded, dict) and all(isinstance(v, dict) for v in decoded.values())


# Order_Input::invalid_meta_value(): keys whose values have a shape (key -> (check, message)).
VALUE_RULES: dict[str, tuple[Callable[[str], bool], str]] = {
    "_bpm_invoice_url": (
        lambda v: bool(re.match(r"^https?://\S+$", v)),
        "_bpm_invoice_url must be an http(s) URL.",
    ),
    "_bpm_corrections": (_is_corrections_map, "_bpm_corrections must be a JSON object."),
}


def prepare_outcome(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """Events_Controller::prepare: details within depth and size, the message cleaned and cut."""
    details = outcome.get("details") or {}
    if _depth(details) > MAX_DETAILS_DEPTH:
        raise invalid("details", "details is nested too deeply.")
    if len(json.dumps(details, separators=(",", ":"))) > contract.limit("max_outcome_details_bytes"):
        raise invalid("details", "details is larger than 16 KiB.")
    nxt = outcome.get("next_attempt_at")
    return {
        "event_id": str(outcome["event_id"]),
        "action": outcome["action"],
        "status": outcome["status"],
        "message": strip_tags(str(outcome.get("message") or ""))[
            : contract.limit("max_outcome_message_chars")
        ],
        "details": details,
        "next_attempt_at": nxt if isinstance(nxt, str) and nxt else None,
    }


def register(app: Flask, shop: Shop) -> None:
    def route(
        rule: str, method: str, args: Mapping[str, Schema] | None = None
    ) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            def view(**path: Any) -> Any:
                if "event_id" in path and not EVENT_ID.match(path["event_id"]):
                    raise WpError(
                        404, "rest_no_route", "No route was found matching the URL and request method."
                    )
                checked = check_args(args or {}, {**_body(), **path})
                permission(shop)
                with shop.lock:
                    return handler(checked)

            app.add_url_rule(
                REST_PREFIX + NAMESPACE + rule, f"bpm_{handler.__name__}", view, methods=[method]
            )
            return handler

        return decorator

    @app.get(REST_PREFIX + NAMESPACE)
    def namespace_index() -> Response:
        """WordPress' namespace index: public (no permission callback), only the plugin's first stage."""
        routes = sorted(
            str(r.rule)[len(REST_PREFIX) :]
            for r in app.url_map.iter_rules()
            if str(r.rule).startswith(REST_PREFIX + NAMESPACE)
        )
        return jsonify({"namespace": NAMESPACE.strip("/"), "routes": {r: {} for r in routes}})

    @route("/config", "GET")
    def config(_: dict[str, Any]) -> Response:
        response = jsonify(shop.config)
        response.headers["Cache-Control"] = "no-store"
        return response

    @route("/orders/<int:order_id>", "GET", _id("order_id"))
    def get_order(a: dict[str, Any]) -> Response:
        oid = shop.order(a["order_id"])["id"]
        return jsonify(
            {
                "order": shop.order_view(oid),
                "meta": shop.meta_values(oid),
                "refunds": shop.refund_views(oid),
                "consent": shop.consent_view(oid),
            }
        )

    apply_args = {
        **_id("order_id"),
        "meta": _meta(False),
        "expect": _meta(False),
        "note": {
            "type": ["object", "null"],
            "default": None,
            "properties": {"note": _note_text(), "customer_note": {"type": "boolean"}},
            "additionalProperties": False,
        },
        "outcome": {
            "type": ["object", "null"],
            "default": None,
            "properties": {
                "event_id": {"type": "string", "required": True, "pattern": EVENT_ID.pattern},
                **_outcome_properties(),
            },
            "additionalProperties": False,
        },
    }

    @route("/orders/<int:order_id>/apply", "POST", apply_args)
    def apply(a: dict[str, Any]) -> Response:
        meta, expect, note, outcome, oid = a["meta"], a["expect"], a["note"], a["outcome"], a["order_id"]
        if not meta and note is None and outcome is None:
            raise WpError(400, "bpm_bridge_nothing_to_apply", "Send at least one of meta, note and outcome.")
        check_meta(meta, expect)
        text = None
        if note is not None:
            text = strip_tags(note.get("note", ""))
            if not text:
                raise invalid("note", "empty")
        prepared = None
        if outcome is not None:
            prepared = prepare_outcome(outcome)
            row = shop.event_row(prepared["event_id"])
            if row.get("order_id") and int(row["order_id"]) != oid:
                raise WpError(
                    400,
                    "bpm_bridge_event_order_mismatch",
                    "This event belongs to another order.",
                    order_id=row["order_id"],
                )
        shop.order(oid)
        conflict = shop.meta_conflict(oid, expect)
        if conflict:
            raise conflict
        shop.write_meta(oid, meta)
        note_id = shop.add_note(oid, text, bool(note.get("customer_note"))) if text is not None else None
        recorded = None
        if prepared is not None:
            row = shop.record_outcome(prepared["event_id"], {**prepared, "order_id": oid})
            recorded = {"event_id": prepared["event_id"], "status": row["status"]}
        return jsonify(
            {"order_id": oid, "meta": shop.meta_values(oid), "note_id": note_id, "outcome": recorded}
        )

    search_args: dict[str, Schema] = {
        "statuses": {
            "type": "array",
            "default": ["processing", "completed"],
            "minItems": 1,
            "maxItems": 20,
            "items": {"type": "string", "pattern": r"^[a-z0-9_-]{1,40}$"},
        },
        "modified_after": {"type": ["string", "null"], "format": "date-time"},
        "modified_before": {"type": ["string", "null"], "format": "date-time"},
        "page": {"type": "integer", "default": 1, "minimum": 1},
        "per_page": {"type": "integer", "default": 100, "minimum": 1, "maximum": 100},
        "missing_meta": {"type": ["string", "null"], "check": _missing_meta},
    }

    @route("/orders/search", "POST", search_args)
    def search(a: dict[str, Any]) -> Response:
        query = {
            **a,
            "missing_meta": a.get("missing_meta"),
            "modified_after": parse_rest_date(a["modified_after"]) if a.get("modified_after") else None,
            "modified_before": parse_rest_date(a["modified_before"]) if a.get("modified_before") else None,
        }
        return jsonify(shop.search(query))

    note_args = {
        **_id("order_id"),
        "note": {**_note_text(), "check": _empty_note},
        "customer_note": {"type": "boolean", "default": False},
    }

    @route("/orders/<int:order_id>/notes", "POST", note_args)
    def add_note(a: dict[str, Any]) -> tuple[Response, int]:
        oid = shop.order(a["order_id"])["id"]
        note_id = shop.add_note(oid, strip_tags(a["note"]), a["customer_note"])
        return jsonify({"note_id": note_id, "order_id": oid}), 201

    @route("/orders/<int:order_id>/meta", "GET", _id("order_id"))
    def get_meta(a: dict[str, Any]) -> Response:
        oid = shop.order(a["order_id"])["id"]
        return jsonify({"order_id": oid, "meta": shop.meta_values(oid)})

    @route(
        "/orders/<int:order_id>/meta",
        "POST",
        {**_id("order_id"), "meta": _meta(True), "expect": _meta(False)},
    )
    def set_meta(a: dict[str, Any]) -> Response:
        check_meta(a["meta"], a["expect"])
        oid = shop.order(a["order_id"])["id"]
        conflict = shop.meta_conflict(oid, a["expect"])
        if conflict:
            raise conflict
        shop.write_meta(oid, a["meta"])
        return jsonify({"order_id": oid, "meta": shop.meta_values(oid)})

    status_args = {**_id("order_id"), "from": _status_arg(), "to": _status_arg(), "note": _optional_note()}

    @route("/orders/<int:order_id>/status", "POST", status_args)
    def set_status(a: dict[str, Any]) -> Response:
        frm, to = (a[k][3:] if a[k].startswith("wc-") else a[k] for k in ("from", "to"))
        status = shop.set_status(a["order_id"], frm, to, strip_tags(a["note"]))
        return jsonify({"order_id": a["order_id"], "status": status})

    outcome_args = {
        "event_id": {"type": "string"},
        **_outcome_properties(),
        "order_id": {"type": ["integer", "null"], "minimum": 1},
    }

    @route("/events/<event_id>/outcome", "POST", outcome_args)
    def outcome(a: dict[str, Any]) -> Response:
        prepared = prepare_outcome(a)
        row = shop.record_outcome(prepared["event_id"], {**prepared, "order_id": a.get("order_id")})
        return jsonify({"event_id": prepared["event_id"], "status": row["status"]})

    routes_rma.register(route, shop)
    routes_privacy.register(app, route, shop)


def _body() -> dict[str, Any]:
    """The JSON body's parameters (WordPress: invalid JSON is a 400 before anything else is checked)."""
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        data = INVALID
    if data is INVALID or _depth(data) > MAX_JSON_DEPTH:
        raise WpError(400, "rest_invalid_json", "Invalid JSON body passed.")
    return data if isinstance(data, dict) else {}
