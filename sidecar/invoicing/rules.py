"""When an order is due a document, and which one (docs/contract.md §3.1 ``invoicing`` section).

State-based: the answer depends only on the order as it is now and the shop's settings, so the same
event delivered twice, or an ``order.status_changed`` arriving after ``order.paid``, decides the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sidecar.invoicing.document import DocumentKind
from sidecar.privacy import NIP_META_KEY, meta_value

TRIGGERS = ("paid", "completed")
B2C_DOCUMENTS = ("receipt", "invoice")
# Statuses in which an order is, or has been, paid for and is still a sale.
_PAID_STATUSES = ("processing", "completed")
_NEVER = ("cancelled", "failed", "pending", "checkout-draft", "trash")


@dataclass(frozen=True)
class Decision:
    due: bool
    reason: str  # shown to the shop admin when nothing is issued
    kind: DocumentKind | None = None


def trigger_for(config: Mapping[str, Any], payment_method: str | None) -> str:
    trigger = config.get("trigger") or {}
    by_method = trigger.get("by_payment_method") or {}
    chosen = by_method.get(payment_method or "", trigger.get("default") or "paid")
    return chosen if chosen in TRIGGERS else "paid"


def document_kind(order: Mapping[str, Any], config: Mapping[str, Any]) -> DocumentKind:
    """A NIP on the order means a VAT invoice for a business buyer; otherwise the shop's B2C choice."""
    if meta_value(order, NIP_META_KEY):
        return "vat"
    return "vat" if (config.get("b2c_document") or "receipt") == "invoice" else "receipt"


def decide(order: Mapping[str, Any], config: Mapping[str, Any]) -> Decision:
    status = str(order.get("status") or "")
    number = order.get("number") or order.get("id")
    if status in _NEVER:
        return Decision(False, f"order {number} is {status or 'without a status'}: no document is due")
    if status == "refunded":
        return Decision(False, f"order {number} was refunded before it was invoiced: no document is due")
    method = order.get("payment_method")
    trigger = trigger_for(config, method)
    if trigger == "completed" and status != "completed":
        return Decision(
            False,
            f"order {number} ({method or 'no payment method'}) is invoiced when completed; it is {status}",
        )
    if trigger == "paid" and not (order.get("date_paid_gmt") or status in _PAID_STATUSES):
        return Decision(False, f"order {number} is not paid yet ({status})")
    if trigger == "paid" and status not in _PAID_STATUSES:
        return Decision(
            False, f"order {number} is {status}: documents are issued for processing or completed orders"
        )
    return Decision(True, "", document_kind(order, config))
