"""WooCommerce + BPM Bridge plugin simulator: the store as the sidecar sees it.

Faithful to what the sidecar relies on:
- ``GET /wp-json/`` (the REST index, no authentication, like WordPress);
- ``GET /wp-json/wc/v3/orders/{id}`` and ``/orders/{id}/refunds/{rid}`` in WooCommerce REST v3's shape
  (money as strings with 2 decimals, ``line_items[].taxes[]`` keyed by tax rate id, ``tax_lines`` with
  ``rate_percent``, ``shipping_lines``, ``fee_lines``, ``coupon_lines``, ``refunds``, ``meta_data``; refund
  items carry negative quantities/totals and ``_refunded_item_id`` meta, as WooCommerce stores them);
- ``GET /wp-json/wc/v3/orders`` (the collection): ``status`` list, ``modified_after/_before``,
  ``after/before``, ``dates_are_gmt``, ``orderby``, ``order``, ``page``, ``per_page`` ≤ 100, validated with
  WordPress' ``rest_invalid_param`` errors, paged with ``X-WP-Total`` / ``X-WP-TotalPages`` / ``Link``;
- HTTP Basic with an Application Password (spaces ignored, as WordPress does) and WordPress' own error
  codes (``incorrect_password``, ``invalid_username``, ``rest_forbidden``,
  ``woocommerce_rest_cannot_view``);
- the whole ``bpm-bridge/v1`` namespace of docs/contract.md §3 with the signature check, the meta
  allow-list, the ``expect`` compare-and-set 409, the status transitions and the outcome bookkeeping.

Prices are entered gross (``prices_include_tax``, the norm in Polish shops) and split into net + tax
per line the way WooCommerce rounds them (per line, half up, 2 decimals). Tax class ``zw`` (exempt)
has no tax rate and therefore no ``taxes`` entry and no ``tax_lines`` row.

``/sandbox/…`` is an admin API for tests and the demo (no auth; bind the simulator to loopback):
create orders from a compact spec, refunds, RMAs and outbox events; read notes, meta, outcomes and
the request log; set the served configuration; inject faults (e.g. 503 for the next N calls).
"""

from __future__ import annotations

import base64
import copy
import hmac
import itertools
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, g, jsonify, request

from sidecar.signing import SignatureError, verify

CENT = Decimal("0.01")
API_USER = "bpm-api"
CAPABILITY = "bpm_bridge_api"
WARSAW = timezone(timedelta(hours=1))  # the sandbox shop's timezone (winter time is enough for a sandbox)

