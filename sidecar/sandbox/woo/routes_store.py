"""WordPress and WooCommerce as the sidecar sees them: the home page, the REST index, wc/v3 reads.

As the BPM API user, wc/v3 answers single orders and single refunds only; the order and refund
collections (listing, ``search``, ``customer=``) are refused like the plugin's role guard refuses them.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request

from sidecar.sandbox.woo.guard import require_cap
from sidecar.sandbox.woo.state import Shop
from sidecar.sandbox.woo.wp import WpError

API_REL = "https://api.w.org/"


def rest_root(shop: Shop) -> str:
    home = request.host_url.rstrip("/") if shop.home_from_request else shop.home
    # get_rest_url() under plain permalinks names index.php (measured on WordPress 6.1 and 7.0).
    return f"{home}/index.php?rest_route=/" if shop.permalinks == "plain" else f"{home}/wp-json/"


def not_found() -> Response:
    """The web server's own 404: plain permalinks on a host without URL rewriting (measured with Apache)."""
    return Response("<html><body><h1>Not Found</h1></body></html>", status=404, mimetype="text/html")


def home_page(shop: Shop) -> Response:
    """The theme's front page, with the REST API discovery header WordPress sends on every page."""
    html = "<!doctype html><html><head><title>BPM Sandbox Shop</title></head><body>Shop</body></html>"
    response = Response(html, mimetype="text/html")
    response.headers["Link"] = f'<{rest_root(shop)}>; rel="{API_REL}"'
    return response


def register(app: Flask, shop: Shop) -> None:
    def can_read(message: str = "Sorry, you cannot view this resource.") -> None:
        require_cap(shop, "read_private_shop_orders", "woocommerce_rest_cannot_view", message)

    def refused() -> WpError:
        return WpError(
            403,
            "bpm_bridge_api_user_refused",
            "The BPM API user may only read single orders and refunds and use the bpm-bridge/v1 routes.",
        )

    @app.get("/")
    @app.get("/index.php")
    def front() -> Response:
        return home_page(shop)

    @app.get("/wp-json/")
    def index() -> Response:
        return jsonify(
            {
                "name": "BPM Sandbox Shop",
                "description": "WooCommerce simulator",
                "url": shop.home,
                "home": shop.home,
                "gmt_offset": "1",
                "timezone_string": "Europe/Warsaw",
                "namespaces": ["wp/v2", "wc/v3", "bpm-bridge/v1"],
                "authentication": {"application-passwords": {"endpoints": {}}},
                "routes": {},
            }
        )

    @app.get("/wp-json/wc/v3/orders/<int:order_id>")
    def wc_order(order_id: int) -> Response:
        can_read()
        with shop.lock:
            if order_id not in shop.orders:
                raise WpError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            return jsonify(shop.order_view(order_id))

    @app.get("/wp-json/wc/v3/orders")
    def wc_orders() -> Any:
        can_read("Sorry, you cannot list resources.")
        raise refused()

    @app.get("/wp-json/wc/v3/orders/<int:order_id>/refunds")
    def wc_refunds(order_id: int) -> Any:
        can_read("Sorry, you cannot list resources.")
        raise refused()

    @app.get("/wp-json/wc/v3/orders/<int:order_id>/refunds/<int:refund_id>")
    def wc_refund(order_id: int, refund_id: int) -> Response:
        can_read()
        with shop.lock:
            if order_id not in shop.orders:
                raise WpError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            refund = shop.refunds.get(refund_id)
            if refund is None or refund["_order_id"] != order_id:
                raise WpError(404, "woocommerce_rest_shop_order_refund_invalid_id", "Invalid ID.")
            return jsonify({k: v for k, v in refund.items() if not k.startswith("_") or k == "_links"})
