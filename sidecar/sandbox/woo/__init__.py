"""WooCommerce + BPM Bridge plugin simulator: the store as the sidecar sees it.

Faithful to what the sidecar relies on, and checked against the real plugin by
tests/contract/test_conformance.py (the same cases run on both):

- the home page with WordPress' ``Link: <…>; rel="https://api.w.org/"`` header, ``GET /wp-json/`` (the REST
  index), ``?rest_route=/…`` under either permalink setting and, with plain permalinks, ``/wp-json/…``
  answered by the web server's HTML 404, as on a host without URL rewriting (:mod:`.guard`);
- ``GET /wp-json/wc/v3/orders/{id}`` and ``/orders/{id}/refunds/{rid}`` in WooCommerce REST v3's shape
  (:mod:`.orders`); the collections are refused to the BPM API user, as the plugin's role guard does;
- HTTP Basic with an Application Password and WordPress' own error codes;
- the whole ``bpm-bridge/v1`` namespace of docs/contract.md §3 (:mod:`.routes_bpm`): the query-parameter and
  method-override refusal, argument validation before the permission callback, contract revision 2 request
  signatures, the replay guard, the meta allow-list, ``expect`` compare-and-set, transitions, outcomes,
  ``GET orders/{id}``, ``POST orders/{id}/apply`` and ``POST orders/search`` — rules read from
  docs/contract.json (:mod:`.state`).

``/sandbox/…`` is an admin API for tests and the demo (:mod:`.routes_sandbox`).
"""

from __future__ import annotations

from sidecar.sandbox.woo.app import create_app
from sidecar.sandbox.woo.state import API_USER, CAPABILITY, Shop

__all__ = ["API_USER", "CAPABILITY", "Shop", "create_app"]
