"""The provider simulators answer as the public documentation says (auth, validation shapes, flows)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests
from sandbox_client import InfaktSandbox

from sidecar.audit import AuditLog
from sidecar.http import HttpClient
from sidecar.providers.invoicing.fakturownia import FakturowniaProvider

from .invoicing_harness import FAKTUROWNIA_TOKEN, INFAKT_KEY, Harness

KSEF_NUMBER = re.compile(r"^\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}$")


def invoice(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "vat",
        "buyer_name": "Klient Sp. z o.o.",
        "buyer_tax_no": "6272616681",
        "positions": [{"name": "Produkt", "tax": "23", "total_price_gross": "123.00", "quantity": 1}],
        **overrides,
    }


def post_invoice(url: str, inv: dict[str, Any], **kwargs: Any) -> requests.Response:
    return requests.post(
        f"{url}/invoices.json", json={"api_token": FAKTUROWNIA_TOKEN, "invoice": inv}, timeout=5, **kwargs
    )


def test_fakturownia_auth_forms(fakturownia: Harness) -> None:
    url = fakturownia.sim.url
    refused = requests.get(f"{url}/invoices.json", timeout=5)
    assert refused.status_code == 401 and "logged in" in refused.json()["message"]
    assert requests.get(f"{url}/invoices.json", params={"api_token": FAKTUROWNIA_TOKEN}, timeout=5).ok
    bearer = {"Authorization": f"Bearer {FAKTUROWNIA_TOKEN}"}
    assert requests.get(f"{url}/invoices.json", headers=bearer, timeout=5).ok
    assert post_invoice(url, invoice()).status_code == 201  # token in the body
    wrong = requests.post(f"{url}/invoices.json", json={"api_token": "nope", "invoice": invoice()}, timeout=5)
    assert wrong.status_code == 401


def test_fakturownia_validation_shapes(fakturownia: Harness) -> None:
    url = fakturownia.sim.url
    cases = {
        "buyer_name": invoice(buyer_name=""),
        "positions[0].total_price_gross": invoice(positions=[{"name": "X", "tax": "23"}]),
        "positions[0].tax": invoice(positions=[{"name": "X", "tax": "19", "total_price_gross": "1"}]),
        "buyer_tax_no": invoice(buyer_tax_no=""),
        "exempt_tax_kind": invoice(positions=[{"name": "X", "tax": "zw", "total_price_gross": "1"}]),
        "buyer_first_name": invoice(buyer_company=False, buyer_name="", buyer_tax_no=None),
        "invoice_id": invoice(kind="correction", invoice_id="999999"),
    }
    for field, body in cases.items():
        response = post_invoice(url, body)
        assert response.status_code == 422, field
        payload = response.json()
        assert payload["code"] == "error" and field in payload["message"], payload


def test_fakturownia_correction_positions_are_the_change(fakturownia: Harness) -> None:
    url = fakturownia.sim.url
    original = post_invoice(url, invoice()).json()

    def correction(diff: str, **position: Any) -> requests.Response:
        before = {"name": "Produkt", "tax": "23", "total_price_gross": "123.00", "quantity": "1"}
        line = {
            "name": "Produkt",
            "tax": "23",
            "quantity": "-1",
            "total_price_gross": diff,
            "correction_before_attributes": before,
            "correction_after_attributes": {**before, "total_price_gross": "0.00", "quantity": "0"},
            **position,
        }
        return post_invoice(url, invoice(kind="correction", invoice_id=str(original["id"]), positions=[line]))

    wrong = correction("-100.00")
    assert wrong.status_code == 422 and "positions[0].total_price_gross" in wrong.json()["message"]
    bare = correction("-123.00", correction_before_attributes=None)
    assert bare.status_code == 422 and "positions[0].correction_before_attributes" in bare.json()["message"]
    made = correction("-123.00")
    assert made.status_code == 201 and made.json()["price_gross"] == "-123.00"


def test_fakturownia_oid_unique_and_exact_lookup(fakturownia: Harness) -> None:
    url = fakturownia.sim.url
    assert post_invoice(url, invoice(oid="wc-1-vat", oid_unique="yes")).status_code == 201
    assert post_invoice(url, invoice(oid="wc-11-vat", oid_unique="yes")).status_code == 201
    duplicate = post_invoice(url, invoice(oid="wc-1-vat", oid_unique="yes"))
    assert duplicate.status_code == 422 and "oid" in duplicate.json()["message"]
    listed = requests.get(
        f"{url}/invoices.json", params={"api_token": FAKTUROWNIA_TOKEN, "oid": "wc-1"}, timeout=5
    )
    assert len(listed.json()) == 2  # the filter is not exact ...
    client = FakturowniaProvider(
        {"api_token": FAKTUROWNIA_TOKEN, "base_url": url}, HttpClient("f", AuditLog(None))
    )
    found = client.find_by_oid("wc-1-vat", "vat")
    assert found is not None and found["oid"] == "wc-1-vat"  # ... the client is
    assert client.find_by_oid("wc-1", "vat") is None


def test_fakturownia_pdf_email_and_ksef(fakturownia: Harness) -> None:
    url = fakturownia.sim.url
    doc = post_invoice(url, invoice(buyer_email="k@example.com")).json()
    assert doc["gov_status"] == "processing" and isinstance(doc["price_gross"], str)
    auth = {"api_token": FAKTUROWNIA_TOKEN}
    refused = requests.post(f"{url}/invoices/{doc['id']}/send_by_email.json", params=auth, timeout=5)
    assert refused.status_code == 200 and refused.json()["status"] == "error"  # no KSeF number yet
    shown = requests.get(f"{url}/invoices/{doc['id']}.json", params=auth, timeout=5).json()
    assert shown["gov_status"] == "ok" and KSEF_NUMBER.match(shown["gov_id"])
    assert requests.post(f"{url}/invoices/{doc['id']}/send_by_email.json", params=auth, timeout=5).json() == {
        "status": "ok"
    }
    for pdf_url in (
        f"{url}/invoices/{doc['id']}.pdf?api_token={FAKTUROWNIA_TOKEN}",
        f"{url}/invoice/{doc['token']}.pdf",
    ):
        response = requests.get(pdf_url, timeout=5)
        assert response.headers["Content-Type"] == "application/pdf" and response.content.startswith(
            b"%PDF-1.4"
        )
    assert requests.get(f"{url}/invoices/{doc['id']}.pdf", timeout=5).status_code == 401
    missing = requests.get(f"{url}/invoices/1.json", params=auth, timeout=5)
    assert missing.status_code == 404


def infakt_call(url: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"X-inFakt-ApiKey": INFAKT_KEY, **kwargs.pop("headers", {})}
    return requests.request(method, f"{url}/api/v3{path}", headers=headers, timeout=5, **kwargs)


SERVICE = {"name": "Usługa", "tax_symbol": "23", "quantity": 1, "gross_price": 12300}
CLIENT = {"client_company_name": "Firma", "client_tax_code": "5252445767", "client_country": "PL"}


def wait_task(url: str, ref: str) -> dict[str, Any]:
    codes = []
    for _ in range(10):
        body = infakt_call(url, "GET", f"/async/invoices/status/{ref}.json").json()
        codes.append(body["processing_code"])
        if body["processing_code"] not in (100, 120, 140):
            body["codes"] = codes
            return body
    raise AssertionError(codes)


def test_infakt_auth_and_content_type(infakt: Harness) -> None:
    url = infakt.sim.url
    assert requests.get(f"{url}/api/v3/invoices.json", timeout=5).status_code == 401
    assert infakt_call(url, "GET", "/invoices.json", headers={"X-inFakt-ApiKey": "x"}).status_code == 401
    form = infakt_call(
        url, "POST", "/async/invoices.json", data="invoice=1", headers={"Content-Type": "text/plain"}
    )
    assert form.status_code == 406


def test_infakt_async_flow_grosze_and_no_idempotency(infakt: Harness) -> None:
    url = infakt.sim.url
    InfaktSandbox(url).task_timing(polls=3, seconds=60)
    body = {"invoice": {**CLIENT, "services": [SERVICE]}}
    accepted = infakt_call(url, "POST", "/async/invoices.json", json=body)
    assert accepted.status_code == 202
    task = accepted.json()
    assert task["processing_code"] == 100 and task["processing_description"] == "Zlecenie przyjęte"
    done = wait_task(url, task["invoice_task_reference_number"])
    assert done["codes"] == [120, 140, 201]
    doc = infakt_call(url, "GET", f"/invoices/{done['invoice_uuid']}.json").json()
    assert doc["gross_price"] == 12300 and doc["status"] == "draft"
    second = infakt_call(url, "POST", "/async/invoices.json", json=body).json()
    assert wait_task(url, second["invoice_task_reference_number"])["processing_code"] == 201
    assert len(infakt.documents()) == 2  # inFakt has no idempotency key: that is the real contract
    floats = {"invoice": {**CLIENT, "services": [{**SERVICE, "gross_price": 123.0}]}}
    failed = wait_task(
        url,
        infakt_call(url, "POST", "/async/invoices.json", json=floats).json()["invoice_task_reference_number"],
    )
    assert failed["processing_code"] == 422 and "services[0].gross_price" in failed["invoice_errors"]


def test_infakt_tasks_finish_without_polling(infakt: Harness) -> None:
    url = infakt.sim.url
    InfaktSandbox(url).task_timing(polls=99, seconds=0.2)
    infakt_call(url, "POST", "/async/invoices.json", json={"invoice": {**CLIENT, "services": [SERVICE]}})
    time.sleep(0.3)
    assert len(infakt.documents()) == 1


def test_infakt_pdf_paid_email_list_and_ksef(infakt: Harness) -> None:
    url = infakt.sim.url
    sandbox = InfaktSandbox(url)
    sandbox.task_timing(polls=1, seconds=60)
    task = infakt_call(
        url, "POST", "/async/invoices.json", json={"invoice": {**CLIENT, "services": [SERVICE]}}
    ).json()
    uuid = wait_task(url, task["invoice_task_reference_number"])["invoice_uuid"]
    assert infakt_call(url, "GET", f"/invoices/{uuid}/pdf.json").status_code == 400  # document_type required
    pdf = infakt_call(url, "GET", f"/invoices/{uuid}/pdf.json", params={"document_type": "original"})
    assert (
        pdf.content.startswith(b"%PDF")
        and infakt_call(url, "GET", f"/invoices/{uuid}.json").json()["status"] == "printed"
    )
    early = infakt_call(url, "POST", f"/async/invoices/{uuid}/paid.json", json={"paid_date": "2000-01-01"})
    assert early.status_code == 422
    assert infakt_call(url, "POST", f"/async/invoices/{uuid}/paid.json", json={}).status_code == 201
    assert infakt_call(url, "POST", f"/invoices/{uuid}/deliver_via_email.json", json={}).status_code == 422
    listed = infakt_call(
        url, "GET", "/invoices.json", params={"q[clean_client_nip_eq]": "5252445767", "limit": 5}
    ).json()
    assert listed["metainfo"]["total_count"] == 1 and listed["entities"][0]["uuid"] == uuid
    assert infakt_call(url, "GET", "/invoices.json", params={"limit": 101}).status_code == 400
    sent = infakt_call(url, "POST", f"/ksef2/documents/{uuid}/send.json", json={})
    assert sent.json()["status"] == "sent"
    status = infakt_call(url, "GET", f"/ksef2/documents/{uuid}/status.json").json()
    assert status["status"] == "success" and KSEF_NUMBER.match(status["ksef_number"])
    sandbox.ksef(active=False)
    refused = infakt_call(url, "POST", f"/ksef2/documents/{uuid}/send.json", json={})
    assert refused.status_code == 422 and refused.json() == {
        "error": "Użytkownik nie jest zintegrowany z KSeF."
    }


def test_ksef_numbers_have_a_valid_crc() -> None:
    from sidecar.sandbox.ksef import ksef_number

    def crc8(text: str) -> str:
        crc = 0
        for byte in text.encode():
            crc ^= byte
            for _ in range(8):
                crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        return f"{crc:02X}"

    assert crc8("5265877635-20250826-0100001AF629") == "AF"  # the official example
    from datetime import date

    number = ksef_number("5252445767", date(2026, 11, 23))
    assert KSEF_NUMBER.match(number) and crc8(number[:32]) == number[-2:]


def test_infakt_strict_rate_limits(infakt: Harness) -> None:
    url = infakt.sim.url
    sandbox = InfaktSandbox(url)
    sandbox.limits(enabled=True, GET=3, WRITE=1, window=30)
    try:
        assert [infakt_call(url, "GET", "/invoices.json").status_code for _ in range(4)] == [
            200,
            200,
            200,
            429,
        ]
        limited = infakt_call(url, "GET", "/invoices.json")
        assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 30
        body = {"invoice": {**CLIENT, "services": [SERVICE]}}
        assert infakt_call(url, "POST", "/async/invoices.json", json=body).status_code == 202
        assert infakt_call(url, "POST", "/async/invoices.json", json=body).status_code == 429
    finally:
        sandbox.limits(enabled=False)


def test_control_api_refuses_what_it_cannot_simulate(shop: Harness) -> None:
    """A typo in a test's set-up fails loudly instead of simulating nothing."""
    for bad in (lambda: shop.sandbox.fault(mode="504"), lambda: shop.sandbox.ksef(outcome="maybe")):
        with pytest.raises(requests.HTTPError) as caught:
            bad()
        assert caught.value.response is not None and caught.value.response.status_code == 400
    assert shop.sandbox.fault(mode="503", count=2) == [{"mode": "503", "count": 2, "match": ""}]
    shop.sandbox.clear_faults()
    order = shop.order(items=[{"name": "Herbata", "price": "19.99", "qty": 1}])
    assert shop.run("invoice.issue", order["id"]).status == "done"
    shop.sandbox.reset()
    assert shop.sandbox.documents() == []
