"""How a request reaches a route, in WordPress' order: permalinks, authentication, the plugin's guard.

1. Permalinks (:class:`Permalinks`, WSGI): ``?rest_route=/…`` reaches the REST API under either setting;
   with plain permalinks (a host without URL rewriting) ``/wp-json/…`` is the web server's HTML 404.
2. HTTP Basic with an Application Password (spaces ignored): a wrong one is a 401 before anything else.
3. The plugin's ``rest_pre_dispatch`` stage on ``bpm-bridge/v1``: no query parameter but ``rest_route``,
   no method override, a body within the contract's limit.
4. Argument validation (the route's schema, :mod:`sidecar.sandbox.woo.wp`), then the permission callback:
   the capability, a contract revision 2 signature (method, route, canonical query, body) and a message id
   never used before.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from flask import g, request

from sidecar import contract
from sidecar.sandbox.woo.state import CAPABILITY, Shop
from sidecar.sandbox.woo.wp import WpError
from sidecar.signing import SignatureError, verify_request

REST_PREFIX = "/wp-json"
NAMESPACE = "/bpm-bridge/v1"


class Permalinks:
    """WSGI middleware: ``?rest_route=`` reaches the REST API; plain permalinks hide ``/wp-json/``."""

    def __init__(self, app: Callable[..., Any], shop: Shop, unrouted: Callable[..., Any]) -> None:
        self.app, self.shop, self.unrouted = app, shop, unrouted

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        if path in ("/", "/index.php") and "rest_route" in query:
            environ["PATH_INFO"] = REST_PREFIX + (query["rest_route"] or "/")
            environ["bpm.rest_route_form"] = True
        elif self.shop.permalinks == "plain" and (path == REST_PREFIX or path.startswith(REST_PREFIX + "/")):
            return self.unrouted(environ, start_response)
        return self.app(environ, start_response)


def rest_route() -> str:
    """The REST route as WP_REST_Request::get_route() gives it: ``/bpm-bridge/v1/config``, ``/``."""
    return request.path[len(REST_PREFIX) :] or "/"


def is_ours(route: str) -> bool:
    route = route.lower()  # as WordPress, which matches routes case-insensitively
    return route == NAMESPACE or route.startswith(NAMESPACE + "/")


def authenticate(shop: Shop) -> None:
    """WordPress' check_authentication(): sets ``g.user`` (None = anonymous) or refuses bad credentials."""
    g.user = None
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return
    try:
        login, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        raise WpError(
            401, "incorrect_password", "The provided password is an invalid application password."
        ) from None
    account = shop.users.get(login)
    if account is None:
        raise WpError(401, "invalid_username", "Unknown username. Check again or try your email address.")
    if not hmac.compare_digest(password.replace(" ", ""), account["password"]):
        raise WpError(401, "incorrect_password", "The provided password is an invalid application password.")
    g.user = login


def pre_dispatch() -> None:
    """The plugin's first stage on its own routes (before route matching and argument validation)."""
    extra = [name for name in dict.fromkeys(request.args) if name != "rest_route"]
    if request.headers.get("X-HTTP-Method-Override") is not None:
        extra.append("X-HTTP-Method-Override")
    if extra:
        raise WpError(
            400,
            "bpm_bridge_query_not_allowed",
            f"bpm-bridge/v1 takes its arguments from the signed body only; remove: {', '.join(extra)}.",
            params=extra,
        )
    limit = contract.limit("max_route_body_bytes")
    if (request.content_length or 0) > limit or len(request.get_data()) > limit:
        raise WpError(413, "bpm_bridge_body_too_large", f"The request body is larger than {limit} bytes.")


def require_cap(shop: Shop, cap: str, code: str, message: str) -> None:
    """current_user_can(): 401 for an anonymous caller, 403 for a user without the capability."""
    user = g.get("user")
    if user is None:
        raise WpError(401, code, message)
    if cap not in shop.users[user]["caps"]:
        raise WpError(403, code, message)


def permission(shop: Shop) -> None:
    """Every bpm-bridge/v1 route's permission callback: capability, signature, replay guard."""
    require_cap(shop, CAPABILITY, "rest_forbidden", "Sorry, you are not allowed to do that.")
    headers = {k.lower(): v for k, v in request.headers.items()}
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "rest_route"]
    tolerance = int(contract.load()["signature"]["tolerance_seconds"])
    try:
        msg_id = verify_request(
            shop.secrets,
            headers,
            request.method,
            rest_route(),
            query,
            request.get_data(),
            tolerance=tolerance,
        )
    except SignatureError as exc:
        raise WpError(401, "bpm_bridge_bad_signature", f"Invalid signature: {exc}") from None
    if not shop.use_message_id(msg_id):
        raise WpError(401, "bpm_bridge_bad_signature", "This message id was already used.")
