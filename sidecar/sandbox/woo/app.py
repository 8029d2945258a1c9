"""The WooCommerce + BPM Bridge plugin simulator's Flask app: the store as the sidecar sees it."""

from __future__ import annotations

import os
import time
from typing import Any

from flask import Flask, Response, g, request

from sidecar.sandbox.woo import routes_bpm, routes_sandbox, routes_store
from sidecar.sandbox.woo.guard import REST_PREFIX, Permalinks, authenticate, is_ours, pre_dispatch, rest_route
from sidecar.sandbox.woo.state import API_USER, CAPABILITY, Shop
from sidecar.sandbox.woo.wp import WpError, error_response

NO_ROUTE = "No route was found matching the URL and request method."


def create_app(
    secrets_: list[str] | None = None,
    user: str | None = None,
    app_password: str | None = None,
    home: str | None = None,
    permalinks: str | None = None,
) -> Flask:
    """Arguments default to the same environment variables the sidecar reads, so one env runs both.

    ``permalinks``: ``pretty`` (default) or ``plain`` (``BPM_SANDBOX_PERMALINKS``;
    ``PUT /sandbox/permalinks`` changes it on a running simulator).
    """
    env = os.environ
    secrets_ = secrets_ or env.get("BPM_WEBHOOK_SECRETS", "").split()
    if not secrets_:
        raise ValueError("the woo simulator needs the shared secret: BPM_WEBHOOK_SECRETS")
    user = user or env.get("BPM_STORE_USER", API_USER)
    app_password = app_password or env.get("BPM_STORE_APP_PASSWORD")
    if not app_password:
        raise ValueError("the woo simulator needs the API user's password: BPM_STORE_APP_PASSWORD")
    configured = (home or env.get("BPM_STORE_URL") or "").rstrip("/")
    users = {
        user: {
            "password": app_password.replace(" ", ""),
            "caps": {"read", "read_private_shop_orders", CAPABILITY},
        },
        # A user without the plugin's capability, to exercise 403 rest_forbidden.
        "shop-manager": {
            "password": "ManagerPassword000000000",
            "caps": {"read", "read_private_shop_orders"},
        },
    }
    shop = Shop(configured or "http://127.0.0.1", list(secrets_), users)
    # Without a configured home (tests on a free port) the discovery header names the address asked.
    shop.home_from_request = not configured
    shop.permalinks = permalinks or env.get("BPM_SANDBOX_PERMALINKS", "pretty")
    app = Flask(__name__)
    app.extensions["woo_shop"] = shop
    unrouted = Flask(__name__)
    unrouted.add_url_rule("/<path:_any>", "unrouted", lambda _any: routes_store.not_found())
    app.wsgi_app = Permalinks(app.wsgi_app, shop, unrouted)  # type: ignore[method-assign]

    @app.errorhandler(WpError)
    def _wp_error(exc: WpError) -> Response:
        return error_response(exc.status, exc.code, exc.message, **exc.data)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def _no_route(_exc: Exception) -> Response:
        return error_response(404, "rest_no_route", NO_ROUTE)

    @app.before_request
    def _before() -> Response | None:
        g.started = time.time()
        if request.path.startswith("/sandbox/"):
            return None
        with shop.lock:
            for fault in shop.faults:
                if fault["remaining"] > 0 and request.path.startswith(fault.get("path", "/")):
                    fault["remaining"] -= 1
                    response = error_response(fault["status"], "sandbox_fault", "Injected fault.")
                    if fault.get("retry_after") is not None:
                        response.headers["Retry-After"] = str(fault["retry_after"])
                    return response
        if request.path.startswith(REST_PREFIX):
            authenticate(shop)
            if is_ours(rest_route()):
                pre_dispatch()
        return None

    @app.after_request
    def _after(response: Response) -> Response:
        if request.path.startswith(REST_PREFIX) and is_ours(rest_route()):
            response.headers["Cache-Control"] = "no-store"
        if not request.path.startswith("/sandbox/"):
            with shop.lock:
                entry: dict[str, Any] = {
                    "method": request.method,
                    "path": request.path,  # the REST path, however it was asked for
                    "rest_route": bool(request.environ.get("bpm.rest_route_form")),
                    "status": response.status_code,
                    "user": g.get("user"),
                    "at": g.get("started", time.time()),
                }
                shop.requests.append(entry)
        return response

    routes_store.register(app, shop)
    routes_bpm.register(app, shop)
    routes_sandbox.register(app, shop)
    return app
