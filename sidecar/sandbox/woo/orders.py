"""Orders and refunds in WooCommerce REST v3's shape, built from a compact spec (the sandbox API's input).

Prices are entered gross (``prices_include_tax``, the norm in Polish shops) and split into net + tax per
line the way WooCommerce rounds them (per line, half up, 2 decimals). Tax class ``zw`` (exempt) has no tax
rate and therefore no ``taxes`` entry and no ``tax_lines`` row. Refund items carry negative
quantities/totals and ``_refunded_item_id`` meta, as WooCommerce stores them.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sidecar.sandbox.woo.wp import WARSAW, WpError

CENT = Decimal("0.01")
TAX_RATES = {"23": 1, "8": 2, "5": 3, "0": 4}  # rate percent -> WooCommerce tax rate id


@dataclass
class Ids:
    """WordPress' id sequences: orders and refunds share the post ids, items and meta have their own."""

    posts: Iterator[int] = field(default_factory=lambda: itertools.count(100))
    items: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    meta: Iterator[int] = field(default_factory=lambda: itertools.count(1))


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


def build_order(ids: Ids, home: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A new order (not stored) from the sandbox spec: items, shipping, fees, coupon, nip, status."""
    order_id = next(ids.posts)
    # ``age_seconds``: an order created (and last modified) that long ago, e.g. for a sweep's window.
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=int(spec.get("age_seconds", 0)))
    rate_totals: dict[str, dict[str, Decimal]] = {}
    coupon = spec.get("coupon")
    percent = dec(coupon.get("percent", 0)) / 100 if coupon else Decimal(0)
    line_items: list[dict[str, Any]] = []
    for raw in spec.get("items") or []:
        rate = str(raw.get("tax", "23"))
        qty = int(raw.get("qty", 1))
        gross = dec(raw["price"]) * qty
        discounted = (gross * (1 - percent)).quantize(CENT, rounding=ROUND_HALF_UP)
        sub_net, sub_tax = split_gross(gross, rate)
        net, tax = split_gross(discounted, rate)
        line_items.append(
            {
                "id": next(ids.items),
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
                "id": next(ids.items),
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
                "id": next(ids.items),
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
        meta_data.append({"id": next(ids.meta), "key": "_billing_nip", "value": str(spec["nip"])})
    if spec.get("consent") is not None:  # the checkout's marketing-consent record, as the plugin stores it
        meta_data.append(
            {"id": next(ids.meta), "key": CONSENT_META_KEY, "value": consent_json(spec["consent"])}
        )
    if spec.get("crm_erased"):  # the buyer was erased on request (the plugin's eraser marks the order)
        meta_data.append(
            {"id": next(ids.meta), "key": CRM_ERASED_META_KEY, "value": "2026-12-01T09:00:00+00:00"}
        )
    order = {
        "id": order_id,
        "parent_id": 0,
        "status": status,
        "currency": spec.get("currency", "PLN"),
        "version": "9.4.2",
        "prices_include_tax": True,
        "date_created": local(now),
        "date_created_gmt": gmt(now),
        "date_modified": local(now),
        "date_modified_gmt": gmt(now),
        "discount_total": money(discount),
        "discount_tax": money(discount_tax),
        "shipping_total": money(shipping_total),
        "shipping_tax": money(shipping_tax),
        "cart_tax": money(cart_tax),
        "total": money(net_total + cart_tax + shipping_tax),
        "total_tax": money(cart_tax + shipping_tax),
        "customer_id": int(spec.get("customer_id", 0)),
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
        "date_completed": local(now) if status == "completed" else None,
        "date_paid": local(now) if paid else None,
        "cart_hash": secrets.token_hex(16),
        "number": str(order_id),
        "meta_data": meta_data,
        "line_items": line_items,
        "tax_lines": [
            {
                "id": next(ids.items),
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
                    "id": next(ids.items),
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
        "date_completed_gmt": gmt(now) if status == "completed" else None,
        "date_paid_gmt": gmt(now) if paid else None,
        "_links": {
            "self": [{"href": f"{home}/wp-json/wc/v3/orders/{order_id}"}],
            "collection": [{"href": f"{home}/wp-json/wc/v3/orders"}],
        },
    }
    return order


CONSENT_META_KEY = "_bpm_marketing_consent"
CRM_ERASED_META_KEY = "_bpm_crm_erased"


def consent_json(spec: Mapping[str, Any]) -> str:
    """The plugin's consent record: {"granted", "version", "at", "source", "ip"} as JSON."""
    record = {
        "granted": bool(spec.get("granted")),
        "version": str(spec.get("version", "v1")),
        "at": spec.get("at") or gmt(datetime.now(UTC).replace(microsecond=0)) + "Z",
        "source": str(spec.get("source", "checkout")),
        "ip": str(spec.get("ip", "127.0.0.1")),
    }
    return json.dumps(record)


def consent_view(raw: str | None) -> dict[str, Any]:
    """GET orders/{id}'s ``consent`` key from a stored record ("" or None: no consent ever recorded)."""
    try:
        record = json.loads(raw) if raw else {}
    except ValueError:
        record = {}
    if not isinstance(record, dict):
        record = {}
    return {
        "marketing": bool(record.get("granted")),
        "version": str(record.get("version") or ""),
        "at": record.get("at") or None,
        "source": str(record.get("source") or ""),
    }


def build_refund(
    ids: Ids, home: str, order: Mapping[str, Any], spec: Mapping[str, Any], already: Decimal
) -> dict[str, Any]:
    """A refund of ``order`` (not stored); ``already`` is what earlier refunds took back."""
    order_id = order["id"]
    refund_id = next(ids.posts)
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
                "id": next(ids.items),
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
                    {"id": t["id"], "total": money(-tax), "subtotal": money(-tax)} for t in original["taxes"]
                ],
                "meta_data": [
                    {"id": next(ids.meta), "key": "_refunded_item_id", "value": str(original["id"])}
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
                    "id": next(ids.items),
                    "method_title": ship["method_title"],
                    "method_id": ship["method_id"],
                    "instance_id": ship["instance_id"],
                    "total": money(-net),
                    "total_tax": money(-tax),
                    "taxes": [{"id": t["id"], "total": money(-tax), "subtotal": ""} for t in ship["taxes"]],
                    "meta_data": [
                        {"id": next(ids.meta), "key": "_refunded_item_id", "value": str(ship["id"])}
                    ],
                }
            )
            amount += net + tax
    if "amount" in spec:
        amount = dec(spec["amount"])
    if amount <= 0 or already + amount > dec(order["total"]):
        raise WpError(400, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.")
    now = datetime.now(UTC).replace(microsecond=0)
    refund = {
        "id": refund_id,
        "date_created": local(now),
        "date_created_gmt": gmt(now),
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
            "self": [{"href": f"{home}/wp-json/wc/v3/orders/{order_id}/refunds/{refund_id}"}],
            "up": [{"href": f"{home}/wp-json/wc/v3/orders/{order_id}"}],
        },
    }
    return refund


def _taxes(rate: str, total: Decimal, subtotal: Decimal) -> list[dict[str, Any]]:
    if rate == "zw":
        return []
    return [{"id": TAX_RATES[rate], "total": money(total), "subtotal": money(subtotal)}]


def _add_rate(
    totals: dict[str, dict[str, Decimal]],
    rate: str,
    tax: Decimal = Decimal(0),
    shipping: Decimal = Decimal(0),
) -> None:
    if rate == "zw":
        return
    entry = totals.setdefault(rate, {"tax": Decimal(0), "shipping": Decimal(0)})
    entry["tax"] += tax
    entry["shipping"] += shipping


def gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def local(moment: datetime) -> str:
    return moment.astimezone(WARSAW).strftime("%Y-%m-%dT%H:%M:%S")
