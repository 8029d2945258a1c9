"""The one client of the simulators' sandbox-only control APIs, for every test that drives a simulator.

- :class:`WooSandbox`: the WooCommerce/plugin simulator's ``/sandbox/`` admin API (orders, refunds,
  meta, notes, events, faults, the request log, the plugin's settings); it extends
  ``support.WooAdmin`` (the fixtures' client) with what the invoicing tests need, so there is one
  implementation of that API;
- :class:`InvoicingSandbox`: ``/_sandbox/`` of an invoicing simulator (``sidecar/sandbox/control.py``):
  the documents it holds, faults, reset, and the settings the simulator declares (``ksef``, …);
- :class:`InfaktSandbox`: the same plus inFakt's task timing, rate limits and task list;
- :class:`ShipxSandbox`: the InPost ShipX simulator's ``/_sandbox/`` (shipments, counters, confirmation
  timing, search quirks, status moves, points, webhooks);
- :class:`HubspotSandbox`: the HubSpot CRM simulator's ``/_sandbox/`` (contacts, deals, line items,
  associations, blocklist, limit counters, limits, search lag, batch error mode, account, pipelines).

Every call raises on an HTTP error: a test must never go on after a control call the simulator refused.
"""

from __future__ import annotations

from typing import Any

import requests
from support import WooAdmin

TIMEOUT = 10


class WooSandbox(WooAdmin):
    def set_status(self, order_id: int, status: str) -> dict[str, Any]:
        return self._call("POST", f"/orders/{order_id}/status", {"status": status})

    def put_meta(self, order_id: int, meta: dict[str, str]) -> dict[str, Any]:
        return self._call("PUT", f"/orders/{order_id}/meta", meta)

    def note_texts(self, order_id: int) -> list[str]:
        return [n["note"] for n in self.notes(order_id)]

    def create_rma(self, order_id: int, **spec: Any) -> dict[str, Any]:
        """A return request, as the customer's "My account" form files it."""
        return self._call("POST", "/rmas", {"order_id": order_id, **spec})

    def permalinks(self, structure: str) -> dict[str, Any]:
        """WordPress' permalink setting: ``"plain"`` (``?rest_route=``) or ``"pretty"`` (``/wp-json/``)."""
        return self._call("PUT", "/permalinks", {"structure": structure})


