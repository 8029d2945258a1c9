"""Pipedrive's HTTP side for :class:`sidecar.providers.crm.pipedrive.PipedriveProvider`: the v2 (and v1)
envelope, the account's shared request budget fed with Pipedrive's own limit headers, 429s waited out
within bounds, and Pipedrive's refusals in plain words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from sidecar.errors import PermanentError, TransientError
from sidecar.http import HttpClient, classify, retry_after_seconds
from sidecar.providers.crm.base import Deal
from sidecar.providers.crm.limits import Budget, bounded_delay, seconds_to_next_hour
from sidecar.providers.crm.pipedrive_memory import PENDING, Memory, stamp

CLAIM_TTL = 300  # a create on the wire; after this a crashed creator's claim lapses on its own
RATE_LIMIT_TRIES = 3
BURST_WINDOW = 2.0  # seconds: Pipedrive's rolling burst window
SETTINGS_PATH = "WooCommerce → Settings → BPM Bridge → CRM"


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def plain(error: str) -> str:
    return error.removeprefix("Validation failed: ").strip() or "no reason given"


class PipedriveHttp:
    """The requests of one provider object; the provider sets these in its ``__init__``."""

    token: str
    base: str
    pipeline: str
    http: HttpClient
    limiter: Budget
    memory: Memory
    _claiming: str
    _sent_at: float

    def _search(self, kind: str, term: str, field: str) -> list[dict[str, Any]]:
        params = {"term": term, "fields": field, "exact_match": "true", "limit": "100"}
        data = self._call("GET", f"/{kind}/search", what=f"the {kind} search", params=params)
        return [i for i in (data or {}).get("items") or () if isinstance(i, dict) and i.get("item")]

    def _all(self, path: str, what: str, version: str = "v2") -> list[dict[str, Any]]:
        """Every row of a listing: v2 pages by ``cursor``, v1 by ``start``; a 404 raises :class:`_Missing`."""
        rows: list[dict[str, Any]] = []
        params = {"limit": "500"}
        while True:
            body = self._envelope("GET", path, None, what, params, version=version)
            rows += list(body.get("data") or ())
            more = body.get("additional_data") or {}
            if version == "v1":
                page = more.get("pagination") or {}
                if not page.get("more_items_in_collection"):
                    return rows
                params = {"limit": "500", "start": str(page.get("next_start") or len(rows))}
            elif more.get("next_cursor"):
                params = {"limit": "500", "cursor": str(more["next_cursor"])}
            else:
                return rows

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        what: str,
        missing_ok: bool = False,
        params: Mapping[str, str] | None = None,
        stage: Deal | None = None,
    ) -> Any:
        """The answer's ``data``; None for a 404 with ``missing_ok``; the error vocabulary otherwise."""
        try:
            answer = self._envelope(method, path, body, what, params, stage)
        except _Missing:
            if missing_ok:
                return None
            raise PermanentError(f"Pipedrive does not know {what} ({path})") from None
        return answer.get("data") if answer.get("data") is not None else {}

    def _envelope(
        self,
        method: str,
        path: str,
        body: Any,
        what: str,
        params: Mapping[str, str] | None = None,
        stage: Deal | None = None,
        version: str = "v2",
    ) -> dict[str, Any]:
        headers = {"x-api-token": self.token, "Accept": "application/json"}
        for attempt in range(1, RATE_LIMIT_TRIES + 1):
            slot = self.limiter.acquire()
            if self._claiming and method == "POST":
                # The claim's age counts from the moment the create goes out, not from before a wait for
                # the rate limit: another worker must not take a claim over while this create is in flight.
                self._sent_at = self.memory.now()
                self.memory.put(self._claiming, stamp(PENDING, self._sent_at), CLAIM_TTL)
            response = self.http.request(
                method, f"{self.base}/api/{version}{path}", json=body, params=params, headers=headers
            )
            self._observe(response, slot)
            if response.status_code != 429:
                break
            delay = _limit_delay(response)
            self.limiter.pause(delay)
            if attempt == RATE_LIMIT_TRIES:
                raise TransientError(
                    "Pipedrive's request limit was reached; the sync waits and tries again", delay
                )
        if response.status_code < 300:
            return _body(response)
        self._raise(response, what, stage)
        raise AssertionError("not reached")

    def _observe(self, response: requests.Response, slot: str) -> None:
        """Pipedrive's own limit headers into the account's shared budget: its burst limit per window is
        learnt (every worker then paces by it), the slot counts from the answer's arrival, and an
        exhausted window pauses everyone until it resets (at most one window's worth, bounded)."""
        self.limiter.observe({}, slot)
        most = response.headers.get("x-ratelimit-limit") or ""
        if most.isdigit() and int(most) > 0:
            self.limiter.learn(int(most), int(BURST_WINDOW * 1000))
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = _seconds(response, "x-ratelimit-reset")
            self.limiter.pause(bounded_delay(reset, window=max(BURST_WINDOW, min(reset or 0.0, 60.0))))

    def _raise(self, response: requests.Response, what: str, stage: Deal | None) -> None:
        status = response.status_code
        answer = _body(response)
        message = str(answer.get("error") or "")
        if status == 404:
            raise _Missing(what)
        if status == 401:
            raise PermanentError(f"Pipedrive refused the API token (HTTP 401): check it in {SETTINGS_PATH}")
        if status == 403 and answer.get("code") == "feature_capping_deals_limit":
            raise PermanentError(
                "Pipedrive refused the new deal: the account's plan allows no more open deals "
                "(feature_capping_deals_limit); close deals or upgrade the plan, then retry"
            )
        if status == 403:
            raise PermanentError(
                f"Pipedrive refused {what}: {message or 'HTTP 403'} (check the API user's permissions)"
            )
        if status == 400 and stage is not None and ("stage_id" in message or "pipeline_id" in message):
            raise PermanentError(
                f'Pipedrive has no stage {stage.stage} in pipeline "{self.pipeline or "default"}" (mapped to '
                f'order status "{stage.status}"): {plain(message)}. Load the stages in {SETTINGS_PATH} and '
                "map again"
            )
        if 400 <= status < 500 and status not in (408, 425, 429):
            raise PermanentError(
                f"Pipedrive refused {what}: {plain(message) if message else f'HTTP {status}'}"
            )
        classify(response, "Pipedrive", f"Pipedrive answered HTTP {status} to {what}")


def _limit_delay(response: requests.Response) -> float:
    """A 429's pause: its Retry-After within one burst window (``x-ratelimit-reset`` says how far the
    window's end is; Pipedrive's burst window is 2 s), or within an hour when the daily budget is spent."""
    if response.headers.get("x-daily-requests-left") == "0":
        return bounded_delay(retry_after_seconds(response) or seconds_to_next_hour(), window=None)
    window = max(BURST_WINDOW, _seconds(response, "x-ratelimit-reset") or 0.0)
    return bounded_delay(retry_after_seconds(response), window=window)


class _Missing(Exception):
    """A 404: the caller decides whether that is an answer or an error."""


def _seconds(response: requests.Response, header: str) -> float | None:
    try:
        return max(0.0, float(response.headers.get(header, "")))
    except ValueError:
        return None
