"""Data minimisation (RODO/GDPR): the one module that decides which order fields each destination gets.

Every provider call that carries personal data is built from what these functions return, never from
the raw WooCommerce order, so a reviewer can check in one place what leaves the shop and why:

- invoice (Fakturownia, inFakt): buyer name / company, NIP, billing address and the order's items and
  money facts — what a VAT invoice must show (art. 106e of the VAT act). The e-mail only when the shop
  lets the invoicing system e-mail the document. No phone, no shipping address, no customer note.
- carrier (return labels, :func:`for_carrier`): the customer's name, phone, e-mail and the locker code —
  or, for a courier pick-up only, the pickup address. No order facts, items, note or bank account.
- crm: e-mail, name and order facts; marketing attributes only with recorded consent.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

NIP_META_KEY = "_billing_nip"


def meta_value(order: Mapping[str, Any], key: str) -> str:
    """A ``meta_data`` value of a WooCommerce REST v3 order ("" when absent)."""
    for entry in order.get("meta_data") or ():
        if isinstance(entry, Mapping) and entry.get("key") == key:
            value = entry.get("value")
            return "" if value is None else str(value).strip()
    return ""


def _pick(source: Mapping[str, Any] | None, keys: tuple[str, ...]) -> dict[str, str]:
    source = source or {}
    return {key: str(source.get(key) or "").strip() for key in keys}


_ITEM_KEYS = (
    "id",
    "name",
    "quantity",
    "subtotal",
    "subtotal_tax",
    "total",
    "total_tax",
    "taxes",
    "sku",
    "meta_data",
)
_SHIPPING_KEYS = ("id", "method_title", "method_id", "total", "total_tax", "taxes", "meta_data")
_FEE_KEYS = ("id", "name", "total", "total_tax", "taxes", "tax_status", "meta_data")
_ORDER_FACTS = (
    "id",
    "number",
    "status",
    "currency",
    "total",
    "total_tax",
    "discount_total",
    "discount_tax",
    "shipping_total",
    "prices_include_tax",
    "payment_method",
    "payment_method_title",
    "date_created_gmt",
    "date_paid_gmt",
    "date_completed_gmt",
)


def _items(rows: Any, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for row in rows or ():
        item = {k: row.get(k) for k in keys if k in row}
        if "meta_data" in item:
            # Only the link from a refunded line to the order line is needed; item meta can hold
            # personalisation text typed by the shopper.
            item["meta_data"] = [m for m in item["meta_data"] or () if m.get("key") == "_refunded_item_id"]
        out.append(item)
    return out


def order_facts(order: Mapping[str, Any]) -> dict[str, Any]:
    """Items and money of an order or a refund: no personal data."""
    facts: dict[str, Any] = {k: order.get(k) for k in _ORDER_FACTS if k in order}
    facts["line_items"] = _items(order.get("line_items"), _ITEM_KEYS)
    facts["shipping_lines"] = _items(order.get("shipping_lines"), _SHIPPING_KEYS)
    facts["fee_lines"] = _items(order.get("fee_lines"), _FEE_KEYS)
    facts["tax_lines"] = [
        {k: t.get(k) for k in ("rate_id", "rate_code", "label", "rate_percent", "compound")}
        for t in order.get("tax_lines") or ()
    ]
    facts["coupon_lines"] = [
        {"code": c.get("code"), "discount": c.get("discount")} for c in order.get("coupon_lines") or ()
    ]
    return facts


def for_invoice(order: Mapping[str, Any], *, with_email: bool) -> dict[str, Any]:
    """What an invoicing system receives about an order: ``{"buyer": {...}, "order": {...}}``."""
    billing = order.get("billing") or {}
    buyer = _pick(
        billing,
        ("first_name", "last_name", "company", "address_1", "address_2", "city", "postcode", "country"),
    )
    buyer["nip"] = meta_value(order, NIP_META_KEY)
    buyer["email"] = str(billing.get("email") or "").strip() if with_email else ""
    return {"buyer": buyer, "order": order_facts(order)}


_CARRIER_CONTACT = ("first_name", "last_name", "email", "phone")
_CARRIER_ADDRESS = ("address_1", "address_2", "city", "postcode", "country")


def for_carrier(rma: Mapping[str, Any]) -> dict[str, str]:
    """The customer of a return as a carrier may see them (``GET rmas/{id}``'s ``customer``)."""
    customer = rma.get("customer") or {}
    picked = _pick(customer, _CARRIER_CONTACT)
    method = str(rma.get("method") or "")
    if method == "courier":  # a courier collects the parcel at the customer's door
        picked.update(_pick(customer, _CARRIER_ADDRESS))
    elif method == "locker":
        picked["point"] = str(rma.get("point") or "").strip()
    return picked


def for_crm(
    order: Mapping[str, Any],
    *,
    marketing_consent: bool,
    consent: Mapping[str, Any] | None = None,
    meta: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What a CRM (HubSpot, Pipedrive, a webhook flow) receives: ``{"contact": {...}, "order": {...}}``.

    The contact is the buyer's e-mail and name; company and NIP only for a B2B buyer (a NIP on the order);
    the consent's version and time only when the customer gave marketing consent (``marketing_consent``,
    from the order's ``consent`` record) and its time is recorded, so without it the contact is
    transactional. No phone, no
    address, no customer note, no IP. The order is its money facts, dates, the products (name, quantity,
    gross unit price, SKU) and what BPM Bridge knows about it: the invoice number and PDF link, the
    return's state.
    """
    billing = order.get("billing") or {}
    contact: dict[str, Any] = _pick(billing, ("email", "first_name", "last_name"))
    contact["email"] = contact["email"].lower()
    nip = meta_value(order, NIP_META_KEY)
    company = str(billing.get("company") or "").strip()
    # A consumer's "company" field is often a household or a nickname: only a NIP makes the buyer a business.
    contact["company"] = company if nip else ""
    contact["nip"] = nip
    record = consent or {}
    # Consent counts only as recorded: a "granted" without the time it was given cannot be proven (art. 7(1)).
    if marketing_consent and record.get("at"):
        contact["marketing_consent"] = True
        contact["consent_version"] = str(record.get("version") or "")
        contact["consent_at"] = record.get("at") or None
    facts = {
        k: order.get(k)
        for k in (
            "id",
            "number",
            "status",
            "currency",
            "total",
            "date_created_gmt",
            "date_paid_gmt",
            "date_completed_gmt",
        )
    }
    facts["items"] = [_crm_item(i) for i in order.get("line_items") or ()]
    known = meta or {}
    facts["invoice_number"] = str(known.get("_bpm_invoice_number") or "")
    facts["invoice_url"] = str(known.get("_bpm_invoice_url") or "")
    facts["return_state"] = str(known.get("_bpm_rma_state") or "")
    return {"contact": contact, "order": facts}


def _crm_item(item: Mapping[str, Any]) -> dict[str, Any]:
    quantity = int(item.get("quantity") or 0)
    gross = Decimal(str(item.get("total") or "0")) + Decimal(str(item.get("total_tax") or "0"))
    unit = (gross / quantity).quantize(Decimal("0.01")) if quantity else gross
    return {
        "name": str(item.get("name") or ""),
        "quantity": quantity,
        "price": unit,
        "sku": str(item.get("sku") or ""),
    }
