"""The sidecar's only door into WordPress (docs/contract.md §3, §4).

Everything goes through the plugin's ``bpm-bridge/v1`` routes: one read of an order with its BPM state
and its refunds (``GET orders/{id}``), one atomic write-back of meta, note and outcome
(``POST orders/{id}/apply``), the reconciliation listing (``POST orders/search``) and the configuration.
Every request carries HTTP Basic (the BPM API user's Application Password) *and* a contract-revision-2
signature over method, route, query and body (:func:`sidecar.signing.request_signature_headers`).

URLs are built from the store's REST root, discovered once (:class:`RestRoot`): pretty permalinks give
``…/wp-json/<route>``, plain ones ``…/?rest_route=<route>``. Redirects are never followed and an answer
that is not the REST API's JSON is an error (and forgets the discovered root), so a moved site shows up
as a failure instead of notes "written" into a home page.

Errors come back as the shared error vocabulary: 404 of an order is permanent ("order N not found in
the store"), a 409 of a compare-and-set is :class:`ConflictError` carrying the store's current values,
redirects, 5xx and timeouts are transient.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, quote, urlsplit

import requests

from sidecar import contract
from sidecar.audit import AuditLog
from sidecar.errors import ConflictError, EventNotFound, PermanentError, TransientError
from sidecar.http import HttpClient, classify, is_transient_status, retry_after_seconds
from sidecar.signing import request_signature_headers

if TYPE_CHECKING:
    from sidecar.config import Settings

log = logging.getLogger(__name__)

NS = "/bpm-bridge/v1"
MAX_PER_PAGE = 100  # the search route's maximum per_page
API_REL = "https://api.w.org/"
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
# A missing event (no outbox row) answers 404 with this code: the meta and the note still belong on the order.
EVENT_NOT_FOUND = "bpm_bridge_event_not_found"


@dataclass(frozen=True)
class OrderState:
    """``GET bpm-bridge/v1/orders/{id}``: the REST v3 order, its allow-listed meta, its refunds."""

    order: dict[str, Any]
    meta: dict[str, str]
    # {"id", "amount", "reason", "line_items"}; amount and reason from WooCommerce CRUD (contract §3).
    refunds: list[dict[str, Any]] = field(default_factory=list)
    # The customer's marketing consent now ({"marketing", "version", "at", "source"}; the customer's latest
    # record wins over the order's): {} from a plugin that does not send it, which counts as no consent.
    consent: dict[str, Any] = field(default_factory=dict)

    def refund(self, refund_id: int) -> dict[str, Any] | None:
        return next((r for r in self.refunds if int(r.get("id") or 0) == int(refund_id)), None)


@dataclass(frozen=True)
class OrderPage:
    orders: list[dict[str, Any]]  # {"id", "status", "date_modified_gmt", "meta"}: no personal data
    total: int
    total_pages: int


@dataclass(frozen=True)
class RestRoot:
    """Where the REST API lives: ``path`` mode (``…/wp-json/``) or ``query`` mode (``…/?rest_route=``)."""

    base: str  # path mode: the root ending in "/"; query mode: the URL that takes ?rest_route=
    query_mode: bool

    def url(self, route: str) -> str:
        if self.query_mode:
            return f"{self.base}?rest_route={quote(route, safe='/-._~')}"
        return self.base + route.lstrip("/")

    def encode(self) -> str:
        return json.dumps({"base": self.base, "query_mode": self.query_mode})

    @classmethod
    def decode(cls, raw: str | bytes) -> RestRoot | None:
        try:
            data = json.loads(raw)
            return cls(str(data["base"]), bool(data["query_mode"]))
        except (ValueError, KeyError, TypeError):
            return None

    @classmethod
    def from_link(cls, link: str) -> RestRoot:
        parts = urlsplit(link)
        params = parse_qsl(parts.query, keep_blank_values=True)
        if any(k == "rest_route" for k, _ in params):
            return cls(f"{parts.scheme}://{parts.netloc}{parts.path}", True)
        return cls(f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/", False)


class RootCache(Protocol):
    """Keeps the discovered root across processes (RQ forks a work horse per job)."""

    def get(self) -> str | bytes | None: ...
    def set(self, value: str) -> None: ...
    def delete(self) -> None: ...


class StoreClient:
    def __init__(
        self,
        settings: Settings,
        audit: AuditLog,
        observe: Any = None,
        session: requests.Session | None = None,
        root_cache: RootCache | None = None,
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
        self.root_cache = root_cache
        self._root: RestRoot | None = None
        self.last_error: str | None = None

    # -- the REST root ----------------------------------------------------------------------------
    def rest_root(self) -> RestRoot:
        if self._root is None:
            cached = self.root_cache.get() if self.root_cache is not None else None
            self._root = RestRoot.decode(cached) if cached else None
        if self._root is None:
            self._root = self._discover()
            if self.root_cache is not None:
                self.root_cache.set(self._root.encode())
        return self._root

    def forget_root(self) -> None:
        self._root = None
        if self.root_cache is not None:
            self.root_cache.delete()

    def _discover(self) -> RestRoot:
        """The home page's ``Link: <…>; rel="https://api.w.org/"``; ``/?rest_route=`` works without it."""
        response = self.http.request("GET", f"{self.base}/", headers={"Accept": "text/html"})
        if response.status_code >= 500:
            raise TransientError(
                f"the store answered HTTP {response.status_code} to GET /", retry_after_seconds(response)
            )
        link = _api_link(response.headers.get("Link", ""))
        store = urlsplit(self.base)
        if link is not None:
            found = urlsplit(link)
            if found.netloc.lower() == store.netloc.lower():
                # The store's scheme, never the link's: a site that advertises http must not downgrade us.
                root = RestRoot.from_link(found._replace(scheme=store.scheme).geturl())
                log.info("store REST root: %s", root.base)
                return root
            log.warning("ignoring the REST link of another host (%s); using ?rest_route=", found.netloc)
        return RestRoot(f"{self.base}/", True)

    # -- plumbing ---------------------------------------------------------------------------------
    def _request(self, method: str, route: str, body: Any = None) -> requests.Response:
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = request_signature_headers([self.secret], method, route, [], raw)
        if body is not None:
            headers["Content-Type"] = "application/json"
        headers["Accept"] = "application/json"
        return self.http.request(
            method, self.rest_root().url(route), data=raw or None, headers=headers, auth=self.auth
        )

    def _call(self, method: str, route: str, body: Any = None, *, what: str) -> Any:
        response = self._request(method, route, body)
        if response.status_code >= 300:
            self._raise(response, what)
        return self._json(response, what)

    def _json(self, response: requests.Response, what: str) -> Any:
        """The REST API's JSON, or TransientError (and a fresh discovery next time) for anything else."""
        content_type = response.headers.get("Content-Type", "")
        try:
            if "json" not in content_type.lower():
                raise ValueError(content_type)
            return response.json()
        except ValueError:
            self.forget_root()
            raise TransientError(
                f"the store answered {what} with something that is not the REST API's JSON "
                f"({content_type.split(';')[0] or 'no content type'}): check BPM_STORE_URL and the "
                "WordPress permalink settings"
            ) from None

    def _raise(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        code, message, data = _wp_error(response)
        if 300 <= status < 400:
            self.forget_root()
            raise TransientError(
                f"the store answered HTTP {status} to {what} (redirects are not followed): check "
                "BPM_STORE_URL and the WordPress permalink settings"
            )
        if status == 409:
            current = data.get("current")
            if not isinstance(current, dict):  # status routes answer the current status as text
                current = {"status": current} if current is not None else {}
            raise ConflictError(f"the store refused {what}: {message or code}", current)
        if status == 404 and code in ("bpm_bridge_order_not_found", "woocommerce_rest_shop_order_invalid_id"):
            raise PermanentError(f"{what} not found in the store")
        if status == 404 and code == EVENT_NOT_FOUND:
            raise EventNotFound(f"{what}: the store has no outbox row for this event")
        if status == 404 and not code:
            self.forget_root()  # not a REST answer: the root may have moved (permalinks changed)
            raise TransientError(f"the store answered HTTP 404 to {what} without a REST error")
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
        """Does the store answer ``bpm-bridge/v1`` with REST JSON? False (with ``last_error``) otherwise."""
        try:
            index = self._call("GET", NS, what=f"GET {NS}")
        except (TransientError, PermanentError) as exc:
            self.last_error = exc.reason
            return False
        if not isinstance(index, dict) or index.get("namespace") != NS.strip("/"):
            self.last_error = f"the store's answer to GET {NS} is not the BPM Bridge route index"
            return False
        self.last_error = None
        return True

    def read_order(self, order_id: int) -> OrderState:
        body = self._call("GET", f"{NS}/orders/{int(order_id)}", what=f"order {order_id}")
        if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
            raise TransientError(f"the store's answer for order {order_id} has no order in it")
        meta = {str(k): "" if v is None else str(v) for k, v in (body.get("meta") or {}).items()}
        consent = body.get("consent")
        return OrderState(
            body["order"], meta, list(body.get("refunds") or []), consent if isinstance(consent, dict) else {}
        )

    def get_order(self, order_id: int) -> dict[str, Any]:
        """The REST v3 order alone (:meth:`read_order` when its meta or refunds matter as well)."""
        return self.read_order(order_id).order

    def get_meta(self, order_id: int) -> dict[str, str]:
        return self._call("GET", f"{NS}/orders/{int(order_id)}/meta", what=f"order {order_id}")["meta"]

    def search_orders(
        self,
        statuses: Sequence[str],
        modified_after: datetime,
        page: int = 1,
        per_page: int = MAX_PER_PAGE,
        modified_before: datetime | None = None,
    ) -> OrderPage:
        """One page of the orders in ``statuses`` modified in the window, oldest id first (stable pages)."""
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1..{MAX_PER_PAGE}")
        body = {
            "statuses": list(statuses),
            "modified_after": _rfc3339(modified_after),
            "modified_before": _rfc3339(modified_before) if modified_before is not None else None,
            "page": int(page),
            "per_page": int(per_page),
            "missing_meta": None,
        }
        what = f"page {page} of the order search"
        found = self._call("POST", f"{NS}/orders/search", body, what=what)
        if not isinstance(found, dict) or not isinstance(found.get("orders"), list):
            raise TransientError(f"the store answered {what} with something that is not an order list")
        orders = found["orders"]
        return OrderPage(orders, int(found.get("total") or len(orders)), int(found.get("pages") or 0))

    def iter_orders(
        self,
        statuses: Sequence[str],
        modified_after: datetime,
        modified_before: datetime | None = None,
        per_page: int = MAX_PER_PAGE,
    ) -> Iterator[dict[str, Any]]:
        """Every order of the window, page by page, until the store says there is no more."""
        page = 1
        while True:
            batch = self.search_orders(statuses, modified_after, page, per_page, modified_before)
            yield from batch.orders
            if page >= batch.total_pages or not batch.orders:
                return
            page += 1

    def get_config(self) -> dict[str, Any]:
        return self._call("GET", f"{NS}/config", what="the sidecar configuration")

    # -- writes -----------------------------------------------------------------------------------
    def apply(
        self,
        order_id: int,
        *,
        meta: Mapping[str, str] | None = None,
        expect: Mapping[str, str] | None = None,
        note: str | None = None,
        outcome: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Meta (compare-and-set on ``expect``), a note and an outcome in one atomic request.

        ``outcome``: ``{"event_id", "action", "status", "message", "details", "next_attempt_at"}``.
        Raises :class:`ConflictError` (nothing written) when ``expect`` does not hold.
        """
        body: dict[str, Any] = {"meta": dict(meta or {}), "expect": dict(expect or {})}
        body["note"] = {"note": _clip(note, "max_note_chars"), "customer_note": False} if note else None
        body["outcome"] = _outcome(outcome) if outcome is not None else None
        return self._call(
            "POST", f"{NS}/orders/{int(order_id)}/apply", body, what=f"the update of order {order_id}"
        )

    def set_meta(
        self, order_id: int, meta: dict[str, str], expect: dict[str, str] | None = None
    ) -> dict[str, str]:
        return self.apply(order_id, meta=meta, expect=expect)["meta"]

    def add_note(self, order_id: int, note: str) -> dict[str, Any]:
        return self.apply(order_id, note=note)

    def set_status(self, order_id: int, from_: str, to: str, note: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"from": from_, "to": to}
        if note:
            body["note"] = _clip(note, "max_note_chars")
        return self._call(
            "POST", f"{NS}/orders/{int(order_id)}/status", body, what=f"the status of order {order_id}"
        )

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
        """The outcome alone, for events without an order and for ``retrying`` reports."""
        body = _outcome(
            {
                "event_id": event_id,
                "action": action,
                "status": status,
                "message": message,
                "details": details or {},
                "next_attempt_at": next_attempt_at,
            }
        )
        body.pop("event_id")
        body["order_id"] = order_id
        return self._call(
            "POST", f"{NS}/events/{event_id}/outcome", body, what=f"the outcome of event {event_id}"
        )


def _outcome(outcome: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "event_id": str(outcome["event_id"]),
        "action": str(outcome["action"]),
        "status": str(outcome["status"]),
        "message": _clip(str(outcome.get("message") or ""), "max_outcome_message_chars"),
        "details": dict(outcome.get("details") or {}),
        "next_attempt_at": outcome.get("next_attempt_at"),
    }


def _clip(text: str | None, limit: str) -> str:
    text = text or ""
    most = contract.limit(limit)
    return text if len(text) <= most else text[: most - 1] + "…"


def _api_link(header: str) -> str | None:
    """The target of the ``rel="https://api.w.org/"`` entry of a ``Link`` header."""
    for target, params in _LINK.findall(header):
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "rel" and API_REL in value.strip().strip('"').split():
                return target.strip()
    return None


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


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("give an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- returns (docs/contract.md §3.6) ---------------------------------------------------------------


@dataclass(frozen=True)
class RmaPage:
    rmas: list[
        dict[str, Any]
    ]  # {"id", "order_id", "status", "kind", "due_at", "has_label", …}: no personal data
    total: int
    total_pages: int


class RmaRoutes:
    """The RMA routes over a :class:`StoreClient`'s signed connection: ``RmaRoutes(store).get(7)``.

    Kept apart from :class:`StoreClient` (whose methods are about orders) but in this module: it is the
    same door into WordPress, with the same signing and the same error vocabulary."""

    def __init__(self, store: StoreClient) -> None:
        self.store = store

    def get(self, rma_id: int) -> dict[str, Any]:
        """``GET rmas/{id}``: the return, its ``meta`` map and what the carrier needs (``customer``)."""
        body = self.store._call("GET", f"{NS}/rmas/{int(rma_id)}", what=f"return {rma_id}")
        if not isinstance(body, dict) or "status" not in body:
            raise TransientError(f"the store's answer for return {rma_id} is not a return")
        meta = body.get("meta")
        body["meta"] = (
            {str(k): "" if v is None else str(v) for k, v in (meta or {}).items()}
            if isinstance(meta, dict)
            else {}
        )
        return body

    def set_meta(
        self,
        rma_id: int,
        meta: Mapping[str, str],
        expect: Mapping[str, str] | None = None,
        log: Mapping[str, Any] | None = None,
    ) -> dict[str, str]:
        """Compare-and-set on the return's meta (``rma_meta_keys``); ``log`` adds a timeline step
        ``{"event", "message", "public"}`` in the same request. ConflictError when ``expect`` fails."""
        body: dict[str, Any] = {"meta": dict(meta), "expect": dict(expect or {})}
        if log:
            body["log"] = {
                "event": str(log.get("event") or "note"),
                "message": _clip(str(log.get("message") or ""), "max_note_chars"),
                "public": bool(log.get("public", False)),
            }
        found = self.store._call(
            "POST", f"{NS}/rmas/{int(rma_id)}/meta", body, what=f"the meta of return {rma_id}"
        )
        return {str(k): "" if v is None else str(v) for k, v in (found.get("meta") or {}).items()}

    def attach_label(
        self,
        rma_id: int,
        carrier: str,
        tracking_number: str,
        *,
        url: str | None = None,
        pdf_base64: str | None = None,
    ) -> dict[str, Any]:
        """``POST rmas/{id}/label``; :class:`ConflictError` when the return already has a label."""
        body: dict[str, Any] = {"carrier": carrier, "tracking_number": tracking_number}
        if url:
            body["url"] = url
        if pdf_base64:
            body["pdf_base64"] = pdf_base64
        return self.store._call(
            "POST", f"{NS}/rmas/{int(rma_id)}/label", body, what=f"the label of return {rma_id}"
        )

    def set_status(
        self, rma_id: int, from_: str, to: str, note: str | None = None, actor: str = "system"
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"from": from_, "to": to, "actor": actor}
        if note:
            body["note"] = _clip(note, "max_note_chars")
        return self.store._call(
            "POST", f"{NS}/rmas/{int(rma_id)}/status", body, what=f"the status of return {rma_id}"
        )

    def search(
        self,
        statuses: Sequence[str],
        due_before: datetime | None = None,
        page: int = 1,
        per_page: int = MAX_PER_PAGE,
    ) -> RmaPage:
        """One page of the returns in ``statuses`` (due before ``due_before`` if given), oldest due first."""
        body = {
            "statuses": list(statuses),
            "due_before": _rfc3339(due_before) if due_before is not None else None,
            "page": int(page),
            "per_page": int(per_page),
        }
        what = f"page {page} of the return search"
        found = self.store._call("POST", f"{NS}/rmas/search", body, what=what)
        if not isinstance(found, dict) or not isinstance(found.get("rmas"), list):
            raise TransientError(f"the store answered {what} with something that is not a return list")
        rmas = found["rmas"]
        return RmaPage(rmas, int(found.get("total") or len(rmas)), int(found.get("pages") or 0))

    def iter_search(
        self, statuses: Sequence[str], due_before: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            batch = self.search(statuses, due_before, page)
            yield from batch.rmas
            if page >= batch.total_pages or not batch.rmas:
                return
            page += 1


# -- erasure requests (docs/contract.md §3.7) ---------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    """``GET erasures/{id}``: a WordPress erasure request and what the sidecar reported for it so far."""

    request_id: int
    email: str
    status: (
        str  # pending | confirmed | failed | completed | deleted (removed before the CRM erasure finished)
    )
    # destination → {"status", "message", "at"}; empty from a plugin that does not return them.
    outcomes: dict[str, dict[str, str]] = field(default_factory=dict)


class ErasureGone(PermanentError):
    """The store has no such open request (deleted, or completed more than 30 days ago)."""


class ErasureRoutes:
    """The erasure routes (the plugin's Privacy_Controller) over a :class:`StoreClient`'s connection."""

    def __init__(self, store: StoreClient) -> None:
        self.store = store

    def read_erasure(self, request_id: int) -> Erasure:
        route = f"{NS}/erasures/{int(request_id)}"
        what = f"erasure request {request_id}"
        response = self.store._request("GET", route)
        if response.status_code == 404 and _wp_error(response)[0] == "bpm_bridge_erasure_not_found":
            raise ErasureGone(
                f"{what} is no longer open in WordPress (deleted, or completed more than 30 days ago)"
            )
        if response.status_code >= 300:
            self.store._raise(response, what)
        body = self.store._json(response, what)
        if not isinstance(body, dict) or not body.get("email"):
            raise TransientError(f"the store's answer for {what} has no e-mail address in it")
        raw = body.get("outcomes")
        outcomes = {
            str(k): {str(f): str(v.get(f) or "") for f in ("status", "message", "at")}
            for k, v in (raw.items() if isinstance(raw, dict) else ())
            if isinstance(v, dict)
        }
        return Erasure(
            int(body.get("request_id") or request_id),
            str(body["email"]),
            str(body.get("status") or ""),
            outcomes,
        )

    def record_erasure_outcome(
        self, request_id: int, destination: str, status: str, message: str
    ) -> dict[str, dict[str, str]]:
        """One destination's result (``done`` | ``failed`` | ``skipped``); answers every outcome now."""
        body = {"destination": destination, "status": status, "message": _clip_to(message, 1000)}
        found = self.store._call(
            "POST",
            f"{NS}/erasures/{int(request_id)}/outcome",
            body,
            what=f"the {destination} outcome of erasure request {request_id}",
        )
        raw = found.get("outcomes") if isinstance(found, dict) else None
        return {str(k): dict(v) for k, v in (raw or {}).items() if isinstance(v, dict)}


def _clip_to(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
