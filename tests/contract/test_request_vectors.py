"""Request-signature vectors (contract revision 2): sidecar.signing reproduces them, and so does a plain HMAC.

The PHP suite verifies the same file, so the sidecar's requests provably verify in the plugin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from sidecar.signing import (
    REVISION_1_HINT,
    SignatureError,
    canonical_query,
    new_secret,
    request_signature_headers,
    signature_headers,
    verify_request,
)

VECTORS = json.loads((Path(__file__).parent / "request_vectors.json").read_text(encoding="utf-8"))["vectors"]
IDS = [v["description"][:40] for v in VECTORS]


def _query(vector: dict) -> list[tuple[str, str]]:
    return [(k, v) for k, v in vector["query"]]


def _headers(vector: dict) -> dict[str, str]:
    return {
        "webhook-id": vector["msg_id"],
        "webhook-timestamp": str(vector["timestamp"]),
        "webhook-signature": vector["signature"],
    }


def _verify(vector: dict, **changes) -> str:
    args = {
        "method": vector["method"],
        "route": vector["route"],
        "query": _query(vector),
        "body": vector["body"].encode("utf-8"),
    }
    args.update(changes)
    return verify_request([vector["secret"]], _headers(vector), now=vector["timestamp"], **args)


def test_the_file_covers_the_edge_cases():
    assert {v["method"] for v in VECTORS} >= {"GET", "POST"}
    assert any(v["query"] for v in VECTORS) and any(not v["query"] for v in VECTORS)
    assert any(k == "rest_route" for v in VECTORS for k, _ in v["query"])
    assert len({v["signature"] for v in VECTORS}) == len(VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_canonical_query_reproduces_the_vector(vector):
    assert canonical_query(_query(vector)) == vector["canonical_query"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_request_signature_headers_reproduce_the_vector(vector):
    headers = request_signature_headers(
        [vector["secret"]],
        vector["method"],
        vector["route"],
        _query(vector),
        vector["body"].encode("utf-8"),
        msg_id=vector["msg_id"],
        now=vector["timestamp"],
    )
    assert headers == _headers(vector)
    assert _verify(vector) == vector["msg_id"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_plain_hmac_reproduces_the_vector(vector):
    # Independent of sidecar.signing: the formula of docs/contract.md written out by hand.
    assert (
        f"{vector['msg_id']}.{vector['timestamp']}.{vector['method']}\n{vector['route']}\n"
        f"{vector['canonical_query']}\n{vector['body']}"
    ) == vector["signed_content"]
    key = base64.b64decode(vector["secret"].removeprefix("whsec_"))
    mac = hmac.new(key, vector["signed_content"].encode("utf-8"), hashlib.sha256).digest()
    assert "v1," + base64.b64encode(mac).decode() == vector["signature"]


@pytest.mark.parametrize(
    "change",
    [
        {"route": "/bpm-bridge/v1/orders/99/notes"},
        {"method": "PUT"},
        {"query": [("_method", "POST")]},
        {"query": [("customer_note", "1")]},
        {"body": b"{}"},
    ],
    ids=["other-route", "other-method", "method-override", "added-param", "other-body"],
)
@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_a_re_aimed_request_fails(vector, change):
    if "query" in change:
        change = {"query": _query(vector) + change["query"]}
    with pytest.raises(SignatureError, match="no signature matches"):
        _verify(vector, **change)


def test_the_order_11_signature_does_not_verify_on_order_14():
    order_11, order_14 = VECTORS[1], VECTORS[2]
    assert order_11["route"].endswith("/11/notes") and order_14["route"].endswith("/14/notes")
    with pytest.raises(SignatureError):
        _verify(order_11, route=order_14["route"])


def test_reordering_query_parameters_does_not_matter_but_rest_route_is_ignored():
    vector = next(v for v in VECTORS if v["query"])
    shuffled = list(reversed(_query(vector)))
    assert _verify(vector, query=shuffled) == vector["msg_id"]
    without = [(k, v) for k, v in _query(vector) if k != "rest_route"]
    assert _verify(vector, query=without) == vector["msg_id"]


def test_a_revision_1_signature_is_named_as_such():
    secret = new_secret()
    body = b'{"note":"x"}'
    old = signature_headers([secret], body, msg_id="msg_1", now=1_795_867_200)
    with pytest.raises(SignatureError) as caught:
        verify_request([secret], old, "POST", "/bpm-bridge/v1/orders/11/notes", [], body, now=1_795_867_200)
    assert str(caught.value) == REVISION_1_HINT
    assert "revision 2 signs method, route and query" in REVISION_1_HINT