ALLOWED_META = (
    "_bpm_invoice_id",
    "_bpm_invoice_number",
    "_bpm_invoice_url",
    "_bpm_invoice_provider",
    "_bpm_invoice_kind",
    "_bpm_ksef_status",
    "_bpm_ksef_number",
    "_bpm_corrections",
    "_bpm_crm_id",
    "_bpm_crm_synced_at",
    "_bpm_rma_state",
    "_bpm_last_error",
)
ORDER_TRANSITIONS = {("on-hold", "processing"), ("processing", "completed")}
RMA_TRANSITIONS = {
    ("requested", "approved"),
    ("requested", "rejected"),
    ("approved", "label_ready"),
    ("label_ready", "received"),
    ("received", "refunded"),
    ("received", "rejected"),
}
OUTCOME_STATUSES = ("done", "skipped", "failed", "retrying")
TAX_RATES = {"23": 1, "8": 2, "5": 3, "0": 4}  # rate percent -> WooCommerce tax rate id


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def split_gross(gross: Decimal, rate: str) -> tuple[Decimal, Decimal]:
    """(net, tax) of a gross amount; the tax is the remainder so net + tax == gross to the grosz."""
    if rate == "zw":
        return gross, Decimal("0.00")
    net = (gross / (1 + dec(rate) / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
    return net, gross - net


def default_config(home: str) -> dict[str, Any]:
    return {
        "version": 1,
        "store": {"url": home, "currency": "PLN", "timezone": "Europe/Warsaw"},
        "invoicing": {
            "provider": "none",
            "trigger": {"default": "paid", "by_payment_method": {"cod": "completed"}},
            "b2c_document": "receipt",
            "send_email": True,
            "exemption_reason": "art. 43 ust. 1 pkt 2 ustawy o VAT",
            "fakturownia": {"domain": "sandbox", "api_token": "", "department_id": None, "base_url": None},
            "infakt": {"api_key": "", "base_url": None},
        },
        "crm": {"provider": "none"},
        "carrier": {"provider": "none"},
        "rma": {"enabled": False},
    }


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


class WpError(Exception):
    """A WordPress REST error: ``{"code", "message", "data": {"status", …}}``."""

    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, data


class Shop:
    """All the simulator's state, guarded by one lock (the werkzeug server is threaded)."""

    def __init__(self, home: str, secrets_: list[str], users: dict[str, dict[str, Any]]) -> None:
        self.lock = threading.RLock()
        self.home = home
        self.secrets = secrets_
        self.users = users
        self.ids = itertools.count(100)  # order / refund ids share WordPress' post id sequence
        self.item_ids = itertools.count(1)
        self.note_ids = itertools.count(1)
        self.meta_ids = itertools.count(1)
        self.rma_ids = itertools.count(1)
        self.orders: dict[int, dict[str, Any]] = {}
        self.refunds: dict[int, dict[str, Any]] = {}  # refund id -> refund
        self.meta: dict[int, dict[str, str]] = {}  # order id -> _bpm_* meta
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.events: dict[str, dict[str, Any]] = {}  # the plugin's outbox rows
        self.rmas: dict[int, dict[str, Any]] = {}
        self.config = default_config(home)
        self.faults: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []

    # -- orders -----------------------------------------------------------------------------------
    def create_order(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        order_id = next(self.ids)
        # ``age_seconds``: an order created (and last modified) that long ago, e.g. for a sweep's window.
        now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=int(spec.get("age_seconds", 0)))
        rate_totals: dict[str, dict[str, Decimal]] = {}
        coupon = spec.get("coupon")
        percent = dec(coupon.get("percent", 0)) / 100 if coupon else Decimal(0)
        line_items = []
        for raw in spec.get("items") or []:
            rate = str(raw.get("tax", "23"))
            qty = int(raw.get("qty", 1))
            gross = dec(raw["price"]) * qty
            discounted = (gross * (1 - percent)).quantize(CENT, rounding=ROUND_HALF_UP)
            sub_net, sub_tax = split_gross(gross, rate)
            net, tax = split_gross(discounted, rate)
            line_items.append(
                {
                    "id": next(self.item_ids),
                    "name": raw["name"],
                    "product_id": int(raw.get("product_id", 1000 + len(line_items))),
                    "variation_id": 0,
                    "quantity": qty,
                    "tax_class": "zw" if rate == "zw" else ("" if rate == "23" else f"reduced-rate-{rate}"),
                    "subtotal": money(sub_net),
                    "subtotal_tax": money(sub_tax),
                    "total": money(net),
                    "total_tax": money(tax),
                    "taxes": _taxes(rate, tax, sub_tax),
                    "meta_data": [],
                    "sku": raw.get("sku", f"SKU-{len(line_items) + 1}"),
                    "price": float((net / qty).quantize(Decimal("0.000001"))),
                    "image": {"id": 0, "src": ""},
                    "parent_name": None,
                }
            )
            _add_rate(rate_totals, rate, tax=tax)
        shipping_lines = []
        if spec.get("shipping"):
            ship = spec["shipping"]
            rate = str(ship.get("tax", "23"))
            net, tax = split_gross(dec(ship["price"]), rate)
            shipping_lines.append(
                {
                    "id": next(self.item_ids),
                    "method_title": ship.get("method", "Kurier"),
                    "method_id": ship.get("method_id", "flat_rate"),
                    "instance_id": "1",
                    "total": money(net),
                    "total_tax": money(tax),
                    "taxes": _taxes(rate, tax, tax),
                    "meta_data": [],
                }
            )
            _add_rate(rate_totals, rate, shipping=tax)
        fee_lines = []
        for fee in spec.get("fees") or []:
            rate = str(fee.get("tax", "23"))
            net, tax = split_gross(dec(fee["amount"]), rate)
            fee_lines.append(
                {
                    "id": next(self.item_ids),
                    "name": fee["name"],
                    "tax_class": "zw" if rate == "zw" else "",
                    "tax_status": "none" if rate == "zw" else "taxable",
                    "amount": money(net),
                    "total": money(net),
                    "total_tax": money(tax),
                    "taxes": _taxes(rate, tax, tax),
                    "meta_data": [],
                }
            )
            _add_rate(rate_totals, rate, tax=tax)
        discount = sum((dec(i["subtotal"]) - dec(i["total"]) for i in line_items), Decimal(0))
        discount_tax = sum((dec(i["subtotal_tax"]) - dec(i["total_tax"]) for i in line_items), Decimal(0))
        cart_tax = sum((dec(i["total_tax"]) for i in line_items + fee_lines), Decimal(0))
        shipping_total = sum((dec(s["total"]) for s in shipping_lines), Decimal(0))
        shipping_tax = sum((dec(s["total_tax"]) for s in shipping_lines), Decimal(0))
        net_total = sum((dec(i["total"]) for i in line_items + fee_lines), Decimal(0)) + shipping_total
        status = spec.get("status", "processing")
        paid = spec.get("paid", status in ("processing", "completed"))
        billing = {
            "first_name": "Jan",
            "last_name": "Kowalski",
            "company": "Kowalski Sp. z o.o." if spec.get("nip") else "",
            "address_1": "ul. Marszałkowska 1",
            "address_2": "",
            "city": "Warszawa",
            "state": "",
            "postcode": "00-001",
            "country": "PL",
            "email": "jan.kowalski@example.com",
            "phone": "+48500100200",
            **(spec.get("billing") or {}),
        }
        meta_data = []
        if spec.get("nip"):
            meta_data.append({"id": next(self.meta_ids), "key": "_billing_nip", "value": str(spec["nip"])})
        order = {
            "id": order_id,
            "parent_id": 0,
            "status": status,
            "currency": spec.get("currency", "PLN"),
            "version": "9.4.2",
            "prices_include_tax": True,
            "date_created": _local(now),
            "date_created_gmt": _gmt(now),
            "date_modified": _local(now),
            "date_modified_gmt": _gmt(now),
            "discount_total": money(discount),
            "discount_tax": money(discount_tax),
            "shipping_total": money(shipping_total),
            "shipping_tax": money(shipping_tax),
            "cart_tax": money(cart_tax),
            "total": money(net_total + cart_tax + shipping_tax),
            "total_tax": money(cart_tax + shipping_tax),
            "customer_id": 0,
            "order_key": "wc_order_" + secrets.token_hex(7),
            "billing": billing,
            "shipping": {k: v for k, v in billing.items() if k != "email"},
            "payment_method": spec.get("payment_method", "przelewy24"),
            "payment_method_title": spec.get("payment_method_title", "Przelewy24"),
            "transaction_id": f"P24-{order_id}" if paid else "",
            "customer_ip_address": "127.0.0.1",
            "customer_user_agent": "sandbox",
            "created_via": "checkout",
            "customer_note": "",
            "date_completed": _local(now) if status == "completed" else None,
            "date_paid": _local(now) if paid else None,
            "cart_hash": secrets.token_hex(16),
            "number": str(order_id),
            "meta_data": meta_data,
            "line_items": line_items,
            "tax_lines": [
                {
                    "id": next(self.item_ids),
                    "rate_code": f"PL-VAT {rate}%-1",
                    "rate_id": TAX_RATES[rate],
                    "label": f"VAT {rate}%",
                    "compound": False,
                    "tax_total": money(t["tax"]),
                    "shipping_tax_total": money(t["shipping"]),
                    "rate_percent": float(rate),
                    "meta_data": [],
                }
                for rate, t in rate_totals.items()
            ],
            "shipping_lines": shipping_lines,
            "fee_lines": fee_lines,
            "coupon_lines": (
                [
                    {
                        "id": next(self.item_ids),
                        "code": coupon["code"],
                        "discount": money(discount),
                        "discount_tax": money(discount_tax),
                        "meta_data": [],
                    }
                ]
                if coupon
                else []
            ),
            "refunds": [],
            "set_paid": False,
            "currency_symbol": "zł" if spec.get("currency", "PLN") == "PLN" else spec.get("currency"),
            "date_completed_gmt": _gmt(now) if status == "completed" else None,
            "date_paid_gmt": _gmt(now) if paid else None,
            "_links": {
                "self": [{"href": f"{self.home}/wp-json/wc/v3/orders/{order_id}"}],
                "collection": [{"href": f"{self.home}/wp-json/wc/v3/orders"}],
            },
        }
        self.orders[order_id] = order
        self.meta[order_id] = {}
        self.notes[order_id] = []
        return order

    def order(self, order_id: int) -> dict[str, Any]:
        if order_id not in self.orders:
            raise WpError(404, "bpm_bridge_order_not_found", "Order not found.")
        return self.orders[order_id]

    def order_view(self, order_id: int) -> dict[str, Any]:
        """The REST v3 representation: stored fields plus the current meta."""
        view = copy.deepcopy(self.orders[order_id])
        view["meta_data"] += [
            {"id": 10_000 + i, "key": k, "value": v}
            for i, (k, v) in enumerate(sorted(self.meta[order_id].items()))
        ]
        return view

    def touch(self, order: dict[str, Any]) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        order["date_modified"], order["date_modified_gmt"] = _local(now), _gmt(now)

    def add_note(
        self, order_id: int, text: str, customer_note: bool = False, added_by: str = API_USER
    ) -> int:
        note_id = next(self.note_ids)
        self.notes[order_id].append(
            {
                "id": note_id,
                "author": added_by,
                "date_created_gmt": _gmt(datetime.now(UTC).replace(microsecond=0)),
                "note": text,
                "customer_note": customer_note,
            }
        )
        return note_id

    def create_refund(self, order_id: int, spec: Mapping[str, Any]) -> dict[str, Any]:
        order = self.order(order_id)
        refund_id = next(self.ids)
        items, amount = [], Decimal(0)
        by_id = {i["id"]: i for i in order["line_items"]}
        for raw in spec.get("items") or []:
            original = by_id.get(int(raw["line_item_id"]))
            if original is None:
                raise WpError(400, "woocommerce_rest_invalid_line_item", "Invalid line item ID.")
            qty = int(raw.get("qty", original["quantity"]))
            share = dec(qty) / dec(original["quantity"])
            total = (dec(original["total"]) * share).quantize(CENT, rounding=ROUND_HALF_UP)
            tax = (dec(original["total_tax"]) * share).quantize(CENT, rounding=ROUND_HALF_UP)
            items.append(
                {
                    "id": next(self.item_ids),
                    "name": original["name"],
                    "product_id": original["product_id"],
                    "variation_id": 0,
                    "quantity": -qty,
                    "tax_class": original["tax_class"],
                    # A refund item's subtotal equals its total: no discount on a refund.
                    "subtotal": money(-total),
                    "subtotal_tax": money(-tax),
                    "total": money(-total),
                    "total_tax": money(-tax),
                    "taxes": [
                        {"id": t["id"], "total": money(-tax), "subtotal": money(-tax)}
                        for t in original["taxes"]
                    ],
                    "meta_data": [
                        {"id": next(self.meta_ids), "key": "_refunded_item_id", "value": str(original["id"])}
                    ],
                    "sku": original["sku"],
                    "price": -float((total / qty).quantize(Decimal("0.000001"))),
                    "refund_total": float(total + tax),
                }
            )
            amount += total + tax
        shipping_lines = []
        if spec.get("shipping"):
            for ship in order["shipping_lines"]:
                net, tax = dec(ship["total"]), dec(ship["total_tax"])
                shipping_lines.append(
                    {
                        "id": next(self.item_ids),
                        "method_title": ship["method_title"],
                        "method_id": ship["method_id"],
                        "instance_id": ship["instance_id"],
                        "total": money(-net),
                        "total_tax": money(-tax),
                        "taxes": [
                            {"id": t["id"], "total": money(-tax), "subtotal": ""} for t in ship["taxes"]
                        ],
                        "meta_data": [
                            {"id": next(self.meta_ids), "key": "_refunded_item_id", "value": str(ship["id"])}
                        ],
                    }
                )
                amount += net + tax
        if "amount" in spec:
            amount = dec(spec["amount"])
        already = sum(
            (dec(r["amount"]) for r in self.refunds.values() if r["_order_id"] == order_id), Decimal(0)
        )
        if amount <= 0 or already + amount > dec(order["total"]):
            raise WpError(400, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.")
        now = datetime.now(UTC).replace(microsecond=0)
        refund = {
            "id": refund_id,
            "date_created": _local(now),
            "date_created_gmt": _gmt(now),
            "amount": money(amount),
            "reason": spec.get("reason", ""),
            "refunded_by": 1,
            "refunded_payment": False,
            "meta_data": [],
            "line_items": items,
            "shipping_lines": shipping_lines,
            "tax_lines": [],
            "fee_lines": [],
            "_order_id": order_id,
            "_links": {
                "self": [{"href": f"{self.home}/wp-json/wc/v3/orders/{order_id}/refunds/{refund_id}"}],
                "up": [{"href": f"{self.home}/wp-json/wc/v3/orders/{order_id}"}],
            },
        }
        self.refunds[refund_id] = refund
        order["refunds"].append({"id": refund_id, "reason": refund["reason"], "total": money(-amount)})
        if already + amount == dec(order["total"]):
            order["status"] = "refunded"  # wc_order_fully_refunded()
        self.touch(order)
        self.add_note(order_id, f"Refunded {money(amount)} zł - {refund['reason']}", added_by="system")
        return refund

    # -- outbox -----------------------------------------------------------------------------------
    def record_outcome(self, event_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        row = self.events.get(event_id)
        if row is None:
            raise WpError(404, "bpm_bridge_event_not_found", "Unknown event.")
        row["outcomes"][body["action"]] = {**body, "received_at": time.time()}
        row["history"].append({**body, "received_at": time.time()})
        statuses = [row["outcomes"].get(a, {}).get("status") for a in row["actions"]]
        if any(o.get("status") == "failed" for o in row["outcomes"].values()):
            row["status"] = "failed"
        elif all(s in ("done", "skipped") for s in statuses):
            row["status"] = "done"
        else:
            row["status"] = "sent"
        return row


# --- GET /wc/v3/orders: WooCommerce's collection parameters (WC_REST_CRUD_Controller + orders v3) ----

ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
ORDERBY = ("date", "id", "include", "title", "slug", "modified")
DATE_PARAMS = {
    "after": "date_created",
    "before": "date_created",
    "modified_after": "date_modified",
    "modified_before": "date_modified",
}
# rest_parse_date(): RFC 3339 with the time zone optional (then the date is in the site's time zone).
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?$", re.I
)


def _collection_query(args: Mapping[str, str]) -> dict[str, Any]:
    """Validate like rest_validate_request_arg: every bad parameter is named in one 400."""
    errors: dict[str, str] = {}
    query: dict[str, Any] = {}
    for name, default, low, high in (("page", "1", 1, None), ("per_page", "10", 1, 100)):
        raw = args.get(name, default)
        try:
            value = int(raw)
        except ValueError:
            errors[name] = f"{name} is not of type integer."
            continue
        if high is not None and not low <= value <= high:
            errors[name] = f"{name} must be between {low} (inclusive) and {high} (inclusive)"
        elif value < low:
            errors[name] = f"{name} must be greater than or equal to {low}"
        query[name] = value
    # An array parameter arrives as status=a,b (wp_parse_list) or status[]=a&status[]=b.
    raw_statuses = args.getlist("status[]") if "status[]" in args else [args.get("status", "any")]
    statuses = [s.strip() for raw in raw_statuses for s in raw.split(",") if s.strip()]
    allowed = ("any", "trash", *ORDER_STATUSES)
    for index, status in enumerate(statuses):
        if status not in allowed:
            errors.setdefault("status", f"status[{index}] is not one of {', '.join(allowed)}.")
    query["status"] = statuses or ["any"]
    for name, choices, default in (("orderby", ORDERBY, "date"), ("order", ("asc", "desc"), "desc")):
        value = args.get(name, default)
        if value not in choices:
            errors[name] = f"{name} is not one of {', '.join(choices)}."
        query[name] = value
    gmt = args.get("dates_are_gmt", "false").lower()
    if gmt not in ("true", "false", "1", "0", ""):
        errors["dates_are_gmt"] = "dates_are_gmt is not of type boolean."
    query["dates_are_gmt"] = gmt in ("true", "1")
    for name in DATE_PARAMS:
        if name not in args:
            continue
        parsed = _parse_rest_date(args[name], query["dates_are_gmt"])
        if parsed is None:
            errors[name] = "Invalid date."
        query[name] = parsed
    if errors:
        raise WpError(
            400,
            "rest_invalid_param",
            f"Invalid parameter(s): {', '.join(errors)}",
            params=errors,
            details={
                k: {"code": "rest_invalid_param", "message": v, "data": None} for k, v in errors.items()
            },
        )
    return query


def _parse_rest_date(raw: str, gmt: bool) -> datetime | None:
    """An aware datetime; a date without an offset is GMT with dates_are_gmt, else the site's local time."""
    if not _RFC3339.match(raw):
        return None
    try:
        value = datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC if gmt else WARSAW)
    return value


def _status_matches(order: Mapping[str, Any], statuses: list[str]) -> bool:
    if "any" in statuses:
        return order["status"] != "trash"
    return order["status"] in statuses


def _in_window(order: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    for name, column in DATE_PARAMS.items():
        bound = query.get(name)
        if bound is None:
            continue
        moment = datetime.fromisoformat(order[f"{column}_gmt"]).replace(tzinfo=UTC)
        if name.endswith("after") and not moment > bound:
            return False
        if name.endswith("before") and not moment < bound:
            return False
    return True


def _sort_key(orderby: str) -> Any:
    if orderby == "modified":
        return lambda o: (o["date_modified_gmt"], o["id"])
    if orderby in ("id", "include"):
        return lambda o: o["id"]
    if orderby in ("title", "slug"):
        return lambda o: (str(o["id"]), o["id"])
    return lambda o: (o["date_created_gmt"], o["id"])


def _page_url(base: str, args: Mapping[str, str], page: int) -> str:
    params = [(k, v) for k, v in args.items(multi=True) if k != "page"] + [("page", str(page))]
    return f"{base}?{urlencode(params)}"


def _taxes(rate: str, total: Decimal, subtotal: Decimal) -> list[dict[str, Any]]:
    if rate == "zw":
        return []
    return [{"id": TAX_RATES[rate], "total": money(total), "subtotal": money(subtotal)}]


def _add_rate(
    totals: dict[str, dict[str, Decimal]],
    rate: str,
    tax: Decimal = Decimal(0),
    shipping: Decimal = Decimal(0),
):
    if rate == "zw":
        return
    entry = totals.setdefault(rate, {"tax": Decimal(0), "shipping": Decimal(0)})
    entry["tax"] += tax
    entry["shipping"] += shipping


def _gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _local(moment: datetime) -> str:
    return moment.astimezone(WARSAW).strftime("%Y-%m-%dT%H:%M:%S")


# --- the Flask app -------------------------------------------------------------------------------


def create_app(
    secrets_: list[str] | None = None,
    user: str | None = None,
    app_password: str | None = None,
    home: str | None = None,
) -> Flask:
    """Arguments default to the same environment variables the sidecar reads, so one env runs both."""
    env = os.environ
    secrets_ = secrets_ or env.get("BPM_WEBHOOK_SECRETS", "").split()
    if not secrets_:
        raise ValueError("the woo simulator needs the shared secret: BPM_WEBHOOK_SECRETS")
    user = user or env.get("BPM_STORE_USER", API_USER)
    app_password = app_password or env.get("BPM_STORE_APP_PASSWORD")
    if not app_password:
        raise ValueError("the woo simulator needs the API user's password: BPM_STORE_APP_PASSWORD")
    home = (home or env.get("BPM_STORE_URL") or "http://127.0.0.1").rstrip("/")
    users = {
        user: {
            "password": app_password.replace(" ", ""),
            "caps": {"read", "read_private_shop_orders", CAPABILITY},
        },
        # A user without the plugin's capability, to exercise 403 rest_forbidden.
        "shop-manager": {
            "password": "ManagerPassword000000000",
            "caps": {"read", "read_private_shop_orders"},
        },
    }
    shop = Shop(home, list(secrets_), users)
    app = Flask(__name__)
    app.extensions["woo_shop"] = shop

    @app.errorhandler(WpError)
    def _wp_error(exc: WpError) -> Response:
        return _error(exc.status, exc.code, exc.message, **exc.data)

    @app.errorhandler(404)
    def _no_route(_exc: Exception) -> Response:
        return _error(404, "rest_no_route", "No route was found matching the URL and request method.")

    @app.errorhandler(405)
    def _no_method(_exc: Exception) -> Response:
        return _error(404, "rest_no_route", "No route was found matching the URL and request method.")

    @app.before_request
    def _before() -> Response | None:
        g.started = time.time()
        if request.path.startswith("/sandbox/"):
            return None
        with shop.lock:
            for fault in shop.faults:
                if fault["remaining"] > 0 and request.path.startswith(fault.get("path", "/")):
                    fault["remaining"] -= 1
                    response = _error(fault["status"], "sandbox_fault", "Injected fault.")
                    if fault.get("retry_after") is not None:
                        response.headers["Retry-After"] = str(fault["retry_after"])
                    return response
        return None

    @app.after_request
    def _after(response: Response) -> Response:
        if not request.path.startswith("/sandbox/"):
            with shop.lock:
                shop.requests.append(
                    {
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "user": getattr(g, "user", None),
                        "at": g.get("started", time.time()),
                    }
                )
        return response

    def authenticate(required_cap: str, unauth_code: str, unauth_message: str) -> str:
        """WordPress application-password Basic auth, then a capability check."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            raise WpError(401, unauth_code, unauth_message)
        try:
            login, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            raise WpError(401, unauth_code, unauth_message) from None
        account = shop.users.get(login)
        if account is None:
            raise WpError(401, "invalid_username", "Unknown username. Check again or try your email address.")
        if not hmac.compare_digest(password.replace(" ", ""), account["password"]):
            raise WpError(
                401, "incorrect_password", "The provided password is an invalid application password."
            )
        g.user = login
        if required_cap not in account["caps"]:
            raise WpError(403, unauth_code, unauth_message)
        return login

    def wc_auth() -> None:
        authenticate(
            "read_private_shop_orders",
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot view this resource.",
        )

    def bpm_auth() -> None:
        authenticate(CAPABILITY, "rest_forbidden", "Sorry, you are not allowed to do that.")
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            verify(shop.secrets, headers, request.get_data())
        except SignatureError as exc:
            raise WpError(401, "bpm_bridge_bad_signature", f"Invalid signature: {exc}") from None

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise WpError(400, "rest_invalid_json", "Invalid JSON body passed.")
        return data

    # -- WordPress / WooCommerce -----------------------------------------------------------------
    @app.get("/wp-json/")
    def index() -> Response:
        return jsonify(
            {
                "name": "BPM Sandbox Shop",
                "description": "WooCommerce simulator",
                "url": shop.home,
                "home": shop.home,
                "gmt_offset": "1",
                "timezone_string": "Europe/Warsaw",
                "namespaces": ["wp/v2", "wc/v3", "bpm-bridge/v1"],
                "authentication": {"application-passwords": {"endpoints": {}}},
                "routes": {},
            }
        )

    @app.get("/wp-json/wc/v3/orders/<int:order_id>")
    def wc_order(order_id: int) -> Response:
        wc_auth()
        with shop.lock:
            if order_id not in shop.orders:
                raise WpError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            return jsonify(shop.order_view(order_id))

    @app.get("/wp-json/wc/v3/orders")
    def wc_orders() -> Response:
        """The collection, with WooCommerce's query parameters, validation and paging headers."""
        authenticate(
            "read_private_shop_orders", "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."
        )
        query = _collection_query(request.args)
        with shop.lock:
            found = [
                o
                for o in shop.orders.values()
                if _status_matches(o, query["status"]) and _in_window(o, query)
            ]
            found.sort(key=_sort_key(query["orderby"]), reverse=query["order"] == "desc")
            total, per_page, page = len(found), query["per_page"], query["page"]
            pages = -(-total // per_page)
            chunk = found[(page - 1) * per_page : page * per_page]
            response = jsonify([shop.order_view(o["id"]) for o in chunk])
        response.headers["X-WP-Total"] = str(total)
        response.headers["X-WP-TotalPages"] = str(pages)
        links = []
        base = f"{shop.home}/wp-json/wc/v3/orders"
        if page > 1:
            links.append(f'<{_page_url(base, request.args, min(page - 1, max(pages, 1)))}>; rel="prev"')
        if pages > page:
            links.append(f'<{_page_url(base, request.args, page + 1)}>; rel="next"')
        if links:
            response.headers["Link"] = ", ".join(links)
        return response

    @app.get("/wp-json/wc/v3/orders/<int:order_id>/refunds/<int:refund_id>")
    def wc_refund(order_id: int, refund_id: int) -> Response:
        wc_auth()
        with shop.lock:
            if order_id not in shop.orders:
                raise WpError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            refund = shop.refunds.get(refund_id)
            if refund is None or refund["_order_id"] != order_id:
                raise WpError(404, "woocommerce_rest_shop_order_refund_invalid_id", "Invalid ID.")
            return jsonify({k: v for k, v in refund.items() if not k.startswith("_") or k == "_links"})

    # -- bpm-bridge/v1 (docs/contract.md §3) ------------------------------------------------------
    ns = "/wp-json/bpm-bridge/v1"

    @app.get(f"{ns}/config")
    def config() -> Response:
        bpm_auth()
        with shop.lock:
            return jsonify(shop.config)

    @app.post(f"{ns}/orders/<int:order_id>/notes")
    def add_note(order_id: int) -> tuple[Response, int]:
        bpm_auth()
        data = body()
        note, customer = data.get("note"), data.get("customer_note", False)
        if not isinstance(note, str) or not note.strip() or len(note) > 2000:
            _invalid("note", "note must be a non-empty string of at most 2000 characters.")
        if not isinstance(customer, bool):
            _invalid("customer_note", "customer_note is not of type boolean.")
        with shop.lock:
            shop.order(order_id)
            note_id = shop.add_note(order_id, note, customer)
        return jsonify({"note_id": note_id, "order_id": order_id}), 201

    @app.get(f"{ns}/orders/<int:order_id>/meta")
    def get_meta(order_id: int) -> Response:
        bpm_auth()
        with shop.lock:
            shop.order(order_id)
            return jsonify({"order_id": order_id, "meta": dict(shop.meta[order_id])})

    @app.post(f"{ns}/orders/<int:order_id>/meta")
    def set_meta(order_id: int) -> Response:
        bpm_auth()
        data = body()
        meta, expect = data.get("meta"), data.get("expect", {})
        if not isinstance(meta, dict) or not meta:
            _invalid("meta", "meta is not of type object.")
        if not isinstance(expect, dict):
            _invalid("expect", "expect is not of type object.")
        for key in list(meta) + list(expect):
            if key not in ALLOWED_META:
                raise WpError(400, "bpm_bridge_meta_not_allowed", f"Meta key {key} is not allowed.", key=key)
        for key, value in list(meta.items()) + list(expect.items()):
            if not isinstance(value, str) or len(value) > 4000:
                _invalid("meta", f"{key} must be a string of at most 4000 characters.")
        with shop.lock:
            order = shop.order(order_id)
            current = shop.meta[order_id]
            if any(current.get(k, "") != v for k, v in expect.items()):
                raise WpError(
                    409,
                    "bpm_bridge_meta_conflict",
                    "The order's meta changed meanwhile.",
                    current={k: current.get(k, "") for k in expect},
                )
            for key, value in meta.items():
                if value == "":
                    current.pop(key, None)
                else:
                    current[key] = value
            shop.touch(order)
            return jsonify({"order_id": order_id, "meta": dict(current)})

    @app.post(f"{ns}/orders/<int:order_id>/status")
    def set_status(order_id: int) -> Response:
        bpm_auth()
        data = body()
        frm, to, note = data.get("from"), data.get("to"), data.get("note")
        for name, value in (("from", frm), ("to", to)):
            if not isinstance(value, str) or not value:
                _invalid(name, f"{name} is a required string.")
        with shop.lock:
            order = shop.order(order_id)
            if order["status"] == to:
                return jsonify({"order_id": order_id, "status": to})
            if (frm, to) not in ORDER_TRANSITIONS:
                raise WpError(
                    400, "bpm_bridge_transition_not_allowed", f"Transition {frm} → {to} is not allowed."
                )
            if order["status"] != frm:
                raise WpError(
                    409,
                    "bpm_bridge_status_conflict",
                    "The order's status changed meanwhile.",
                    current=order["status"],
                )
            order["status"] = to
            if to == "completed":
                now = datetime.now(UTC).replace(microsecond=0)
                order["date_completed"], order["date_completed_gmt"] = _local(now), _gmt(now)
            shop.touch(order)
            shop.add_note(
                order_id, f"Order status changed from {frm} to {to}. {note or ''}".strip(), added_by="system"
            )
            return jsonify({"order_id": order_id, "status": to})

    @app.post(f"{ns}/events/<event_id>/outcome")
    def outcome(event_id: str) -> Response:
        bpm_auth()
        data = body()
        if not isinstance(data.get("action"), str) or not data["action"]:
            _invalid("action", "action is a required string.")
        if data.get("status") not in OUTCOME_STATUSES:
            _invalid("status", f"status is not one of {', '.join(OUTCOME_STATUSES)}.")
        if not isinstance(data.get("message"), str):
            _invalid("message", "message is a required string.")
        if data.get("order_id") is not None and not isinstance(data["order_id"], int):
            _invalid("order_id", "order_id is not of type integer.")
        if not isinstance(data.get("details", {}), dict):
            _invalid("details", "details is not of type object.")
        nxt = data.get("next_attempt_at")
        if data["status"] == "retrying":
            try:
                datetime.fromisoformat(str(nxt).replace("Z", "+00:00"))
            except ValueError:
                _invalid("next_attempt_at", "next_attempt_at must be an RFC 3339 date-time when retrying.")
        with shop.lock:
            row = shop.record_outcome(event_id, data)
            return jsonify({"event_id": event_id, "status": row["status"]})

    @app.get(f"{ns}/rmas/<int:rma_id>")
    def get_rma(rma_id: int) -> Response:
        bpm_auth()
        with shop.lock:
            return jsonify({k: v for k, v in _rma(shop, rma_id).items() if not k.startswith("_")})

    @app.post(f"{ns}/rmas/<int:rma_id>/label")
    def attach_label(rma_id: int) -> Response:
        bpm_auth()
        data = body()
        for name in ("carrier", "tracking_number", "url"):
            if not isinstance(data.get(name), str) or not data[name]:
                _invalid(name, f"{name} is a required string.")
        with shop.lock:
            rma = _rma(shop, rma_id)
            if rma["label"] is not None:
                raise WpError(
                    409, "bpm_bridge_label_exists", "This return already has a label.", current=rma["label"]
                )
            rma["label"] = {k: data[k] for k in ("carrier", "tracking_number", "url")}
            rma["_pdf"] = data.get("pdf_base64")
            return jsonify({k: v for k, v in rma.items() if not k.startswith("_")})

    @app.post(f"{ns}/rmas/<int:rma_id>/status")
    def rma_status(rma_id: int) -> Response:
        bpm_auth()
        data = body()
        frm, to = data.get("from"), data.get("to")
        with shop.lock:
            rma = _rma(shop, rma_id)
            if rma["status"] == to:
                return jsonify({"rma_id": rma_id, "status": to})
            if (frm, to) not in RMA_TRANSITIONS:
                raise WpError(
                    400, "bpm_bridge_transition_not_allowed", f"Transition {frm} → {to} is not allowed."
                )
            if rma["status"] != frm:
                raise WpError(
                    409, "bpm_bridge_status_conflict", "The return's status changed.", current=rma["status"]
                )
            rma["status"] = to
            return jsonify({"rma_id": rma_id, "status": to})

    # -- sandbox admin API ------------------------------------------------------------------------
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
                    "status": "sent",
                    "outcomes": {},
                    "history": [],
                },
            )
            if "actions" in data:
                row["actions"] = list(data["actions"])
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
                "label": None,
                "created_at": _gmt(datetime.now(UTC)) + "Z",
            }
            return jsonify(shop.rmas[rma_id]), 201

    @app.get("/sandbox/rmas/<int:rma_id>")
    def sb_rma_get(rma_id: int) -> Response:
        with shop.lock:
            return jsonify(_rma(shop, rma_id))

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

    return app


def _rma(shop: Shop, rma_id: int) -> dict[str, Any]:
    rma = shop.rmas.get(rma_id)
    if rma is None:
        raise WpError(404, "bpm_bridge_rma_not_found", "Return not found.")
    return rma


def _invalid(param: str, message: str) -> None:
    raise WpError(400, "rest_invalid_param", f"Invalid parameter(s): {param}", params={param: message})


def _error(status: int, code: str, message: str, **data: Any) -> Response:
    response = Response(
        json.dumps({"code": code, "message": message, "data": {"status": status, **data}}),
        status=status,
        mimetype="application/json",
    )
    return response
