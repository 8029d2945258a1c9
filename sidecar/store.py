"""The sidecar's only door into WordPress (docs/contract.md §3, §4).

Reads go through WooCommerce REST v3, writes and the configuration through the plugin's ``bpm-bridge/v1``
routes. Every request carries HTTP Basic (the BPM API user's Application Password) *and* a Standard
Webhooks signature made with the current secret, as §1 requires. Errors come back as the shared error
vocabulary: 404 of an order is permanent ("order N not found in the store"), a 409 of a compare-and-set
route is :class:`ConflictError` carrying the store's current values, 5xx / timeouts are transient.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import requests

from sidecar.audit import AuditLog
from sidecar.errors import ConflictError, PermanentError, TransientError
from sidecar.http import HttpClient, classify, is_transient_status, retry_after_seconds
from sidecar.signing import signature_headers

if TYPE_CHECKING:
    from sidecar.config import Settings

log = logging.getLogger(__name__)

NOTE_LIMIT = 2000  # contract §3.2
MAX_PER_PAGE = 100  # WooCommerce's maximum per_page


@dataclass(frozen=True)
class OrderPage:
    orders: list[dict[str, Any]]
    total: int  # X-WP-Total: orders matching the query
    total_pages: int  # X-WP-TotalPages


class StoreClient:
    def __init__(
        self,
        settings: Settings,
        audit: AuditLog,
        observe: Any = None,
        session: requests.Session | None = None,
    ) -> None:
        url = settings.store_url.rstrip("/")
        if urlsplit(url).scheme != "https" and not settings.allow_insecure_store:
            # Basic credentials and decrypted provider tokens (GET /config) travel on this connection.
            raise PermanentError(
                "BPM_STORE_URL must be https (set BPM_ALLOW_INSECURE_STORE=true only for a local test store)"
            )
        self.base = url
        self.secret = settings.webhook_secrets[0]
        self.auth = (settings.store_user, settings.store_app_password)
        timeout = float(settings.store_timeout)
        self.http = HttpClient(
            "store", audit, timeout=(min(timeout, 5.0), timeout), session=session, observe=observe
        )
        self.last_error: str | None = None

    # -- plumbing ---------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any = None) -> requests.Response:
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = signature_headers([self.secret], raw)
        if body is not None:
            headers["Content-Type"] = "application/json"
        headers["Accept"] = "application/json"
        return self.http.request(
            method, f"{self.base}/wp-json{path}", data=raw or None, headers=headers, auth=self.auth
        )

    def _call(self, method: str, path: str, body: Any = None, *, what: str) -> Any:
        response = self._request(method, path, body)
        if response.status_code >= 300:
            self._raise(response, what)
        try:
            return response.json()
        except ValueError:
            raise TransientError(f"the store answered {what} with something that is not JSON") from None

    def _raise(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        code, message, data = _wp_error(response)
        if status == 409:
            current = data.get("current")
            if not isinstance(current, dict):  # status routes answer the current status as text
                current = {"status": current} if current is not None else {}
            raise ConflictError(f"the store refused {what}: {message or code}", current)
        if status == 404 and code in ("bpm_bridge_order_not_found", "woocommerce_rest_shop_order_invalid_id"):
            raise PermanentError(f"{what} not found in the store")
        if status in (401, 403):
            raise PermanentError(
                f"the store refused our credentials for {what} ({code or status}): check BPM_STORE_USER, "
                "BPM_STORE_APP_PASSWORD, BPM_WEBHOOK_SECRETS and the BPM API role"
            )
        if is_transient_status(status):
            raise TransientError(f"the store answered HTTP {status} to {what}", retry_after_seconds(response))
        detail = f"{code}: {message}" if code else f"HTTP {status}"
        classify(response, "store", f"the store refused {what} ({detail})")

    # -- reads ------------------------------------------------------------------------------------
    def ping(self) -> bool:
        """Is the store's REST index reachable? False (with ``last_error``) instead of raising."""
        try:
            response = self._request("GET", "/")
        except TransientError as exc:
            self.last_error = exc.reason
            return False
        if response.status_code >= 300:
            self.last_error = f"the store answered HTTP {response.status_code} to GET /wp-json/"
            return False
        self.last_error = None
        return True

    def get_order(self, order_id: int) -> dict[str, Any]:
        return self._call("GET", f"/wc/v3/orders/{int(order_id)}", what=f"order {order_id}")

    def list_orders(
        self,
        statuses: Sequence[str],
        modified_after: datetime,
        page: int = 1,
        per_page: int = MAX_PER_PAGE,
        modified_before: datetime | None = None,
    ) -> OrderPage:
        """One page of ``GET /wc/v3/orders`` for orders modified after a moment, oldest id first.

        Dates go out as naive UTC with ``dates_are_gmt=true``: without it WooCommerce compares them with
        the shop's local modification time. Sorting by id keeps the pages stable while orders change
        under the sweep (sorting by modification date would move a touched order to another page).
        """
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1..{MAX_PER_PAGE}")
        params = [
            ("status", ",".join(statuses) or "any"),
            ("modified_after", _gmt(modified_after)),
            ("dates_are_gmt", "true"),
            ("orderby", "id"),
            ("order", "asc"),
            ("page", str(int(page))),
            ("per_page", str(int(per_page))),
        ]
        if modified_before is not None:
            params.insert(2, ("modified_before", _gmt(modified_before)))
        what = f"page {page} of the order list"
        response = self._request("GET", f"/wc/v3/orders?{urlencode(params)}")
        if response.status_code >= 300:
            self._raise(response, what)
        try:
            orders = response.json()
        except ValueError:
            raise TransientError(f"the store answered {what} with something that is not JSON") from None
        if not isinstance(orders, list):
            raise TransientError(f"the store answered {what} with something that is not a list")
        total = _int_header(response, "X-WP-Total", len(orders))
        pages = _int_header(response, "X-WP-TotalPages", page if orders else 0)
        return OrderPage(orders, total, pages)

    def iter_orders(
        self,
        statuses: Sequence[str],
        modified_after: datetime,
        modified_before: datetime | None = None,
        per_page: int = MAX_PER_PAGE,
    ) -> Iterator[dict[str, Any]]:
        """Every order of the window, page by page, until X-WP-TotalPages says there is no more."""
        page = 1
        while True:
            batch = self.list_orders(statuses, modified_after, page, per_page, modified_before)
            yield from batch.orders
            if page >= batch.total_pages or not batch.orders:
                return
            page += 1

    def get_refund(self, order_id: int, refund_id: int) -> dict[str, Any]:
        return self._call(
            "GET",
            f"/wc/v3/orders/{int(order_id)}/refunds/{int(refund_id)}",
            what=f"refund {refund_id} of order {order_id}",
        )

    def get_config(self) -> dict[str, Any]:
        return self._call("GET", "/bpm-bridge/v1/config", what="the sidecar configuration")

    def get_meta(self, order_id: int) -> dict[str, str]:
        return self._call("GET", f"/bpm-bridge/v1/orders/{int(order_id)}/meta", what=f"order {order_id}")[
            "meta"
        ]

    # -- writes -----------------------------------------------------------------------------------
    def add_note(self, order_id: int, note: str, customer_note: bool = False) -> dict[str, Any]:
        if len(note) > NOTE_LIMIT:
            note = note[: NOTE_LIMIT - 1] + "…"
        body = {"note": note, "customer_note": bool(customer_note)}
        return self._call(
            "POST", f"/bpm-bridge/v1/orders/{int(order_id)}/notes", body, what=f"a note on order {order_id}"
        )

    def set_meta(
        self, order_id: int, meta: dict[str, str], expect: dict[str, str] | None = None
    ) -> dict[str, str]:
        body: dict[str, Any] = {"meta": meta}
        if expect is not None:
            body["expect"] = expect
        path = f"/bpm-bridge/v1/orders/{int(order_id)}/meta"
        return self._call("POST", path, body, what=f"meta of order {order_id}")["meta"]

    def set_status(self, order_id: int, from_: str, to: str, note: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"from": from_, "to": to}
        if note:
            body["note"] = note
        path = f"/bpm-bridge/v1/orders/{int(order_id)}/status"
        return self._call("POST", path, body, what=f"the status of order {order_id}")

    def report_outcome(
        self,
        event_id: str,
        action: str,
        status: str,
        message: str,
        order_id: int | None,
        details: dict[str, Any] | None = None,
        next_attempt_at: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "action": action,
            "status": status,
            "message": message,
            "order_id": order_id,
            "details": details or {},
            "next_attempt_at": next_attempt_at,
        }
        path = f"/bpm-bridge/v1/events/{event_id}/outcome"
        return self._call("POST", path, body, what=f"the outcome of event {event_id}")


def _wp_error(response: requests.Response) -> tuple[str, str, dict[str, Any]]:
    """``(code, message, data)`` of a WordPress REST error body; empty values when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return "", "", {}
    if not isinstance(body, dict):
        return "", "", {}
    data = body.get("data")
    return str(body.get("code") or ""), str(body.get("message") or ""), data if isinstance(data, dict) else {}


def _gmt(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("give an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _int_header(response: requests.Response, name: str, default: int) -> int:
    try:
        return int(response.headers.get(name, default))
    except ValueError:
        return default
