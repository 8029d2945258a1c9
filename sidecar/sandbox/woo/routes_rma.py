"""The plugin's RMA routes (includes/rest/class-returns-controller.php), with the same argument schemas.

- ``GET rmas/{id}``: the return, its ``meta`` map, the order's number and what a carrier needs about the
  customer (name, e-mail, phone, shipping address) — never the IBAN, the photos or the label PDF;
- ``POST rmas/{id}/meta {meta, expect, log?}``: compare-and-set on the return's meta (``rma_meta_keys``),
  409 with ``current`` when ``expect`` fails; ``log`` adds one timeline step in the same request;
- ``POST rmas/{id}/label {carrier, tracking_number, url?, pdf_base64?}``: ``url`` is optional when a PDF
  is given, https when present; a second label is 409;
- ``POST rmas/{id}/status {from, to, note, actor}``: the contract's transitions, logged on the timeline;
- ``POST rmas/search {statuses, due_before, page, per_page}``: open returns with due dates, no personal data.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify

from sidecar import contract
from sidecar.sandbox.woo.orders import gmt
from sidecar.sandbox.woo.state import Shop
from sidecar.sandbox.woo.wp import Schema, WpError, parse_rest_date, strip_tags

Route = Callable[[str, str, Mapping[str, Schema] | None], Callable[[Callable[..., Any]], Any]]
ACTORS = ("system", "carrier")
MAX_PDF_BYTES = 5 * 1024 * 1024
# Rma::step_message(): what the customer reads for a status step.
STEPS = {
    "requested": "Return requested.",
    "approved": "Return approved.",
    "label_ready": "Return label ready.",
    "arrived": "Parcel delivered to the shop.",
    "received": "Return received and checked by the shop.",
    "refunded": "Refund issued.",
    "rejected": "Return rejected.",
}
# Returns_Controller::public_steps(): the steps a customer reads, in the shop's words (not the sidecar's).
PUBLIC_STEPS = {
    "parcel_stopped": "The carrier reports that your return parcel will not reach us. We will contact you.",
}
PRIVATE = ("_pdf", "timeline", "iban", "photos", "email")


def _id() -> dict[str, Schema]:
    return {"rma_id": {"type": "integer", "minimum": 1, "required": True}}


def _https_label_url(value: Any) -> str | None:
    # Rma::is_valid_label_url(): the sandbox is a 'local' site, where http is allowed as well.
    ok = isinstance(value, str) and re.match(r"^https?://[^/\s?#]+[^\s\x00-\x1f\x7f]*$", value, re.I)
    return None if ok else "url must be an https URL of the label."


def _pdf(value: Any) -> str | None:
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    ok = raw.startswith(b"%PDF-") and len(raw) <= MAX_PDF_BYTES
    return None if ok else "pdf_base64 must be a base64-encoded PDF of at most 5 MiB."


def _meta_keys() -> tuple[str, ...]:
    return tuple(contract.load()["rma_meta_keys"])


def number(rma_id: int) -> str:
    return f"RMA-{int(rma_id):06d}"


def now_gmt() -> str:
    return gmt(datetime.now(UTC).replace(microsecond=0)) + "Z"


def log(rma: dict[str, Any], event: str, message: str, actor: str = "system", public: bool = True) -> None:
    rma.setdefault("timeline", []).append(
        {"at": now_gmt(), "actor": actor, "event": event, "message": message, "public": public}
    )


# WooCommerce → Settings → General → Store address (woocommerce_store_*), as GET rmas/{id} gives it.
STORE_ADDRESS = {
    "name": "Sklep Testowy",
    "address_1": "ul. Magazynowa 12",
    "address_2": "",
    "city": "Poznań",
    "postcode": "60-001",
    "country": "PL",
}


def view(shop: Shop, rma: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in rma.items() if not k.startswith("_") and k not in PRIVATE}
    out["number"] = number(rma["id"])
    out["meta"] = {k: rma.get("meta", {}).get(k, "") for k in _meta_keys()}
    order = shop.orders.get(rma["order_id"])
    if order is None:
        return out
    names = {line["id"]: line["name"] for line in order["line_items"]}
    out["order_number"] = str(order.get("number") or order["id"])
    out["items"] = [{**i, "name": names.get(i.get("order_item_id"), "")} for i in rma.get("items") or ()]
    billing, shipping = order.get("billing") or {}, order.get("shipping") or {}
    address = shipping if shipping.get("address_1") else billing
    out["store_address"] = dict(STORE_ADDRESS)
    out["customer"] = {
        "first_name": billing.get("first_name", ""),
        "last_name": billing.get("last_name", ""),
        "email": billing.get("email", ""),
        "phone": billing.get("phone", ""),
        **{k: address.get(k, "") for k in ("address_1", "address_2", "city", "postcode", "country")},
    }
    return out


def _label_ok(label: Any, pdf: Any) -> bool:
    """A stored label counts when its URL is valid, or when it has no URL but a PDF (a return slip)."""
    if not isinstance(label, dict):
        return False
    url = label.get("url") or ""
    return _https_label_url(url) is None if url else bool(pdf)


def register(route: Route, shop: Shop) -> None:
    @route("/rmas/<int:rma_id>", "GET", _id())
    def get_rma(a: dict[str, Any]) -> Response:
        return jsonify(view(shop, shop.rma(a["rma_id"])))

    value = {"type": "string", "maxLength": contract.limit("max_meta_value_chars")}
    meta_args: dict[str, Schema] = {
        **_id(),
        "meta": {"type": "object", "required": True, "additionalProperties": value},
        "expect": {"type": "object", "default": {}, "additionalProperties": value},
        "log": {
            "type": ["object", "null"],
            "default": None,
            "properties": {
                "event": {"type": "string", "required": True, "pattern": r"^[a-z0-9_]{1,40}$"},
                "message": {"type": "string", "required": True, "minLength": 1, "maxLength": 2000},
                "public": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
    }

    @route("/rmas/<int:rma_id>/meta", "POST", meta_args)
    def set_rma_meta(a: dict[str, Any]) -> Response:
        meta, expect = a["meta"], a["expect"]
        bad = [k for k in dict.fromkeys([*meta, *expect]) if k not in _meta_keys()]
        if bad:
            raise WpError(
                400, "bpm_bridge_meta_not_allowed", f"These meta keys may not be written: {', '.join(bad)}.",
                keys=bad,
            )  # fmt: skip
        rma = shop.rma(a["rma_id"])
        stored: dict[str, str] = rma.setdefault("meta", {})
        current = {k: stored.get(k, "") for k in expect}
        if any(current[k] != v for k, v in expect.items()):
            raise WpError(
                409, "bpm_bridge_meta_conflict",
                "The return's meta does not have the expected values; nothing was written.", current=current,
            )  # fmt: skip
        for key, val in meta.items():
            if val == "":
                stored.pop(key, None)
            else:
                stored[key] = val
        rma["updated_at"] = now_gmt()
        entry = a.get("log")
        if entry and entry.get("public") and entry["event"] in PUBLIC_STEPS:
            log(rma, entry["event"], PUBLIC_STEPS[entry["event"]], "carrier", True)
        elif entry and strip_tags(entry["message"]):
            log(rma, entry["event"], strip_tags(entry["message"]), "carrier", False)
        return jsonify({"rma_id": rma["id"], "meta": view(shop, rma)["meta"]})

    label_args: dict[str, Schema] = {
        **_id(),
        "carrier": {"type": "string", "required": True, "pattern": r"^[a-z0-9_-]{1,40}$"},
        "tracking_number": {"type": "string", "required": True, "minLength": 1, "maxLength": 100},
        "url": {"type": "string", "maxLength": 2000, "check": _https_label_url},
        "pdf_base64": {"type": "string", "check": _pdf},
    }

    @route("/rmas/<int:rma_id>/label", "POST", label_args)
    def attach_label(a: dict[str, Any]) -> Response:
        if not a.get("url") and not a.get("pdf_base64"):
            raise WpError(
                400, "rest_invalid_param", "Invalid parameter(s): url",
                params={"url": "url is required when no pdf_base64 is given."},
            )  # fmt: skip
        rma = shop.rma(a["rma_id"])
        if _label_ok(rma.get("label"), rma.get("_pdf")):
            raise WpError(
                409, "bpm_bridge_label_exists", "This return already has a label.", label=rma["label"]
            )
        rma["label"] = {k: a.get(k, "") for k in ("carrier", "tracking_number", "url")}
        rma["_pdf"] = a.get("pdf_base64")
        rma["updated_at"] = now_gmt()
        rma.setdefault("_labels", 0)
        rma["_labels"] += 1
        log(rma, "label", "The return label is ready to download.")
        return jsonify(view(shop, rma))

    status = {"type": "string", "required": True, "enum": list(contract.load()["rma_statuses"])}
    status_args: dict[str, Schema] = {
        **_id(),
        "from": status,
        "to": status,
        "note": {"type": "string", "default": "", "maxLength": contract.limit("max_note_chars")},
        "actor": {"type": "string", "default": "system", "enum": list(ACTORS)},
    }

    @route("/rmas/<int:rma_id>/status", "POST", status_args)
    def set_rma_status(a: dict[str, Any]) -> Response:
        rma = shop.rma(a["rma_id"])
        before = rma["status"]
        result = shop.rma_status(a["rma_id"], a["from"], a["to"], "")
        if before != rma["status"]:
            rma["updated_at"] = now_gmt()
            # The step in the shop's words for the customer; the sidecar's own note for staff only.
            log(rma, a["to"], STEPS.get(a["to"], a["to"]), a["actor"])
            if strip_tags(a["note"]):
                log(rma, "note", strip_tags(a["note"]), a["actor"], public=False)
        return jsonify(result)

    search_args: dict[str, Schema] = {
        "statuses": {
            "type": "array",
            "default": ["requested", "approved", "label_ready", "arrived", "received"],
            "minItems": 1,
            "maxItems": 10,
            "items": {"type": "string", "enum": list(contract.load()["rma_statuses"])},
        },
        "due_before": {"type": ["string", "null"], "format": "date-time"},
        "page": {"type": "integer", "default": 1, "minimum": 1},
        "per_page": {"type": "integer", "default": 100, "minimum": 1, "maximum": 100},
    }

    @route("/rmas/search", "POST", search_args)
    def search_rmas(a: dict[str, Any]) -> Response:
        before = parse_rest_date(a["due_before"], gmt=True) if a.get("due_before") else None
        found = []
        for rma in sorted(shop.rmas.values(), key=lambda r: (str(r.get("due_at") or "9999"), r["id"])):
            if rma["status"] not in a["statuses"]:
                continue
            due = parse_rest_date(str(rma.get("due_at") or ""), gmt=True)
            if before is not None and (due is None or due >= before):
                continue
            found.append(rma)
        per_page, page = a["per_page"], a["page"]
        chunk = found[(page - 1) * per_page : page * per_page]
        return jsonify(
            {
                "rmas": [_listed(r) for r in chunk],
                "total": len(found),
                "pages": -(-len(found) // per_page),
            }
        )


def _listed(rma: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": rma["id"],
        "number": number(rma["id"]),
        "order_id": rma["order_id"],
        "status": rma["status"],
        "kind": rma.get("kind", "withdrawal"),
        "due_at": rma.get("due_at"),
        "created_at": rma.get("created_at"),
        "updated_at": rma.get("updated_at") or rma.get("created_at"),
        "has_label": rma.get("label") is not None,
        "carrier": str((rma.get("label") or {}).get("carrier") or ""),
    }
