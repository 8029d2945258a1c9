"""API simulators the demo and the tests can start: name → "module:create_app" (one line per entry).

An invoicing simulator is listed under its provider's name (as in ``sidecar.providers.invoicing``): the
demo, ``bpm-sidecar sandbox`` and the invoicing test harness find it by that name.
"""

from __future__ import annotations

SIMULATORS: dict[str, str] = {
    "woo": "sidecar.sandbox.woo:create_app",
    "fakturownia": "sidecar.sandbox.fakturownia:create_app",
    "infakt": "sidecar.sandbox.infakt:create_app",
    "inpost": "sidecar.sandbox.shipx:create_app",
    "hubspot": "sidecar.sandbox.hubspot:create_app",
    "pipedrive": "sidecar.sandbox.pipedrive:create_app",
    "webhook": "sidecar.sandbox.webhook_sink:create_app",
}
