"""Standard Webhooks v1 signatures (docs/contract.md §1), used on every hop in both directions.

Events (plugin → sidecar) sign ``{id}.{timestamp}.{body}``. Requests (sidecar → plugin, contract revision 2)
sign ``{id}.{timestamp}.{METHOD}\n{route}\n{canonical_query}\n{body}`` so a captured request cannot be
re-aimed at another order, another method or other query parameters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote

TOLERANCE_SECONDS = 300
# WordPress' plain-permalink carrier of the route; the route itself is signed, so the parameter is not.
ROUTE_QUERY_PARAMETER = "rest_route"
REVISION_1_HINT = (
    "this signature covers the body only (contract revision 1); contract revision 2 signs "
    "method, route and query with the body: update the sender"
)
SECRET_PREFIX = "whsec_"  # noqa: S105 - a format marker, not a secret


class SignatureError(Exception):
    """Why a message was refused. The text is safe to return to the caller (it names no secret)."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; ValueError names what is wrong with it."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a signing secret must start with 'whsec_'")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise ValueError("a signing secret must be 'whsec_' followed by base64") from exc
    if not 24 <= len(key) <= 64:
        raise ValueError("a signing secret must hold 24 to 64 random bytes")
    return key


def new_secret(nbytes: int = 32) -> str:
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature token over ``{id}.{timestamp}.{body}``."""
    mac = hmac.new(secret_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signature_headers(
    secrets: Sequence[str], body: bytes, msg_id: str | None = None, now: float | None = None
) -> dict[str, str]:
    """Headers for an outgoing message, signed with every given secret (rotation sends both)."""
    msg_id = msg_id or "msg_" + _secrets.token_hex(16)
    timestamp = int(now if now is not None else time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets),
    }


def verify(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> str:
    """Check a message; return its id. Raises :class:`SignatureError` with a caller-safe reason."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    if "." in msg_id or len(msg_id) > 255:
        raise SignatureError("malformed webhook-id header")
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureError("webhook-timestamp must be integer Unix seconds") from None
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise SignatureError("webhook-timestamp is outside the 5-minute tolerance")
    offered = [token[3:] for token in signatures.split() if token.startswith("v1,")]
    if not offered:
        raise SignatureError("no v1 signature in webhook-signature")
    signed = f"{msg_id}.{ts}.".encode() + body
    for secret in secrets:
        expected = base64.b64encode(hmac.new(secret_key(secret), signed, hashlib.sha256).digest()).decode()
        # Every offered token is compared in full: constant time per comparison, no early exit on a prefix.
        if any(hmac.compare_digest(expected, token) for token in offered):
            return msg_id
    raise SignatureError("no signature matches a configured secret")


def _rfc3986(text: str) -> str:
    return quote(text, safe="-._~")


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Every query parameter except ``rest_route``, RFC 3986 encoded, sorted by encoded key then value."""
    encoded = sorted((_rfc3986(k), _rfc3986(v)) for k, v in pairs if k != ROUTE_QUERY_PARAMETER)
    return "&".join(f"{k}={v}" for k, v in encoded)


def request_content(method: str, route: str, query: Iterable[tuple[str, str]], body: bytes) -> bytes:
    """What follows ``{id}.{timestamp}.`` in a revision 2 request signature."""
    return f"{method.upper()}\n{route}\n{canonical_query(query)}\n".encode() + body


def request_signature_headers(
    secrets: Sequence[str],
    method: str,
    route: str,
    query: Sequence[tuple[str, str]],
    body: bytes,
    msg_id: str | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """Headers for a sidecar → plugin request: method, REST route, canonical query and body are signed."""
    return signature_headers(secrets, request_content(method, route, query, body), msg_id=msg_id, now=now)


def verify_request(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    method: str,
    route: str,
    query: Iterable[tuple[str, str]],
    body: bytes,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> str:
    """Check a revision 2 request signature; return its id. A revision 1 signature is named as such."""
    try:
        return verify(secrets, headers, request_content(method, route, query, body), now, tolerance)
    except SignatureError as exc:
        if str(exc).startswith("no signature matches"):
            try:
                verify(secrets, headers, body, now, tolerance)
            except SignatureError:
                raise exc from None
            raise SignatureError(REVISION_1_HINT) from None
        raise
