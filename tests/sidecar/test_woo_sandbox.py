"""The WooCommerce simulator answers like WooCommerce REST v3 and the bpm-bridge/v1 contract."""

from __future__ import annotations

import json
from decimal import Decimal

import requests
from sandbox_client import WooSandbox
from support import API_USER, APP_PASSWORD, Woo

from sidecar import contract
from sidecar.signing import new_secret, request_signature_headers, signature_headers

AUTH = (API_USER, APP_PASSWORD)
NS = "/bpm-bridge/v1"


def bpm(
    woo: Woo,
    method: str,
    path: str,
    body=None,
    secret: str | None = None,
    auth=AUTH,
    *,
    plain: bool = False,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """A signed (contract revision 2) request to bpm-bridge/v1, under pretty or plain permalinks."""
    raw = b"" if body is None else json.dumps(body).encode()
    route = NS + path
    signed = request_signature_headers([secret or woo.secret], method, route, query or [], raw)
    if body is not None:
        signed["Content-Type"] = "application/json"
    params = [("rest_route", route)] if plain else []
    url = f"{woo.url}/" if plain else f"{woo.url}/wp-json{route}"
    return requests.request(
        method,
        url,
        params=params + (query or []),
        data=raw or None,
        headers={**signed, **(headers or {})},
        auth=auth,
        timeout=5,
    )


def empty_meta(**values: str) -> dict[str, str]:
    return {**dict.fromkeys(contract.order_meta_keys(), ""), **values}


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
    route = f"{NS}/orders/{order['id']}/notes"
    headers = request_signature_headers([woo.secret], "POST", route, [], b'{"note": "signed"}')
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
    assert ok.status_code == 200 and ok.json()["meta"] == empty_meta(_bpm_invoice_id="7")
    clash = bpm(
        woo,
        "POST",
        f"/orders/{oid}/meta",
        {"meta": {"_bpm_invoice_id": "8"}, "expect": {"_bpm_invoice_id": ""}},
    )
    assert clash.status_code == 409 and clash.json()["code"] == "bpm_bridge_meta_conflict"
    assert clash.json()["data"]["current"] == {"_bpm_invoice_id": "7"}
    bpm(woo, "POST", f"/orders/{oid}/meta", {"meta": {"_bpm_invoice_id": ""}})
    assert bpm(woo, "GET", f"/orders/{oid}/meta").json()["meta"] == empty_meta()

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
        bpm(woo, "POST", "/events/nope/outcome", {"action": "invoice.issue", "status": "done"}).status_code
        == 404
    )
    woo.admin.register_event("e1", ["invoice.issue", "crm.sync_order"])
    body = {"action": "invoice.issue", "status": "done", "message": "ok", "order_id": 1, "details": {}}
    assert bpm(woo, "POST", "/events/e1/outcome", body).json() == {"event_id": "e1", "status": "sent"}
    retry = {**body, "action": "crm.sync_order", "status": "retrying", "next_attempt_at": "yesterday"}
    assert bpm(woo, "POST", "/events/e1/outcome", retry).status_code == 400  # not a date-time
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
    rma = WooSandbox(woo.url).create_rma(order["id"])
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