class InvoicingSandbox:
    """``/_sandbox/`` of one invoicing simulator."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        response = requests.request(method, f"{self.url}/_sandbox{path}", json=json, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def snapshot(self) -> dict[str, Any]:
        """Everything the account holds (each document with the e-mails it was sent as ``emails``)."""
        return self._call("GET", "/documents")

    def documents(self) -> list[dict[str, Any]]:
        return self.snapshot()["documents"]

    def fault(self, **rule: Any) -> list[dict[str, Any]]:
        """One rule of ``sidecar/sandbox/faults.py``: ``mode``, ``match``, ``count``, ``retry_after``, …"""
        return self._call("POST", "/faults", rule)["rules"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def reset(self) -> None:
        self._call("POST", "/reset")

    def setting(self, name: str, **values: Any) -> dict[str, Any]:
        """Update a setting the simulator declares; answers its current values."""
        return self._call("POST", f"/{name}", values)

    def ksef(self, **values: Any) -> dict[str, Any]:
        return self.setting("ksef", **values)


class InfaktSandbox(InvoicingSandbox):
    def task_timing(self, polls: int, seconds: float) -> dict[str, Any]:
        """A task finishes after ``polls`` status reads, or on its own after ``seconds``."""
        return self.setting("tasks", polls=polls, seconds=seconds)

    def limits(self, **values: Any) -> dict[str, Any]:
        return self.setting("limits", **values)

    def tasks(self) -> dict[str, dict[str, Any]]:
        """Every creation task ever accepted: reference → ``{"resource", "code"}``."""
        return self.snapshot()["tasks"]


class ShipxSandbox(InvoicingSandbox):
    """``/_sandbox/`` of the InPost ShipX simulator (``sidecar/sandbox/shipx``)."""

    def shipments(self, reference: str | None = None) -> list[dict[str, Any]]:
        """The shipments held (only those with exactly ``reference`` when given), each with
        ``organization_id``, ``label_fetches`` and ``reads``."""
        found = self.snapshot()["shipments"]
        return [s for s in found if reference is None or s.get("reference") == reference]

    def by_reference(self, reference: str) -> int:
        """How many shipments carry ``reference`` (ShipX never de-duplicates it)."""
        return int(self.snapshot()["by_reference"].get(reference, 0))

    def label_fetches(self) -> int:
        return int(self.snapshot()["label_fetches"])

    def confirmation(self, reads: int = 2, seconds: float = 0.0) -> dict[str, Any]:
        """``created`` → ``confirmed`` on the ``reads``-th read by id, or ``seconds`` after creation
        (0 = off for either)."""
        return self.setting("confirmation", reads=reads, seconds=seconds)

    def search(self, **quirks: Any) -> dict[str, Any]:
        """``ignore_unsupported`` (the ``reference`` filter is ignored: an unfiltered page),
        ``lag_seconds`` (new shipments not found for that long), ``misses_by_id``, ``reference_match``
        (``exact`` | ``substring``)."""
        return self.setting("search", **quirks)

    def move(self, shipment_id: int | str, status: str = "next", webhook: bool = False) -> dict[str, Any]:
        """The carrier moves the shipment on (``next`` or a status name; steps between are recorded)."""
        return self._call("POST", f"/shipments/{shipment_id}/status", {"status": status, "webhook": webhook})

    def add_point(self, name: str, **spec: Any) -> dict[str, Any]:
        fields = {"city": "Warszawa", "post_code": "00-950", "street": "Testowa", "building": "1", **spec}
        return self._call("POST", "/points", {"name": name, **fields})

    def webhook(self, **values: Any) -> dict[str, Any]:
        """``url``, ``secret``, ``signature`` (``body`` | ``timestamp``), ``auto`` (on every status move)."""
        return self.setting("webhook", **values)

    def send_webhook(self, shipment_id: int, event: str = "shipment_status_changed") -> dict[str, Any]:
        return self._call("POST", "/webhook/send", {"shipment_id": shipment_id, "event": event})

    def webhooks(self) -> list[dict[str, Any]]:
        """Webhooks sent: ``{"event", "headers", "answer"}`` (answer = HTTP status or the error's name)."""
        return self.snapshot()["webhooks"]


class HubspotSandbox(InvoicingSandbox):
    """``/_sandbox/`` of the HubSpot CRM simulator (``sidecar/sandbox/hubspot``)."""

    def contacts(self) -> list[dict[str, Any]]:
        """Every contact held: ``{"id", "properties", "createdAt", "updatedAt", "associations"}``."""
        return self.snapshot()["contacts"]

    def deals(self) -> list[dict[str, Any]]:
        return self.snapshot()["deals"]

    def line_items(self) -> list[dict[str, Any]]:
        return self.snapshot()["line_items"]

    def associations(self) -> list[dict[str, Any]]:
        """``{"from_type", "from_id", "to_type", "to_id", "type_ids"}``, both directions listed."""
        return self.snapshot()["associations"]

    def counts(self) -> dict[str, Any]:
        """Records held per type, plus ``creates`` and ``updates`` per type."""
        return self.snapshot()["counts"]

    def blocklist(self) -> list[str]:
        """E-mail addresses a GDPR delete blocked from being created again."""
        return self.snapshot()["blocklist"]

    def limit_stats(self) -> dict[str, Any]:
        """``requests``, ``served``, ``rejected_429``, ``by_policy``, ``max_in_window`` (most requests served
        in any rolling 10 s), ``max_attempts_in_window``, ``in_window``, ``daily_used``, ``buckets`` (served
        per consecutive 10 s since the first request), ``load_errors``, ``settings``, ``load``."""
        return self._call("GET", "/limits")

    def limits(self, **values: Any) -> dict[str, Any]:
        """``ten_second_max``, ``daily_max``, ``search_per_second``."""
        return self.setting("limits", **values)

    def load(self, error_rate: float, above: float = 0.8, seed: int = 0) -> dict[str, Any]:
        """Transient 500s: once the 10-second window is ``above`` full, each request fails with
        ``error_rate`` (dice seeded with ``seed``)."""
        return self.setting("load", error_rate=error_rate, above=above, seed=seed)

    def search_lag(self, seconds: float) -> dict[str, Any]:
        """A write is found by search only ``seconds`` after it."""
        return self.setting("search", lag_seconds=seconds)

    def batch(self, **values: Any) -> dict[str, Any]:
        """``errors``: ``multi_status`` (207, per-input errors) | ``whole_batch`` (one bad input refuses the
        batch); ``max_inputs``; ``conflict_seconds`` (an upsert finding a record younger than that answers
        409 "… already exists. Existing ID: …", as a create it raced would); ``order``: ``input`` |
        ``reversed`` (batch results in reverse, for a client that pairs results with inputs by position)."""
        return self.setting("batch", **values)

    def account(self, **values: Any) -> dict[str, Any]:
        """``currencies`` (deal_currency_code options), ``scopes_missing`` (scopes the app lacks: 403)."""
        return self.setting("account", **values)

    def add_pipeline(self, pipeline_id: str, label: str, stages: list[dict[str, Any]]) -> dict[str, Any]:
        """A deal pipeline; stages ``{"id", "label", "probability"?, "closed"?}``."""
        return self._call("POST", "/pipelines", {"id": pipeline_id, "label": label, "stages": stages})
