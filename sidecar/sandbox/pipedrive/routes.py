"""Pipedrive's API routes (``/api/v2/…``) over one :class:`~sidecar.sandbox.pipedrive.state.State`."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from sidecar.sandbox.faults import lost_response
from sidecar.sandbox.pipedrive.rules import error, list_args, search_args, validate
from sidecar.sandbox.pipedrive.state import State, public

V2 = "/api/v2"
MAX_LIMIT = 500
SEARCH_FIELDS = {
    "persons": ("name", "email", "phone", "notes", "custom_fields"),
    "organizations": ("name", "address", "notes", "custom_fields"),
    "deals": ("title", "notes", "custom_fields"),
    "products": ("name", "code", "custom_fields"),
}
SINGULAR = {"persons": "person", "organizations": "organization", "deals": "deal", "products": "product"}
NOT_FOUND = {"persons": "Person", "organizations": "Organization", "deals": "Deal", "products": "Product"}
CAP_MESSAGE = "You have reached the limit of open deals allowed on your plan"  # wording UNCONFIRMED


def ok(data: Any, additional: Mapping[str, Any] | None = None, status: int = 200) -> Response:
    body: dict[str, Any] = {"success": True, "data": data}
    if additional is not None:
        body["additional_data"] = dict(additional)
    response = jsonify(body)
    response.status_code = status
    return response


def _page(items: list[Any]) -> tuple[list[Any], str | None] | Response:
    try:
        limit = min(MAX_LIMIT, max(1, int(request.args.get("limit", 100))))
        cursor = request.args.get("cursor")
        start = int(base64.b64decode(cursor).decode()) if cursor else 0
    except (ValueError, UnicodeDecodeError):
        return error("Validation failed: cursor or limit is invalid", 400)
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return chunk, base64.b64encode(str(start + limit).encode()).decode() if more else None


def search_item(state: State, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as search results show it (v2 ``…/search`` items: flat strings, nested owner/links)."""
    base = {
        "id": record["id"],
        "type": SINGULAR[kind],
        "visible_to": record["visible_to"],
        "owner": {"id": record["owner_id"]},
        "custom_fields": [],
    }
    if kind == "persons":
        org = state.get("organizations", record["org_id"]) if record.get("org_id") else None
        return {
            **base,
            "name": record["name"],
            "emails": [e["value"] for e in record["emails"]],
            "phones": [p["value"] for p in record["phones"]],
            "organization": {"id": org["id"], "name": org["name"], "address": None} if org else None,
            "notes": [],
            "update_time": record["update_time"],
        }
    if kind == "deals":
        person = state.get("persons", record["person_id"]) if record.get("person_id") else None
        stage = state.stages.get(record["stage_id"]) or {}
        return {
            **base,
            "title": record["title"],
            "value": record["value"],
            "currency": record["currency"],
            "status": record["status"],
            "stage": {"id": record["stage_id"], "name": stage.get("name")},
            "person": {"id": person["id"], "name": person["name"]} if person else None,
            "organization": {"id": record["org_id"]} if record.get("org_id") else None,
            "notes": [],
        }
    if kind == "products":
        return {**base, "name": record["name"], "code": record.get("code")}
    return {**base, "name": record["name"], "address": record.get("address"), "notes": []}