def test_the_rules_come_from_the_contract(woo: Woo) -> None:
    """The drift issue 9 found: the simulator follows docs/contract.json's transitions, as the plugin does."""
    rid = WooSandbox(woo.url).create_rma(woo.admin.create_order()["id"])["id"]
    assert "received" not in contract.load()["rma_transitions"]["requested"]
    refused = bpm(woo, "POST", f"/rmas/{rid}/status", {"from": "requested", "to": "received"})
    assert refused.status_code == 400 and refused.json()["code"] == "bpm_bridge_transition_not_allowed"
    assert "rejected" in contract.load()["rma_transitions"]["requested"]
    rejected = bpm(woo, "POST", f"/rmas/{rid}/status", {"from": "requested", "to": "rejected"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    # The plugin checks the transition before the current status: a forbidden one is 400 even when done.
    oid = woo.admin.create_order({"items": [{"name": "A", "price": "10.00"}], "status": "completed"})["id"]
    done = bpm(woo, "POST", f"/orders/{oid}/status", {"from": "on-hold", "to": "completed"})
    assert done.status_code == 400 and done.json()["code"] == "bpm_bridge_transition_not_allowed"


def test_signatures_bind_method_route_and_query_and_ids_are_used_once(woo: Woo) -> None:
    a, b = woo.admin.create_order()["id"], woo.admin.create_order()["id"]
    raw = json.dumps({"note": "for a"}).encode()
    headers = request_signature_headers([woo.secret], "POST", f"{NS}/orders/{a}/notes", [], raw)
    headers["Content-Type"] = "application/json"
    reaimed = requests.post(
        f"{woo.url}/wp-json{NS}/orders/{b}/notes", data=raw, headers=headers, auth=AUTH, timeout=5
    )
    assert reaimed.status_code == 401 and reaimed.json()["code"] == "bpm_bridge_bad_signature"
    first = requests.post(
        f"{woo.url}/wp-json{NS}/orders/{a}/notes", data=raw, headers=headers, auth=AUTH, timeout=5
    )
    assert first.status_code == 201
    replay = requests.post(
        f"{woo.url}/wp-json{NS}/orders/{a}/notes", data=raw, headers=headers, auth=AUTH, timeout=5
    )
    assert replay.status_code == 401 and "already used" in replay.json()["message"]
    # A revision-1 signature (body only) is refused with a message that says why.
    old = signature_headers([woo.secret], b"")
    got = requests.get(f"{woo.url}/wp-json{NS}/config", headers=old, auth=AUTH, timeout=5)
    assert got.status_code == 401 and "revision 2" in got.json()["message"]
    assert [n["note"] for n in woo.admin.notes(a)] == ["for a"] and woo.admin.notes(b) == []


def test_query_parameters_and_method_overrides_are_refused_before_anything_else(woo: Woo) -> None:
    oid = woo.admin.create_order()["id"]
    for query in ([("_method", "POST")], [("note", "x")], [("_envelope", "1")]):
        got = bpm(woo, "GET", f"/orders/{oid}/meta", query=query)
        assert got.status_code == 400 and got.json()["code"] == "bpm_bridge_query_not_allowed", query
        assert got.json()["data"]["params"] == [query[0][0]]
    # Before authentication of the capability and before routing: even anonymous, even a wrong route.
    assert (
        bpm(woo, "GET", "/nope", auth=None, query=[("a", "1")]).json()["code"]
        == "bpm_bridge_query_not_allowed"
    )
    override = bpm(woo, "GET", "/config", headers={"X-HTTP-Method-Override": "POST"})
    assert override.status_code == 400 and override.json()["data"]["params"] == ["X-HTTP-Method-Override"]
    assert bpm(woo, "GET", "/config").headers["Cache-Control"] == "no-store"


def test_arguments_are_validated_before_the_signature(woo: Woo) -> None:
    oid = woo.admin.create_order()["id"]
    unsigned = requests.post(f"{woo.url}/wp-json{NS}/orders/{oid}/notes", json={}, auth=AUTH, timeout=5)
    assert unsigned.status_code == 400 and unsigned.json()["code"] == "rest_missing_callback_param"
    tags = bpm(woo, "POST", f"/orders/{oid}/notes", {"note": "<script>alert(1)</script>"})
    assert tags.status_code == 400 and tags.json()["code"] == "rest_invalid_param"
    deep = requests.post(
        f"{woo.url}/wp-json{NS}/orders/{oid}/notes",
        data=b"[" * 30000 + b"]" * 30000,
        headers={"Content-Type": "application/json"},
        auth=AUTH,
        timeout=5,
    )
    assert deep.status_code == 400 and deep.json()["code"] == "rest_invalid_json"


def test_read_apply_and_search(woo: Woo) -> None:
    order = woo.admin.create_order({"items": [{"name": "A", "price": "100.00", "qty": 2}]})
    oid = order["id"]
    woo.admin.refund(oid, {"amount": "10.00", "reason": "first"})
    woo.admin.refund(oid, {"amount": "20.00", "reason": "second"})
    read = bpm(woo, "GET", f"/orders/{oid}").json()
    assert read["order"]["id"] == oid and read["meta"] == empty_meta()
    assert [(r["amount"], r["reason"]) for r in read["refunds"]] == [("20.00", "second"), ("10.00", "first")]

    assert bpm(woo, "POST", f"/orders/{oid}/apply", {}).json()["code"] == "bpm_bridge_nothing_to_apply"
    intent = bpm(woo, "POST", f"/orders/{oid}/apply", {"meta": {"_bpm_invoice_id": "pending"},
                                                        "expect": {"_bpm_invoice_id": ""}})  # fmt: skip
    assert intent.status_code == 200
    assert intent.json() == {"order_id": oid, "meta": empty_meta(_bpm_invoice_id="pending"), "note_id": None,
                             "outcome": None}  # fmt: skip
    woo.admin.register_event("ev-1", ["invoice.issue"])
    final = {
        "meta": {"_bpm_invoice_id": "9001"},
        "expect": {"_bpm_invoice_id": "pending"},
        "note": {"note": "Invoice FV 1 issued.", "customer_note": False},
        "outcome": {"event_id": "ev-1", "action": "invoice.issue", "status": "done", "message": "ok"},
    }
    bad = bpm(woo, "POST", f"/orders/{oid}/apply", {**final, "meta": {"_price": "0"}})
    assert bad.json()["code"] == "bpm_bridge_meta_not_allowed"
    unknown = bpm(
        woo, "POST", f"/orders/{oid}/apply", {**final, "outcome": {**final["outcome"], "event_id": "x"}}
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "bpm_bridge_event_not_found"
    done = bpm(woo, "POST", f"/orders/{oid}/apply", final).json()
    assert done["meta"]["_bpm_invoice_id"] == "9001" and done["outcome"] == {
        "event_id": "ev-1",
        "status": "done",
    }
    assert isinstance(done["note_id"], int)
    again = bpm(woo, "POST", f"/orders/{oid}/apply", final)
    assert again.status_code == 409 and again.json()["data"]["current"] == {"_bpm_invoice_id": "9001"}
    assert [n["note"] for n in woo.admin.notes(oid) if n["author"] == API_USER] == ["Invoice FV 1 issued."]

    other = woo.admin.create_order({"items": [{"name": "B", "price": "5.00"}], "status": "completed"})["id"]
    found = bpm(woo, "POST", "/orders/search", {"missing_meta": "_bpm_invoice_id"}).json()
    assert [o["id"] for o in found["orders"]] == [other] and found["total"] == 1 and found["pages"] == 1
    assert set(found["orders"][0]) == {"id", "status", "date_modified_gmt", "meta"}
    paged = bpm(woo, "POST", "/orders/search", {"per_page": 1, "page": 2}).json()
    assert [o["id"] for o in paged["orders"]] == [other] and paged["pages"] == 2
    future = bpm(woo, "POST", "/orders/search", {"modified_after": "2999-01-01T00:00:00Z"}).json()
    assert future["orders"] == []
    assert bpm(woo, "POST", "/orders/search", {"per_page": 101}).json()["code"] == "rest_invalid_param"
    assert bpm(woo, "POST", "/orders/search", {"missing_meta": "_x"}).json()["code"] == "rest_invalid_param"


def test_the_api_user_cannot_list_orders_through_wc_v3(woo: Woo) -> None:
    order = woo.admin.create_order()
    for path in ("/wc/v3/orders", f"/wc/v3/orders/{order['id']}/refunds"):
        got = requests.get(f"{woo.url}/wp-json{path}", params={"search": "Kowalski"}, auth=AUTH, timeout=5)
        assert got.status_code == 403 and got.json()["code"] == "bpm_bridge_api_user_refused", path
    assert requests.get(f"{woo.url}/wp-json/wc/v3/orders", timeout=5).status_code == 401


def test_plain_permalinks(woo: Woo) -> None:
    home = requests.get(f"{woo.url}/", timeout=5)
    assert home.headers["Link"] == f'<{woo.url}/wp-json/>; rel="https://api.w.org/"'
    assert bpm(woo, "GET", "/config", plain=True).status_code == 200  # rest_route works under pretty too
    WooSandbox(woo.url).permalinks("plain")
    home = requests.get(f"{woo.url}/", timeout=5)
    assert home.headers["Link"] == f'<{woo.url}/index.php?rest_route=/>; rel="https://api.w.org/"'
    assert "text/html" in home.headers["Content-Type"]
    hidden = bpm(woo, "GET", "/config")
    assert hidden.status_code == 404 and "text/html" in hidden.headers["Content-Type"]
    index = requests.get(f"{woo.url}/", params={"rest_route": "/"}, timeout=5)
    assert index.json()["namespaces"]
    got = bpm(woo, "GET", "/config", plain=True)
    assert got.status_code == 200 and got.json()["invoicing"]["provider"] == "none"
    oid = woo.admin.create_order()["id"]
    note = bpm(woo, "POST", f"/orders/{oid}/notes", {"note": "plain"}, plain=True)
    assert note.status_code == 201


def test_the_store_client_finds_and_uses_the_plain_permalink_root(woo: Woo, redis_url: str) -> None:
    """The simulator's plain mode is what the sidecar's discovery (docs/contract.md §3) must cope with."""
    from sidecar.audit import AuditLog
    from sidecar.config import load_settings
    from sidecar.store import StoreClient

    WooSandbox(woo.url).permalinks("plain")
    settings = load_settings(woo.env(redis_url))
    store = StoreClient(settings, AuditLog(settings.audit_dir))
    oid = woo.admin.create_order()["id"]
    assert store.rest_root().query_mode is True
    assert store.read_order(oid).order["id"] == oid
    assert store.ping() is True
    assert all(r["rest_route"] for r in woo.admin.requests() if r["path"].startswith("/wp-json"))
