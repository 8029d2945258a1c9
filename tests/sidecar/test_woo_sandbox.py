"""The WooCommerce simulator answers like WooCommerce REST v3 and the bpm-bridge/v1 contract."""

from __future__ import annotations

import json
from decimal import Decimal

import requests
from support import API_USER, APP_PASSWORD, Woo

from sidecar.signing import new_secret, signature_headers

AUTH = (API_USER, APP_PASSWORD)


def bpm(
    woo: Woo, method: str, path: str, body=None, secret: str | None = None, auth=AUTH
) -> requests.Response:
    raw = b"" if body is None else json.dumps(body).encode()
    headers = signature_headers([secret or woo.secret], raw)
    if body is not None:
        headers["Content-Type"] = "application/json"
    return requests.request(
        method,
        f"{woo.url}/wp-json/bpm-bridge/v1{path}",
        data=raw or None,
        headers=headers,
        auth=auth,
        timeout=5,
    )


def D(value: str) -> Decimal:
    return Decimal(value)


def test_order_has_the_rest_v3_shape_and_adds_up(woo: Woo) -> None:
    created = woo.admin.create_order()
    order = requests.get(f"{woo.url}/wp-json/wc/v3/orders/{created['id']}", auth=AUTH, timeout=5).json()
    for key in ("id", "status", "currency", "prices_include_tax", "date_paid_gmt", "discount_total",
                "discount_tax", "shipping_total", "shipping_tax", "cart_tax", "total", "total_tax", "billing",
                "shipping", "payment_method", "meta_data", "line_items", "tax_lines", "shipping_lines",
                "fee_lines", "coupon_lines", "refunds", "number", "order_key"):  # fmt: skip
        assert key in order, key
    assert order["currency"] == "PLN" and order["status"] == "processing"
    assert {"key": "_billing_nip", "value": "5260250274"}.items() <= order["meta_data"][0].items()
    for item in order["line_items"]:
        assert isinstance(item["quantity"], int) and isinstance(item["price"], float)
        assert all(
            len(item[k].split(".")[1]) == 2 for k in ("subtotal", "subtotal_tax", "total", "total_tax")
        )
        assert sum(D(t["total"]) for t in item["taxes"]) == D(item["total_tax"])
    exempt = next(i for i in order["line_items"] if i["tax_class"] == "zw")
    assert exempt["taxes"] == [] and exempt["total_tax"] == "0.00"
    assert sorted(t["rate_percent"] for t in order["tax_lines"]) == [5.0, 8.0, 23.0]
    items = order["line_items"] + order["shipping_lines"]
    assert sum(D(i["total"]) + D(i["total_tax"]) for i in items) == D(order["total"])
    # Gross prices minus 10 % on the goods (not on shipping): 161.98 + 35.91 + 22.05 + 90.00 + 15.99.
    assert D(order["total"]) == D("325.93")
    assert sum(D(t["tax_total"]) + D(t["shipping_tax_total"]) for t in order["tax_lines"]) == D(
        order["total_tax"]
    )
    assert order["coupon_lines"][0]["discount"] == order["discount_total"]
    assert D(order["discount_total"]) == sum(D(i["subtotal"]) - D(i["total"]) for i in order["line_items"])


def test_refunds_have_negative_lines_and_a_full_refund_moves_the_status(woo: Woo) -> None:
    order = woo.admin.create_order({"items": [{"name": "A", "price": "123.00", "qty": 2, "tax": "23"}],
                                    "shipping": {"price": "10.00"}})  # fmt: skip
    item = order["line_items"][0]
    partial = woo.admin.refund(
        order["id"], {"items": [{"line_item_id": item["id"], "qty": 1}], "reason": "damaged"}
    )
    got = requests.get(
        f"{woo.url}/wp-json/wc/v3/orders/{order['id']}/refunds/{partial['id']}", auth=AUTH, timeout=5
    )
    refund = got.json()
    line = refund["line_items"][0]
    assert line["quantity"] == -1 and D(line["total"]) + D(line["total_tax"]) == D("-123.00")
    assert {"key": "_refunded_item_id", "value": str(item["id"])}.items() <= line["meta_data"][0].items()
    assert refund["amount"] == "123.00" and refund["reason"] == "damaged"
    after = woo.admin.order(order["id"])["order"]
    assert after["status"] == "processing" and after["refunds"][0]["total"] == "-123.00"
    rest = woo.admin.refund(
        order["id"], {"items": [{"line_item_id": item["id"], "qty": 1}], "shipping": True}
    )
    assert rest["amount"] == "133.00"
    assert woo.admin.order(order["id"])["order"]["status"] == "refunded"
    too_much = requests.post(
        f"{woo.url}/sandbox/orders/{order['id']}/refunds", json={"amount": "1.00"}, timeout=5
    )
    assert too_much.status_code == 400
    missing = requests.get(f"{woo.url}/wp-json/wc/v3/orders/{order['id']}/refunds/9999", auth=AUTH, timeout=5)
    assert (
        missing.status_code == 404
        and missing.json()["code"] == "woocommerce_rest_shop_order_refund_invalid_id"
    )


