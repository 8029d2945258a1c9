"""``/sandbox/…``: the simulator's admin API for tests and the demo (no auth; bind it to loopback).

Create orders from a compact spec, refunds, RMAs and outbox rows; read notes, meta, outcomes and the request
log; set the served configuration and the permalink setting; inject faults (e.g. 503 for the next N calls).
Never part of the contract: the plugin has no such routes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask, Response, jsonify, request

from sidecar.sandbox.woo import routes_rma
from sidecar.sandbox.woo.orders import gmt
from sidecar.sandbox.woo.state import Shop, deep_merge
from sidecar.sandbox.woo.wp import WpError


def register(app: Flask, shop: Shop) -> None:
    @app.post("/sandbox/orders")
    def sb_create_order() -> tuple[Response, int]:
        with shop.lock:
            order = shop.create_order(request.get_json(force=True) or {})
            return jsonify(shop.order_view(order["id"])), 201

    @app.post("/sandbox/orders/<int:order_id>/refunds")
    def sb_refund(order_id: int) -> tuple[Response, int]:
        with shop.lock:
            refund = shop.create_refund(order_id, request.get_json(force=True) or {})
            return jsonify({k: v for k, v in refund.items() if not k.startswith("_")}), 201

    @app.post("/sandbox/orders/<int:order_id>/status")
    def sb_status(order_id: int) -> Response:
        with shop.lock:
            order = shop.order(order_id)
            order["status"] = (request.get_json(force=True) or {})["status"]
            shop.touch(order)
            return jsonify({"order_id": order_id, "status": order["status"]})

    @app.get("/sandbox/orders/<int:order_id>")
    def sb_order(order_id: int) -> Response:
        with shop.lock:
            shop.order(order_id)
            return jsonify(
                {
                    "order": shop.order_view(order_id),
                    "notes": shop.notes[order_id],
                    "meta": shop.meta[order_id],
                }
            )

    @app.put("/sandbox/customers/<int:customer_id>/consent")
    def sb_consent(customer_id: int) -> Response:
        """{"granted": bool, "version"?, "at"?, "source"?}: the customer's consent as My Account saves it."""
        with shop.lock:
            return jsonify(shop.set_consent(customer_id, request.get_json(force=True) or {}))

    @app.get("/sandbox/orders/<int:order_id>/notes")
    def sb_notes(order_id: int) -> Response:
        with shop.lock:
            shop.order(order_id)
            return jsonify(shop.notes[order_id])

    @app.route("/sandbox/orders/<int:order_id>/meta", methods=["GET", "PUT"])
    def sb_meta(order_id: int) -> Response:
        with shop.lock:
            shop.order(order_id)
            if request.method == "PUT":
                shop.meta[order_id].update(request.get_json(force=True) or {})
            return jsonify(shop.meta[order_id])

    @app.post("/sandbox/events")
    def sb_event() -> tuple[Response, int]:
        """Register an outbox row (what the plugin does before sending), so outcomes can be recorded."""
        data = request.get_json(force=True) or {}
        with shop.lock:
            row = shop.events.setdefault(
                str(data["id"]),
                {
                    "id": str(data["id"]),
                    "actions": list(data.get("actions", [])),
                    "order_id": data.get("order_id"),
                    "status": "sent",
                    "outcomes": {},
                    "history": [],
                },
            )
            if "actions" in data:
                row["actions"] = list(data["actions"])
            if "order_id" in data:
                row["order_id"] = data["order_id"]
            return jsonify(row), 201

    @app.get("/sandbox/events")
    def sb_events() -> Response:
        with shop.lock:
            return jsonify(list(shop.events.values()))

    @app.get("/sandbox/events/<event_id>")
    def sb_event_get(event_id: str) -> Response:
        with shop.lock:
            if event_id not in shop.events:
                raise WpError(404, "bpm_bridge_event_not_found", "Unknown event.")
            return jsonify(shop.events[event_id])

    @app.post("/sandbox/rmas")
    def sb_rma() -> tuple[Response, int]:
        data = request.get_json(force=True) or {}
        with shop.lock:
            order = shop.order(int(data["order_id"]))
            rma_id = next(shop.rma_ids)
            shop.rmas[rma_id] = {
                "id": rma_id,
                "order_id": order["id"],
                "status": data.get("status", "requested"),
                "items": data.get("items")
                or [
                    {
                        "order_item_id": i["id"],
                        "product_id": i["product_id"],
                        "quantity": i["quantity"],
                        "reason": "other",
                    }
                    for i in order["line_items"][:1]
                ],
                "customer_note": data.get("customer_note", ""),
                "label": data.get("label"),
                "created_at": gmt(datetime.now(UTC)) + "Z",
                # The customer form's choices (Rma::create fields) and the legal deadline.
                "kind": data.get("kind", "withdrawal"),
                "method": data.get("method", "locker"),
                "point": data.get("point", ""),
                "due_at": data.get("due_at") or gmt(datetime.now(UTC) + timedelta(days=14)) + "Z",
                "meta": dict(data.get("meta") or {}),
                "timeline": [],
            }
            routes_rma.log(shop.rmas[rma_id], "requested", "Return requested.", "customer")
            return jsonify(shop.rmas[rma_id]), 201

    @app.get("/sandbox/rmas/<int:rma_id>")
    def sb_rma_get(rma_id: int) -> Response:
        with shop.lock:
            return jsonify(shop.rma(rma_id))

    @app.post("/sandbox/rmas/<int:rma_id>/status")
    def sb_rma_status(rma_id: int) -> Response:
        """Staff move a return in wp-admin (approve, mark received, refunded): ``{"status", "note"}``."""
        data = request.get_json(force=True) or {}
        to, note = str(data.get("status") or ""), str(data.get("note") or "")
        with shop.lock:
            rma = shop.rma(rma_id)
            result = shop.rma_status(rma_id, rma["status"], to, note)
            routes_rma.log(rma, to, note or f"Status changed to {to}.", "staff")
            return jsonify(result)

    @app.route("/sandbox/config", methods=["GET", "PUT"])
    def sb_config() -> Response:
        with shop.lock:
            if request.method == "PUT":
                deep_merge(shop.config, request.get_json(force=True) or {})
                shop.config["version"] = int(shop.config.get("version", 0)) + 1
            return jsonify(shop.config)

    @app.route("/sandbox/faults", methods=["GET", "POST", "DELETE"])
    def sb_faults() -> Response:
        """POST {"status": 503, "count": 2, "path": "/wp-json/bpm-bridge/v1/events", "retry_after": 30}."""
        with shop.lock:
            if request.method == "POST":
                data = request.get_json(force=True) or {}
                shop.faults.append(
                    {
                        "status": int(data.get("status", 503)),
                        "remaining": int(data.get("count", 1)),
                        "path": data.get("path", "/"),
                        "retry_after": data.get("retry_after"),
                    }
                )
            elif request.method == "DELETE":
                shop.faults.clear()
            return jsonify(shop.faults)

    @app.get("/sandbox/requests")
    def sb_requests() -> Response:
        with shop.lock:
            return jsonify(shop.requests)

    @app.route("/sandbox/permalinks", methods=["GET", "PUT"])
    def sb_permalinks() -> Response:
        """PUT {"structure": "plain"}: /wp-json/ is not routed (an HTML 404); ?rest_route= is."""
        with shop.lock:
            if request.method == "PUT":
                structure = (request.get_json(force=True) or {}).get("structure")
                if structure not in ("plain", "pretty"):
                    raise WpError(400, "sandbox_invalid", "structure is plain or pretty.")
                shop.permalinks = structure
            return jsonify({"structure": shop.permalinks})