def api_blueprint(state: State) -> Blueprint:
    api = Blueprint("pipedrive_api", __name__)

    @api.before_app_request
    def _guard() -> Response | None:
        if request.path.startswith("/_sandbox/"):
            return None
        fault = state.faults.before()
        if fault is not None:
            return fault
        offered = request.headers.get("x-api-token") or request.args.get("api_token") or ""
        if not offered or not secrets.compare_digest(offered, state.token):
            return error("unauthorized access", 401, errorCode=401)
        with state.lock:
            slot = state.take_slot()
        g.slot = slot
        if slot is not None and slot[1] < 0:
            response = error("Request over limit", 429, errorCode=429)
            response.headers["Retry-After"] = str(max(1, round(slot[2])))
            return response
        return None

    @api.after_app_request
    def _headers(response: Response) -> Response:
        slot = g.get("slot")
        if slot is not None:  # header names UNCONFIRMED for the token-based limits (see the package doc)
            most, remaining, reset = slot
            response.headers["x-ratelimit-limit"] = str(most)
            response.headers["x-ratelimit-remaining"] = str(max(remaining, 0))
            response.headers["x-ratelimit-reset"] = str(max(1, round(reset)))
        if state.limits.get("daily_left") is not None:
            response.headers["x-daily-requests-left"] = str(state.limits["daily_left"])
        return response

    def body() -> Any:
        return request.get_json(silent=True)

    def committed(response: Response) -> Response:
        return lost_response() if state.faults.drop_after_commit() else response

    def crud(
        kind: str, links: Callable[[Mapping[str, Any], Mapping[str, Any] | None], Response | None]
    ) -> None:
        noun = SINGULAR[kind]

        def find(record_id: int) -> dict[str, Any] | Response:
            record = state.get(kind, record_id)
            return record if record is not None else error(f"{NOT_FOUND[kind]} not found", 404)

        def create() -> Response:
            data = body()
            problem = validate(noun, data, create=True)
            if problem:
                return error(problem, 400)
            with state.lock:
                refused = links(data, None)
                if refused is not None:
                    return refused
                record = state.create(kind, data)
                return committed(ok(public(record)))

        def show(record_id: int) -> Response:
            with state.lock:
                record = find(record_id)
                return record if isinstance(record, Response) else ok(public(record))

        def patch(record_id: int) -> Response:
            data = body()
            problem = validate(noun, data, create=False)
            if problem:
                return error(problem, 400)
            with state.lock:
                record = find(record_id)
                if isinstance(record, Response):
                    return record
                refused = links(data, record)
                if refused is not None:
                    return refused
                return committed(ok(public(state.update(kind, record, data))))

        def remove(record_id: int) -> Response:
            with state.lock:
                record = find(record_id)
                if isinstance(record, Response):
                    return record
                state.delete(kind, record)
                return committed(ok({"id": record_id}))

        def search() -> Response:
            parsed = search_args(request.args, SEARCH_FIELDS[kind])
            if isinstance(parsed, str):
                return error(parsed, 400)
            term, fields, exact = parsed
            filters: dict[str, Any] = {}
            for arg, key in (("person_id", "person_id"), ("organization_id", "org_id")):
                if request.args.get(arg):
                    filters[key] = int(request.args[arg])
            if kind == "deals" and request.args.get("status"):
                filters["status"] = request.args["status"]
            with state.lock:
                found = state.find(kind, term, fields, exact, **filters)
                items = [{"result_score": s, "item": search_item(state, kind, r)} for s, r in found]
            paged = _page(items)
            if isinstance(paged, Response):
                return paged
            chunk, cursor = paged
            return ok({"items": chunk}, {"next_cursor": cursor})

        def listing() -> Response:
            parsed = list_args(request.args, kind)
            if isinstance(parsed, str):
                return error(parsed, 400)
            since, sort_by, descending = parsed
            since_at = since.split(".")[0].rstrip("Z") if since else ""
            with state.lock:
                org = request.args.get("org_id") if kind in ("persons", "deals") else None
                rows = [
                    public(r)
                    for r in state.records[kind].values()
                    if not r["is_deleted"]
                    and str(r["update_time"]).rstrip("Z") >= since_at
                    and (org is None or str(r.get("org_id")) == org)
                ]
            rows.sort(key=lambda r: (r[sort_by], r["id"]), reverse=descending)
            paged = _page(rows)
            if isinstance(paged, Response):
                return paged
            chunk, cursor = paged
            return ok(chunk, {"next_cursor": cursor})

        api.add_url_rule(f"{V2}/{kind}/search", f"{kind}_search", search, methods=["GET"])
        api.add_url_rule(f"{V2}/{kind}", f"{kind}_list", listing, methods=["GET"])
        api.add_url_rule(f"{V2}/{kind}", f"{kind}_create", create, methods=["POST"])
        api.add_url_rule(f"{V2}/{kind}/<int:record_id>", f"{kind}_show", show, methods=["GET"])
        api.add_url_rule(f"{V2}/{kind}/<int:record_id>", f"{kind}_patch", patch, methods=["PATCH"])
        api.add_url_rule(f"{V2}/{kind}/<int:record_id>", f"{kind}_delete", remove, methods=["DELETE"])

    def exists(kind: str, field: str, value: Any) -> Response | None:
        if value is not None and state.get(kind, int(value)) is None:
            return error(f"Validation failed: {field}: {NOT_FOUND[kind]} with id {value} not found", 400)
        return None

    def person_links(data: Mapping[str, Any], _record: Mapping[str, Any] | None) -> Response | None:
        return exists("organizations", "org_id", data.get("org_id"))

    def deal_links(data: Mapping[str, Any], record: Mapping[str, Any] | None) -> Response | None:
        for kind, field in (("persons", "person_id"), ("organizations", "org_id")):
            refused = exists(kind, field, data.get(field))
            if refused is not None:
                return refused
        pipeline_id = data.get("pipeline_id") or (record or {}).get("pipeline_id")
        if data.get("pipeline_id") is not None and data["pipeline_id"] not in state.pipelines:
            return error(
                f"Validation failed: pipeline_id: Pipeline with id {data['pipeline_id']} not found", 400
            )
        stage_id = data.get("stage_id")
        if stage_id is not None:
            stage = state.stages.get(stage_id)
            if stage is None:
                return error(f"Validation failed: stage_id: Stage with id {stage_id} not found", 400)
            if data.get("pipeline_id") is not None and stage["pipeline_id"] != pipeline_id:
                problem = f"Stage {stage_id} does not belong to pipeline {pipeline_id}"
                return error(f"Validation failed: stage_id: {problem}", 400)
        opening = data.get("status", "open" if record is None else record["status"]) == "open"
        was_open = record is not None and record["status"] == "open"
        cap = int(state.plan["deals_limit"] or 0)
        if cap and opening and not was_open and state.open_deals() >= cap:
            return error(CAP_MESSAGE, 403, code="feature_capping_deals_limit")
        return None

    crud("persons", person_links)
    crud("organizations", lambda _d, _r: None)
    crud("deals", deal_links)
    crud("products", lambda _d, _r: None)

    # -- products on a deal --------------------------------------------------------------------------
    def deal_or_404(deal_id: int) -> dict[str, Any] | Response:
        deal = state.get("deals", deal_id)
        return deal if deal is not None else error("Deal not found", 404)

    def attachment(deal: Mapping[str, Any], data: Mapping[str, Any], row: dict[str, Any]) -> dict[str, Any]:
        row.update(data)
        quantity, price = float(row["quantity"]), float(row["item_price"])
        discount = float(row.get("discount") or 0)
        gross = quantity * price
        gross -= discount if row.get("discount_type") == "amount" else gross * discount / 100
        row["sum"] = round(gross, 2)
        row["currency"] = deal["currency"]
        return row

    @api.get(f"{V2}/deals/<int:deal_id>/products")
    def deal_products(deal_id: int) -> Response:
        with state.lock:
            deal = deal_or_404(deal_id)
            if isinstance(deal, Response):
                return deal
            rows = [public(r) for r in state.deal_products.values() if r["deal_id"] == deal_id]
        paged = _page(rows)
        if isinstance(paged, Response):
            return paged
        chunk, cursor = paged
        return ok(chunk, {"next_cursor": cursor})

    @api.post(f"{V2}/deals/<int:deal_id>/products")
    def add_deal_product(deal_id: int) -> Response:
        data = body()
        problem = validate("deal_product", data, create=True)
        if problem:
            return error(problem, 400)
        with state.lock:
            deal = deal_or_404(deal_id)
            if isinstance(deal, Response):
                return deal
            if state.get("products", data["product_id"]) is None:
                return error(
                    f"Validation failed: product_id: Product with id {data['product_id']} not found", 400
                )
            state.ids["deal_products"] += 1
            row_id = state.ids["deal_products"]
            base = {"id": row_id, "deal_id": deal_id, "tax": 0, "discount": 0, "discount_type": "percentage",
                    "tax_method": "inclusive", "is_enabled": True, "comments": None}  # fmt: skip
            state.deal_products[row_id] = attachment(deal, data, base)
            return committed(ok(public(state.deal_products[row_id]), status=201))

    @api.patch(f"{V2}/deals/<int:deal_id>/products/<int:row_id>")
    def patch_deal_product(deal_id: int, row_id: int) -> Response:
        data = body()
        problem = validate("deal_product", data, create=False)
        if problem:
            return error(problem, 400)
        with state.lock:
            deal = deal_or_404(deal_id)
            if isinstance(deal, Response):
                return deal
            row = state.deal_products.get(row_id)
            if row is None or row["deal_id"] != deal_id:
                return error("Product attachment not found", 404)
            return committed(ok(public(attachment(deal, data, row))))

    @api.delete(f"{V2}/deals/<int:deal_id>/products/<int:row_id>")
    def delete_deal_product(deal_id: int, row_id: int) -> Response:
        with state.lock:
            row = state.deal_products.get(row_id)
            if row is None or row["deal_id"] != deal_id:
                return error("Product attachment not found", 404)
            del state.deal_products[row_id]
            return committed(ok({"id": row_id}))

    # -- pipelines and stages (v2; v1 as older accounts' documentation shows, in v1's shape) ----------
    def v2_off() -> Response | None:
        return None if state.api["v2_pipelines"] else error("Unknown method .", 404)

    @api.get(f"{V2}/pipelines")
    def pipelines() -> Response:
        with state.lock:
            rows = sorted(state.pipelines.values(), key=lambda p: p["order_nr"])
        return v2_off() or ok(rows, {"next_cursor": None})

    @api.get(f"{V2}/stages")
    def stages() -> Response:
        return v2_off() or ok(stage_rows(), {"next_cursor": None})

    def stage_rows() -> list[dict[str, Any]]:
        wanted = request.args.get("pipeline_id")
        with state.lock:
            rows = [s for s in state.stages.values() if not wanted or str(s["pipeline_id"]) == wanted]
        return sorted(rows, key=lambda s: (s["pipeline_id"], s["order_nr"]))

    @api.get("/api/v1/pipelines")
    def pipelines_v1() -> Response:
        with state.lock:
            rows = [
                {"id": p["id"], "name": p["name"], "url_title": p["name"].lower(), "order_nr": p["order_nr"],
                 "active": not p["is_deleted"], "deal_probability": p["is_deal_probability_enabled"],
                 "add_time": p["add_time"], "update_time": p["update_time"], "selected": p["is_selected"]}
                for p in sorted(state.pipelines.values(), key=lambda p: p["order_nr"])
            ]  # fmt: skip
        return ok(rows)

    @api.get("/api/v1/stages")
    def stages_v1() -> Response:
        with state.lock:
            names = {pid: p["name"] for pid, p in state.pipelines.items()}
        rows = [
            {"id": s["id"], "order_nr": s["order_nr"], "name": s["name"], "active_flag": not s["is_deleted"],
             "deal_probability": s["deal_probability"], "pipeline_id": s["pipeline_id"],
             "pipeline_name": names.get(s["pipeline_id"]), "rotten_flag": False, "rotten_days": None,
             "add_time": s["add_time"], "update_time": s["update_time"]}
            for s in stage_rows()
        ]  # fmt: skip
        pagination = {"start": 0, "limit": 500, "more_items_in_collection": False}
        return ok(rows, {"pagination": pagination})

    return api