def test_authentication_errors_are_wordpress_shaped(woo: Woo) -> None:
    order = woo.admin.create_order()
    url = f"{woo.url}/wp-json/wc/v3/orders/{order['id']}"
    assert requests.get(f"{woo.url}/wp-json/", timeout=5).json()["namespaces"]  # the index needs no auth
    anonymous = requests.get(url, timeout=5)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "woocommerce_rest_cannot_view"
    wrong = requests.get(url, auth=(API_USER, "x" * 24), timeout=5)
    assert wrong.status_code == 401 and wrong.json()["code"] == "incorrect_password"
    assert wrong.json()["data"] == {"status": 401}
    nobody = requests.get(url, auth=("nobody", APP_PASSWORD), timeout=5)
    assert nobody.json()["code"] == "invalid_username"
    no_spaces = requests.get(url, auth=(API_USER, APP_PASSWORD.replace(" ", "")), timeout=5)
    assert no_spaces.status_code == 200
    # bpm-bridge/v1: unauthenticated 401, lacking the capability 403, bad signature 401.
    assert bpm(woo, "GET", "/config", auth=None).json()["code"] == "rest_forbidden"
    manager = bpm(woo, "GET", "/config", auth=("shop-manager", "ManagerPassword000000000"))
    assert manager.status_code == 403 and manager.json()["code"] == "rest_forbidden"
    forged = bpm(woo, "GET", "/config", secret=new_secret())
    assert forged.status_code == 401 and forged.json()["code"] == "bpm_bridge_bad_signature"
    unsigned = requests.get(f"{woo.url}/wp-json/bpm-bridge/v1/config", auth=AUTH, timeout=5)
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "bpm_bridge_bad_signature"
    assert bpm(woo, "GET", "/config").json()["invoicing"]["provider"] == "none"


def test_a_signature_over_another_body_is_refused(woo: Woo) -> None:
    order = woo.admin.create_order()
    headers = signature_headers([woo.secret], b'{"note": "signed"}')
    headers["Content-Type"] = "application/json"
    tampered = requests.post(
        f"{woo.url}/wp-json/bpm-bridge/v1/orders/{order['id']}/notes",
        data=b'{"note": "tampered"}', headers=headers, auth=AUTH, timeout=5,
    )  # fmt: skip
    assert tampered.status_code == 401
    assert woo.admin.notes(order["id"]) == []


def test_notes_meta_and_status_routes(woo: Woo) -> None:
    oid = woo.admin.create_order({"items": [{"name": "A", "price": "10.00"}], "status": "on-hold"})["id"]
    note = bpm(woo, "POST", f"/orders/{oid}/notes", {"note": "BPM Bridge: hello", "customer_note": False})
    assert note.status_code == 201 and note.json()["order_id"] == oid
    assert (
        bpm(woo, "POST", f"/orders/{oid}/notes", {"note": "x" * 2001}).json()["code"] == "rest_invalid_param"
    )
    assert (
        bpm(woo, "POST", "/orders/999999/notes", {"note": "x"}).json()["code"] == "bpm_bridge_order_not_found"
    )

    bad = bpm(woo, "POST", f"/orders/{oid}/meta", {"meta": {"_bpm_invoice_id": "1", "_price": "0"}})
    assert bad.status_code == 400 and bad.json()["code"] == "bpm_bridge_meta_not_allowed"
    assert woo.admin.meta(oid) == {}  # nothing written
    ok = bpm(
        woo,
        "POST",
        f"/orders/{oid}/meta",
        {"meta": {"_bpm_invoice_id": "7"}, "expect": {"_bpm_invoice_id": ""}},
    )
    assert ok.status_code == 200 and ok.json()["meta"] == {"_bpm_invoice_id": "7"}
    clash = bpm(
        woo,
        "POST",
        f"/orders/{oid}/meta",
        {"meta": {"_bpm_invoice_id": "8"}, "expect": {"_bpm_invoice_id": ""}},
    )
    assert clash.status_code == 409 and clash.json()["code"] == "bpm_bridge_meta_conflict"
    assert clash.json()["data"]["current"] == {"_bpm_invoice_id": "7"}
    bpm(woo, "POST", f"/orders/{oid}/meta", {"meta": {"_bpm_invoice_id": ""}})
    assert bpm(woo, "GET", f"/orders/{oid}/meta").json()["meta"] == {}

    assert (
        bpm(woo, "POST", f"/orders/{oid}/status", {"from": "processing", "to": "refunded"}).status_code == 400
    )
    conflict = bpm(woo, "POST", f"/orders/{oid}/status", {"from": "processing", "to": "completed"})
    assert conflict.status_code == 409 and conflict.json()["data"]["current"] == "on-hold"
    moved = bpm(woo, "POST", f"/orders/{oid}/status", {"from": "on-hold", "to": "processing", "note": "paid"})
    assert moved.json() == {"order_id": oid, "status": "processing"}
    again = bpm(woo, "POST", f"/orders/{oid}/status", {"from": "on-hold", "to": "processing"})
    assert again.status_code == 200  # already there: idempotent


