"""RFC 9457 problem details: every error the sidecar answers, in one shape.

The plugin keeps a problem's ``detail`` as the outbox row's last error, so a detail is written for a
shop admin and never carries a secret, a stack trace or personal data.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
URN = "urn:bpm-bridge:problem:"

log = logging.getLogger(__name__)

# status -> (type slug, title) for answers produced by routing rather than by our views
_HTTP_PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = {"type": URN + slug, "title": title, "status": status, "detail": detail, **extra}
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    slug, title = _HTTP_PROBLEMS.get(status, ("http-error", exc.name))
    headers = {}
    if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return problem(status, slug, title, exc.description or title, headers=headers)


def _unexpected(exc: Exception) -> Response:
    # The trace goes to the log for the operator; the caller learns only that it was our fault.
    log.exception("unhandled error while answering a request")
    return problem(500, "internal-error", "Internal error", "The sidecar failed to answer; see its log.")


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
