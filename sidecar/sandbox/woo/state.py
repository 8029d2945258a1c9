"""The simulated shop's state and the plugin's rules over it, in one object guarded by one lock.

The rules are the contract's (docs/contract.json through :mod:`sidecar.contract`): allow-listed meta keys,
order and RMA transitions, outcome statuses and limits are read from it, never restated here, so the
simulator cannot drift from the plugin (tests/contract/test_conformance.py runs the same cases on both).
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sidecar import contract
from sidecar.sandbox.woo.orders import (
    CONSENT_META_KEY,
    CRM_ERASED_META_KEY,
    Ids,
    build_order,
    build_refund,
    consent_json,
    consent_view,
    dec,
    gmt,
    local,
)
from sidecar.sandbox.woo.wp import WpError

API_USER = "bpm-api"
CAPABILITY = "bpm_bridge_api"
REFUND_LINES = ("line_items", "shipping_lines", "fee_lines")  # decision 15: every refunded line


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


def check_transition(table: str, frm: str, to: str, what: str) -> None:
    """The plugin checks the contract's transition first (400), before it looks at the thing."""
    if to not in (contract.load()[table].get(frm) or ()):
        raise WpError(
            400, "bpm_bridge_transition_not_allowed", f'{what} may not move from "{frm}" to "{to}".'
        )


def must_move(frm: str, to: str, current: str, what: str) -> bool:
    """True when the thing must change; False when it already is in ``to`` (idempotent); 409 otherwise."""
    if current == to:
        return False
    if current != frm:
        message = f'{what} is not in status "{frm}" (it is "{current}").'
        raise WpError(409, "bpm_bridge_status_conflict", message, current=current)
    return True


def found(table: Mapping[Any, dict[str, Any]], key: Any, code: str, message: str) -> dict[str, Any]:
    """A stored thing, or the plugin's 404 for it."""
    if key not in table:
        raise WpError(404, code, message)
    return table[key]