def test_outcomes_drive_the_outbox_row(woo: Woo) -> None:
    assert (
        bpm(woo, "POST", "/events/nope/outcome", {"action": "a", "status": "done", "message": ""}).status_code
        == 404
    )
    woo.admin.register_event("e1", ["invoice.issue", "crm.sync_order"])
    body = {"action": "invoice.issue", "status": "done", "message": "ok", "order_id": 1, "details": {}}
    assert bpm(woo, "POST", "/events/e1/outcome", body).json() == {"event_id": "e1", "status": "sent"}
    retry = {**body, "action": "crm.sync_order", "status": "retrying", "next_attempt_at": None}
    assert bpm(woo, "POST", "/events/e1/outcome", retry).status_code == 400  # retrying needs a time
    retry["next_attempt_at"] = "2026-11-22T12:00:00Z"
    assert bpm(woo, "POST", "/events/e1/outcome", retry).json()["status"] == "sent"
    skipped = {**body, "action": "crm.sync_order", "status": "skipped"}
    assert bpm(woo, "POST", "/events/e1/outcome", skipped).json()["status"] == "done"
    woo.admin.register_event("e2", ["invoice.issue"])
    failed = {**body, "status": "failed"}
    assert bpm(woo, "POST", "/events/e2/outcome", failed).json()["status"] == "failed"
    assert bpm(woo, "POST", "/events/e2/outcome", {**body, "status": "maybe"}).status_code == 400


def test_rma_routes(woo: Woo) -> None:
    order = woo.admin.create_order()
    rma = requests.post(f"{woo.url}/sandbox/rmas", json={"order_id": order["id"]}, timeout=5).json()
    got = bpm(woo, "GET", f"/rmas/{rma['id']}").json()
    assert got["order_id"] == order["id"] and got["label"] is None and got["items"][0]["quantity"] == 2
    assert (
        bpm(woo, "POST", f"/rmas/{rma['id']}/status", {"from": "requested", "to": "approved"}).status_code
        == 200
    )
    label = {"carrier": "inpost", "tracking_number": "6800", "url": "https://x/label.pdf"}
    assert bpm(woo, "POST", f"/rmas/{rma['id']}/label", label).status_code == 200
    second = bpm(woo, "POST", f"/rmas/{rma['id']}/label", {**label, "tracking_number": "6801"})
    assert second.status_code == 409 and second.json()["code"] == "bpm_bridge_label_exists"
    skip = bpm(woo, "POST", f"/rmas/{rma['id']}/status", {"from": "approved", "to": "refunded"})
    assert skip.json()["code"] == "bpm_bridge_transition_not_allowed"
    assert bpm(woo, "GET", "/rmas/999").status_code == 404


def test_injected_faults_hit_the_next_calls_only(woo: Woo) -> None:
    woo.admin.fault(503, count=2, path="/wp-json/bpm-bridge/v1/config", retry_after=7)
    first = bpm(woo, "GET", "/config")
    assert first.status_code == 503 and first.headers["Retry-After"] == "7"
    assert bpm(woo, "GET", "/config").status_code == 503
    assert bpm(woo, "GET", "/config").status_code == 200
    log = woo.admin.requests()
    assert [r["status"] for r in log[-3:]] == [503, 503, 200]
