"""Signatures made in PHP (the plugin's own Signer) verify in Python, and the other way round.

The shared vectors in tests/contract/signature_vectors.json (events, Standard Webhooks) and
tests/contract/request_vectors.json (sidecar -> plugin requests, contract revision 2) are checked by PHP
here and by Python in tests/contract/test_signature_vectors.py and test_request_vectors.py; on top, fresh
messages cross the language boundary both ways.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from sidecar.signing import SignatureError, new_secret, signature_headers, verify

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "verify_vectors.php"
VECTORS = HERE.parent / "signature_vectors.json"
REQUEST_VECTORS = HERE.parent / "request_vectors.json"

pytestmark = pytest.mark.skipif(shutil.which("php") is None, reason="php is not installed")

BODIES = [
    "",
    '{"id":"0193a4c2-7d1e-4c3a-9b7e-2f4c1d9e8a10","type":"order.paid","data":{"order_id":123}}',
    '{"note":"Faktura FV 1/11/2026 wystawiona — zażółć gęślą jaźń € 🧾"}',
    '{"url":"https:\\/\\/shop.example\\/","text":"\\u0105"}\n',
]


def _php(*args: str, stdin: object = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["php", str(SCRIPT), *args],
        input=None if stdin is None else json.dumps(stdin),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _assert_php_checks_every_vector(mode: str, file: Path) -> None:
    proc = _php(mode, str(file))
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = json.loads(file.read_text(encoding="utf-8"))["vectors"]
    assert [r["description"] for r in results] == [v["description"] for v in expected]
    assert all(r["failed"] == [] for r in results), results


def test_php_reproduces_and_checks_every_shared_vector():
    _assert_php_checks_every_vector("vectors", VECTORS)


@pytest.mark.parametrize("body", BODIES, ids=["empty", "envelope", "utf8", "escaped"])
def test_a_php_signature_verifies_in_python(body):
    current, previous = new_secret(), new_secret(48)
    proc = _php("sign", stdin={"secrets": [current, previous], "body": body, "msg_id": None, "now": None})
    assert proc.returncode == 0, proc.stderr
    headers = json.loads(proc.stdout)
    assert headers["webhook-id"].startswith("msg_")
    assert len(headers["webhook-signature"].split()) == 2  # rotation: signed with both secrets
    raw = body.encode("utf-8")
    # Either secret alone verifies (the sidecar may know only one of them during rotation) ...
    assert verify([current], headers, raw) == headers["webhook-id"]
    assert verify([previous], headers, raw) == headers["webhook-id"]
    # ... and the signature covers the body and the key.
    with pytest.raises(SignatureError):
        verify([new_secret()], headers, raw)
    with pytest.raises(SignatureError):
        verify([current], headers, raw + b"x")


def test_php_signs_the_event_id_and_timestamp_it_is_given():
    secret = new_secret()
    event_id = "0193a4c2-7d1e-4c3a-9b7e-2f4c1d9e8a10"
    now = int(time.time()) - 60
    proc = _php("sign", stdin={"secrets": [secret], "body": BODIES[1], "msg_id": event_id, "now": now})
    headers = json.loads(proc.stdout)
    assert headers["webhook-id"] == event_id
    assert headers["webhook-timestamp"] == str(now)
    assert verify([secret], headers, BODIES[1].encode()) == event_id


@pytest.mark.parametrize("body", BODIES, ids=["empty", "envelope", "utf8", "escaped"])
def test_a_python_signature_verifies_in_php(body):
    secret = new_secret()
    headers = signature_headers([secret], body.encode("utf-8"))
    accepted = json.loads(
        _php("verify", stdin={"secrets": [secret], "headers": headers, "body": body}).stdout
    )
    assert accepted == {"ok": True, "id": headers["webhook-id"]}
    rotated = json.loads(
        _php("verify", stdin={"secrets": [new_secret(), secret], "headers": headers, "body": body}).stdout
    )
    assert rotated["ok"] is True
    tampered = json.loads(
        _php("verify", stdin={"secrets": [secret], "headers": headers, "body": body + " "}).stdout
    )
    assert tampered["ok"] is False
    stale_headers = signature_headers([secret], body.encode("utf-8"), now=time.time() - 301)
    stale = json.loads(
        _php("verify", stdin={"secrets": [secret], "headers": stale_headers, "body": body}).stdout
    )
    assert stale == {"ok": False, "error": "webhook-timestamp is outside the 5-minute tolerance"}


def test_php_reproduces_and_checks_every_request_vector():
    _assert_php_checks_every_vector("requests", REQUEST_VECTORS)


REQUESTS = [
    ("GET", "/bpm-bridge/v1/config", [], ""),
    ("POST", "/bpm-bridge/v1/orders/11/apply", [], '{"note":{"note":"zażółć 🧾"}}'),
    (
        "GET",
        "/bpm-bridge/v1/orders/7",
        [("rest_route", "/bpm-bridge/v1/orders/7"), ("b", "x y"), ("a", "ą")],
        "",
    ),
]


@pytest.mark.parametrize("method,route,query,body", REQUESTS, ids=["get", "post", "query"])
def test_a_python_request_signature_verifies_in_php(method, route, query, body):
    signing = pytest.importorskip("sidecar.signing")
    if not hasattr(signing, "request_signature_headers"):
        pytest.skip("sidecar.signing.request_signature_headers (contract revision 2) is not there yet")
    secret = new_secret()
    headers = signing.request_signature_headers([secret], method, route, query, body.encode("utf-8"))
    stdin = {
        "secrets": [secret],
        "headers": headers,
        "method": method,
        "route": route,
        "query": query,
        "body": body,
    }
    assert json.loads(_php("verify-request", stdin=stdin).stdout) == {"ok": True, "id": headers["webhook-id"]}
    other = json.loads(_php("verify-request", stdin={**stdin, "route": route + "1"}).stdout)
    assert other["ok"] is False
