"""Outbound HTTP for providers and the store: timeouts, audit, metrics and error classification.

Providers call :meth:`HttpClient.request` and get a ``requests.Response`` back for any HTTP answer;
connection errors and timeouts become :class:`TransientError`. :func:`classify` turns the usual status
codes into the error vocabulary; a provider with odd error shapes passes its own ``reason``.
POSTs are never retried here: retrying a create is the job's decision, after a lookup.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from sidecar import contract
from sidecar.audit import AuditLog, redact_body
from sidecar.errors import PermanentError, TransientError

DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read: providers answer in 0.2-2 s; a KSeF send may take longer
# A connection dropped mid-body is not a requests.ConnectionError; uncaught it would be a 500 on /readyz
# and an "internal error" with a traceback in the jobs, where it is an ordinary transient failure.
_CUT_OFF = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)


def retry_after_seconds(response: requests.Response) -> float | None:
    """Parse ``Retry-After`` (seconds or an HTTP date); ``None`` when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def is_transient_status(status: int) -> bool:
    """Worth retrying later, by the contract's rule (docs/contract.json ``transient_http``): redirects,
    timeouts, too early/too many requests, server errors; never another 4xx."""
    return contract.is_transient_status(status)


def classify(response: requests.Response, provider: str, reason: str | None = None) -> None:
    """Raise the right error for a non-2xx answer; return quietly for 2xx."""
    status = response.status_code
    if status < 300:
        return
    what = reason or f"{provider} answered HTTP {status}"
    if is_transient_status(status):
        raise TransientError(what, retry_after_seconds(response))
    if status in (401, 403):
        raise PermanentError(
            reason or f"{provider} refused our credentials (HTTP {status}): check the API token."
        )
    raise PermanentError(what)


class HttpClient:
    """A ``requests.Session`` that records every call in the audit trail and the metrics."""

    def __init__(
        self,
        provider: str,
        audit: AuditLog,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        observe: Any = None,
    ) -> None:
        self.provider = provider
        self.audit = audit
        self.timeout = timeout
        self.session = session or requests.Session()
        # observe(provider, method, status_class, seconds) — metrics hook, kept optional so that
        # providers stay testable without a metrics registry.
        self.observe = observe

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        started = time.monotonic()
        parts = urlsplit(url)
        record: dict[str, Any] = {
            "provider": self.provider,
            "method": method,
            "url": f"{parts.scheme}://{parts.netloc}{parts.path}",  # query strings may carry tokens
            "request_body": redact_body(kwargs.get("data") or _json_bytes(kwargs.get("json"))),
        }
        try:
            response = self.session.request(method, url, **kwargs)
        except (requests.Timeout, requests.ConnectionError, *_CUT_OFF) as exc:
            elapsed = time.monotonic() - started
            self.audit.record(**record, status=None, error=type(exc).__name__, seconds=round(elapsed, 3))
            self._observe(method, "error", elapsed)
            what = "answer was cut off" if isinstance(exc, _CUT_OFF) else "did not answer"
            raise TransientError(f"{self.provider} {what} ({type(exc).__name__}).") from exc
        elapsed = time.monotonic() - started
        self.audit.record(
            **record,
            status=response.status_code,
            seconds=round(elapsed, 3),
            response_body=redact_body(response.content),
        )
        self._observe(method, f"{response.status_code // 100}xx", elapsed)
        return response

    def _observe(self, method: str, status_class: str, seconds: float) -> None:
        if self.observe is not None:
            self.observe(self.provider, method, status_class, seconds)


def _json_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    import json

    return json.dumps(value).encode()
