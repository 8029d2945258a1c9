"""The shared signature vectors: sidecar.signing must agree with them, and so must a plain HMAC.

The PHP suite verifies the same file, so both sides provably compute the same signatures.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from sidecar.signing import SignatureError, sign, verify

VECTORS = json.loads((Path(__file__).parent / "signature_vectors.json").read_text(encoding="utf-8"))[
    "vectors"
]


def test_the_file_covers_the_edge_cases():
    assert len(VECTORS) >= 6
    assert any(v["body"] == "" for v in VECTORS)
    assert any(len(v["body"].encode()) != len(v["body"]) for v in VECTORS)  # multi-byte UTF-8
    assert len({v["signature"] for v in VECTORS}) == len(VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["description"][:40] for v in VECTORS])
def test_sidecar_signing_reproduces_the_vector(vector):
    body = vector["body"].encode("utf-8")
    assert sign(vector["secret"], vector["msg_id"], vector["timestamp"], body) == vector["signature"]
    headers = {
        "webhook-id": vector["msg_id"],
        "webhook-timestamp": str(vector["timestamp"]),
        "webhook-signature": vector["signature"],
    }
    assert verify([vector["secret"]], headers, body, now=vector["timestamp"]) == vector["msg_id"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["description"][:40] for v in VECTORS])
def test_plain_hmac_reproduces_the_vector(vector):
    # Independent of sidecar.signing: the formula of docs/contract.md §1 written out by hand.
    key = base64.b64decode(vector["secret"].removeprefix("whsec_"))
    content = f"{vector['msg_id']}.{vector['timestamp']}.{vector['body']}".encode()
    expected = "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    assert expected == vector["signature"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["description"][:40] for v in VECTORS])
def test_a_changed_byte_fails(vector):
    body = vector["body"].encode("utf-8") + b" "
    headers = {
        "webhook-id": vector["msg_id"],
        "webhook-timestamp": str(vector["timestamp"]),
        "webhook-signature": vector["signature"],
    }
    with pytest.raises(SignatureError):
        verify([vector["secret"]], headers, body, now=vector["timestamp"])
