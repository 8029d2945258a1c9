"""A small fuzz of the intake (issue 8): signed bodies that are malformed, mistyped, huge or deeply nested
never get a 5xx, and every refusal is a problem document. The app and Redis are real (in-process WSGI).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.app import create_app
from sidecar.config import load_settings
from sidecar.events import EVENT_TYPES
from sidecar.signing import new_secret, signature_headers

SECRET = new_secret()
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
huge = st.one_of(
    st.just("9" * 5000),  # beyond Python's int-from-text digit limit
    st.just(10**30),
    st.just(1e308),
    st.just("x" * 60000),
    st.just(-1),
    st.just(2**63),
)


@pytest.fixture
def client(redis_url, redis_conn):
    settings_ = load_settings(
        {
            "BPM_WEBHOOK_SECRETS": SECRET,
            "BPM_STORE_URL": "http://127.0.0.1:9",
            "BPM_STORE_USER": "u",
            "BPM_STORE_APP_PASSWORD": "p",
            "BPM_ALLOW_INSECURE_STORE": "true",
            "BPM_REDIS_URL": redis_url,
            "BPM_QUEUE": "bpm-fuzz",
            "BPM_AUDIT_DIR": "",
            "BPM_LOG_LEVEL": "CRITICAL",
        }
    )
    return create_app(settings_).test_client()


def _valid() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": "order.refunded",
        "occurred_at": "2026-11-22T12:00:00Z",
        "store": "https://shop.example",
        "data": {"order_id": 1, "refund_id": 2, "amount": "1.00"},
    }


def _send(client, body: bytes, msg_id: str | None = None) -> None:
    msg_id = msg_id or str(uuid.uuid4())
    headers = {**signature_headers([SECRET], body, msg_id=msg_id), "Content-Type": "application/json"}
    response = client.post("/v1/events", data=body, headers=headers)
    assert response.status_code < 500, (body[:200], response.get_data(as_text=True))
    if response.status_code >= 400:
        assert response.content_type == "application/problem+json"
        assert response.get_json()["status"] == response.status_code


@FUZZ
@given(body=st.binary(max_size=300))
def test_arbitrary_bytes(client, body):
    _send(client, body)


@FUZZ
@given(value=json_values)
def test_arbitrary_json(client, value):
    _send(client, json.dumps(value).encode())


@FUZZ
@given(
    field=st.sampled_from(["id", "type", "occurred_at", "store", "data", "redelivery"]),
    value=st.one_of(json_values, huge),
)
def test_one_top_level_field_replaced(client, field, value):
    event = _valid()
    event[field] = value
    _send(client, json.dumps(event).encode(), event["id"])


@FUZZ
@given(
    event_type=st.sampled_from(EVENT_TYPES),
    data=st.dictionaries(
        st.sampled_from(
            [
                "order_id",
                "refund_id",
                "rma_id",
                "amount",
                "from",
                "to",
                "status",
                "email_hash",
                "customer_id",
                "version",
                "payment_method",
                "other",
            ]
        ),
        st.one_of(json_values, huge),
        max_size=6,
    ),
    redelivery=st.one_of(st.none(), st.integers(min_value=-3, max_value=3)),
)
def test_data_of_any_shape(client, event_type, data, redelivery):
    event = {**_valid(), "type": event_type, "data": data}
    if redelivery is not None:
        event["redelivery"] = redelivery
    _send(client, json.dumps(event).encode(), event["id"])


@pytest.mark.parametrize("depth", [8, 9, 100, 999, 1000, 5000, 30_000])
@pytest.mark.parametrize("kind", ["array", "object"])
def test_deep_nesting_anywhere(client, depth, kind):
    inner = ('{"a":' * depth + "1" + "}" * depth) if kind == "object" else ("[" * depth + "]" * depth)
    event = _valid()
    placed = json.dumps({**event, "data": "__X__"}).replace('"__X__"', inner)
    _send(client, placed.encode(), event["id"])
    _send(client, inner.encode())


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": 1e99999}',
        b'{"a": Infinity}',
        b'{"a": -Infinity}',
        b"\x00",
        b"{" * 40000,
        b'"\\ud800"',
        b"[" * 70000,
    ],
)
def test_edge_literals(client, body):
    _send(client, body[:65536])
