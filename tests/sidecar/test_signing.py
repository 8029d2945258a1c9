"""sidecar.signing (Standard Webhooks v1) at its edges: tolerance, rotation, header parsing."""

from __future__ import annotations

import base64

import pytest

from sidecar.signing import (
    SECRET_PREFIX,
    TOLERANCE_SECONDS,
    SignatureError,
    new_secret,
    secret_key,
    sign,
    signature_headers,
    verify,
)

NOW = 1_795_867_200
BODY = b'{"id":"x"}'


def headers_for(secrets, body=BODY, msg_id="evt-1", now=NOW):
    return signature_headers(secrets, body, msg_id=msg_id, now=now)


def test_round_trip_returns_the_id():
    secret = new_secret()
    assert verify([secret], headers_for([secret]), BODY, now=NOW) == "evt-1"


def test_new_secret_is_valid_and_random():
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith(SECRET_PREFIX)
    assert len(secret_key(a)) == 32


@pytest.mark.parametrize("size", [23, 65])
def test_key_size_outside_24_to_64_bytes_is_refused(size):
    with pytest.raises(ValueError, match="24 to 64"):
        secret_key(SECRET_PREFIX + base64.b64encode(b"k" * size).decode())


@pytest.mark.parametrize("offset", [-TOLERANCE_SECONDS, TOLERANCE_SECONDS])
def test_tolerance_boundary_is_inclusive(offset):
    secret = new_secret()
    assert verify([secret], headers_for([secret], now=NOW + offset), BODY, now=NOW)


@pytest.mark.parametrize("offset", [-TOLERANCE_SECONDS - 1, TOLERANCE_SECONDS + 1])
def test_outside_tolerance_is_refused_both_directions(offset):
    secret = new_secret()
    with pytest.raises(SignatureError, match="tolerance"):
        verify([secret], headers_for([secret], now=NOW + offset), BODY, now=NOW)


def test_rotation_any_entry_against_any_secret():
    old, new, stranger = new_secret(), new_secret(), new_secret()
    both = headers_for([new, old])
    assert len(both["webhook-signature"].split()) == 2
    assert verify([old], both, BODY, now=NOW)
    assert verify([new], both, BODY, now=NOW)
    assert verify([stranger, old], headers_for([old]), BODY, now=NOW)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify([stranger], both, BODY, now=NOW)


def test_unknown_versions_are_ignored_but_a_v1_still_counts():
    secret = new_secret()
    h = headers_for([secret])
    h["webhook-signature"] = "v1a,AAAA v2,BBBB " + h["webhook-signature"]
    assert verify([secret], h, BODY, now=NOW)
    h["webhook-signature"] = "v1a,AAAA v2,BBBB"
    with pytest.raises(SignatureError, match="no v1 signature"):
        verify([secret], h, BODY, now=NOW)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"webhook-id": ""}, "missing"),
        ({"webhook-timestamp": ""}, "missing"),
        ({"webhook-signature": ""}, "missing"),
        ({"webhook-id": "a.b"}, "malformed webhook-id"),
        ({"webhook-id": "x" * 256}, "malformed webhook-id"),
        ({"webhook-timestamp": "soon"}, "integer"),
    ],
)
def test_malformed_headers(change, message):
    secret = new_secret()
    h = {**headers_for([secret]), **change}
    with pytest.raises(SignatureError, match=message):
        verify([secret], h, BODY, now=NOW)


def test_the_id_and_timestamp_are_signed():
    secret = new_secret()
    h = headers_for([secret])
    with pytest.raises(SignatureError):
        verify([secret], {**h, "webhook-id": "evt-2"}, BODY, now=NOW)
    with pytest.raises(SignatureError):
        verify([secret], {**h, "webhook-timestamp": str(NOW + 1)}, BODY, now=NOW)


def test_refusal_reasons_never_contain_a_secret():
    secret = new_secret()
    try:
        verify([secret], headers_for([new_secret()]), BODY, now=NOW)
    except SignatureError as exc:
        assert secret not in str(exc) and secret[6:] not in str(exc)
    else:
        raise AssertionError("a foreign signature verified")


def test_sign_is_deterministic():
    secret = new_secret()
    assert sign(secret, "a", 1, b"") == sign(secret, "a", 1, b"")
    assert sign(secret, "a", 1, b"") != sign(secret, "a", 2, b"")