class Shop:
    """All the simulator's state (the werkzeug server is threaded: callers hold ``lock``)."""

    def __init__(self, home: str, secrets_: list[str], users: dict[str, dict[str, Any]]) -> None:
        self.lock = threading.RLock()
        self.home = home
        self.secrets = secrets_
        self.users = users
        self.permalinks = "pretty"  # or "plain": /wp-json/ is not routed, ?rest_route= is
        self.home_from_request = False
        self.ids = Ids()
        self.note_ids = itertools.count(1)
        self.rma_ids = itertools.count(1)
        self.orders: dict[int, dict[str, Any]] = {}
        self.refunds: dict[int, dict[str, Any]] = {}  # refund id -> refund
        self.meta: dict[int, dict[str, str]] = {}  # order id -> _bpm_* meta (absent keys not stored)
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.events: dict[str, dict[str, Any]] = {}  # the plugin's outbox rows
        self.rmas: dict[int, dict[str, Any]] = {}
        self.consents: dict[int, str] = {}  # customer id -> consent record JSON (user meta)
        self.used_ids: dict[str, float] = {}  # the replay guard: message id -> expiry
        self.config = default_config(home)
        self.faults: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []

    # -- orders -----------------------------------------------------------------------------------
    def create_order(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        order = build_order(self.ids, self.home, spec)
        if spec.get("consent") is not None and int(spec.get("customer_id") or 0):
            self.set_consent(int(spec["customer_id"]), spec["consent"])
        self.orders[order["id"]] = order
        self.meta[order["id"]] = {}
        self.notes[order["id"]] = []
        return order

    def consent_view(self, order_id: int) -> dict[str, Any]:
        """GET orders/{id}'s ``consent``: a registered customer's own record wins over the order's."""
        order = self.orders[order_id]
        customer = int(order.get("customer_id") or 0)
        stored = next((m["value"] for m in order["meta_data"] if m["key"] == CONSENT_META_KEY), None)
        view = consent_view(self.consents[customer] if customer and customer in self.consents else stored)
        # The plugin's eraser marks every order of an erased buyer: nothing of them goes to the CRM.
        erased = bool(self.meta[order_id].get(CRM_ERASED_META_KEY)) or any(
            m["key"] == CRM_ERASED_META_KEY for m in order["meta_data"]
        )
        return {**view, "marketing": view["marketing"] and not erased, "crm_suppressed": erased}

    def set_consent(self, customer_id: int, spec: Mapping[str, Any]) -> dict[str, Any]:
        """My Account's consent change (or a checkout by a registered customer): the user meta."""
        self.consents[int(customer_id)] = consent_json(spec)
        return consent_view(self.consents[int(customer_id)])

    def order(self, order_id: int) -> dict[str, Any]:
        return found(self.orders, order_id, "bpm_bridge_order_not_found", "No order with this id.")

    def order_view(self, order_id: int) -> dict[str, Any]:
        """The REST v3 representation: stored fields plus the current meta."""
        view = copy.deepcopy(self.orders[order_id])
        view["meta_data"] += [
            {"id": 10_000 + i, "key": k, "value": v}
            for i, (k, v) in enumerate(sorted(self.meta[order_id].items()))
        ]
        return view

    def meta_values(self, order_id: int) -> dict[str, str]:
        """Every allow-listed key with its value, "" when absent (the plugin's meta shape)."""
        stored = self.meta[order_id]
        return {key: stored.get(key, "") for key in contract.order_meta_keys()}

    def refund_views(self, order_id: int) -> list[dict[str, Any]]:
        """GET orders/{id}'s refunds, newest first: amount and reason as WooCommerce CRUD gives them."""
        return [
            {"id": r["id"], "amount": r["amount"], "reason": r["reason"], **{k: r[k] for k in REFUND_LINES}}
            for r in reversed(self.refunds.values())
            if r["_order_id"] == order_id
        ]

    def touch(self, order: dict[str, Any]) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        order["date_modified"], order["date_modified_gmt"] = local(now), gmt(now)

    def add_note(
        self, order_id: int, text: str, customer_note: bool = False, added_by: str = API_USER
    ) -> int:
        note_id = next(self.note_ids)
        self.notes[order_id].append(
            {
                "id": note_id,
                "author": added_by,
                "date_created_gmt": gmt(datetime.now(UTC).replace(microsecond=0)),
                "note": text,
                "customer_note": customer_note,
            }
        )
        return note_id

    def create_refund(self, order_id: int, spec: Mapping[str, Any]) -> dict[str, Any]:
        order = self.order(order_id)
        already = sum(
            (dec(r["amount"]) for r in self.refunds.values() if r["_order_id"] == order_id), Decimal(0)
        )
        refund = build_refund(self.ids, self.home, order, spec, already)
        amount = dec(refund["amount"])
        self.refunds[refund["id"]] = refund
        order["refunds"].append({"id": refund["id"], "reason": refund["reason"], "total": f"{-amount:.2f}"})
        if already + amount == dec(order["total"]):
            order["status"] = "refunded"  # wc_order_fully_refunded()
        self.touch(order)
        self.add_note(order_id, f"Refunded {amount:.2f} zł - {refund['reason']}", added_by="system")
        return refund

    def meta_conflict(self, order_id: int, expect: Mapping[str, str]) -> WpError | None:
        current = {k: self.meta[order_id].get(k, "") for k in expect}
        if all(current[k] == v for k, v in expect.items()):
            return None
        return WpError(
            409,
            "bpm_bridge_meta_conflict",
            "The order meta does not have the expected values; nothing was written.",
            current=current,
        )

    def write_meta(self, order_id: int, meta: Mapping[str, str]) -> None:
        stored = self.meta[order_id]
        for key, value in meta.items():
            if value == "":
                stored.pop(key, None)
            else:
                stored[key] = value
        if meta:
            self.touch(self.orders[order_id])

    def set_status(self, order_id: int, frm: str, to: str, note: str) -> str:
        check_transition("order_transitions", frm, to, "The order")
        order = self.order(order_id)
        if not must_move(frm, to, order["status"], "The order"):
            return to
        order["status"] = to
        if to == "completed":
            now = datetime.now(UTC).replace(microsecond=0)
            order["date_completed"], order["date_completed_gmt"] = local(now), gmt(now)
        self.touch(order)
        text = f"{note} Order status changed from {frm} to {to}.".strip()
        self.add_note(order_id, text, added_by="system")
        return to

    def search(self, query: Mapping[str, Any]) -> dict[str, Any]:
        """POST orders/search: ids and BPM state only, oldest id first."""
        statuses = {s[3:] if s.startswith("wc-") else s for s in query["statuses"]}
        after, before, missing = (
            query.get("modified_after"),
            query.get("modified_before"),
            query["missing_meta"],
        )
        found = []
        for order_id in sorted(self.orders):
            order = self.orders[order_id]
            moment = datetime.fromisoformat(order["date_modified_gmt"]).replace(tzinfo=UTC)
            if order["status"] not in statuses or (missing and self.meta[order_id].get(missing)):
                continue
            # modified_after is exclusive, modified_before inclusive (docs/contract.md §3.9).
            if (after and not moment > after) or (before and not moment <= before):
                continue
            found.append(order)
        per_page, page = query["per_page"], query["page"]
        chunk = found[(page - 1) * per_page : page * per_page]
        return {
            "orders": [
                {
                    "id": o["id"],
                    "status": o["status"],
                    "date_modified_gmt": o["date_modified_gmt"],
                    "meta": self.meta_values(o["id"]),
                }
                for o in chunk
            ],
            "total": len(found),
            "pages": -(-len(found) // per_page),
        }

    # -- the replay guard -------------------------------------------------------------------------
    def use_message_id(self, msg_id: str, now: float | None = None) -> bool:
        """True the first time an id is seen inside the replay window."""
        now = time.time() if now is None else now
        self.used_ids = {k: v for k, v in self.used_ids.items() if v >= now}
        if msg_id in self.used_ids:
            return False
        self.used_ids[msg_id] = now + int(contract.load()["signature"]["replay_window_seconds"])
        return True

    # -- outbox -----------------------------------------------------------------------------------
    def event_row(self, event_id: str) -> dict[str, Any]:
        return found(self.events, event_id, "bpm_bridge_event_not_found", "No outbox event with this id.")

    def record_outcome(self, event_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        row = self.event_row(event_id)
        row["outcomes"][body["action"]] = {**body, "received_at": time.time()}
        row["history"].append({**body, "received_at": time.time()})
        resolved = tuple(contract.load()["resolved_outcomes"])
        statuses = [row["outcomes"].get(a, {}).get("status") for a in row["actions"]]
        if any(o.get("status") == "failed" for o in row["outcomes"].values()):
            row["status"] = "failed"
        elif all(s in resolved for s in statuses):
            row["status"] = "done"
        else:
            row["status"] = "sent"
        return row

    # -- returns ----------------------------------------------------------------------------------
    def rma(self, rma_id: int) -> dict[str, Any]:
        return found(self.rmas, rma_id, "bpm_bridge_rma_not_found", "No return with this id.")

    def rma_status(self, rma_id: int, frm: str, to: str, note: str) -> dict[str, Any]:
        check_transition("rma_transitions", frm, to, "A return")
        rma = self.rma(rma_id)
        result = {"rma_id": rma_id, "order_id": rma["order_id"], "status": to}
        if not must_move(frm, to, rma["status"], "A return"):
            return result
        rma["status"] = to
        if note and rma["order_id"] in self.orders:
            self.add_note(rma["order_id"], f"Return #{rma_id}: {note}", added_by="system")
        return result
