"""HubSpot's error bodies: ``{status: "error", message, correlationId, category, ...}`` (returns_crm.md
2.1), and :class:`Refusal`, a refused write on its way to one."""

from __future__ import annotations

import time
import uuid
from typing import Any

from flask import Response, jsonify, request

from sidecar.sandbox.faults import Faults
from sidecar.sandbox.hubspot import rules

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
    "more details at the developer documentation's authentication overview."
)
SCOPES_MESSAGE = "This app hasn't been granted all required scopes to make this call."
CATEGORIES = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    409: "CONFLICT",
    500: "INTERNAL_ERROR",  # UNCONFIRMED category name for a 5xx
    502: "INTERNAL_ERROR",
    503: "INTERNAL_ERROR",
}
POLICIES = {"TEN_SECONDLY_ROLLING": "ten_secondly_rolling", "DAILY": "daily", "SECONDLY": "secondly"}


def body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }


def error(message: str, status: int, category: str | None = None, **extra: Any) -> Response:
    if status == 429:
        return rate_limited("TEN_SECONDLY_ROLLING")
    response = jsonify(body(message, category or CATEGORIES.get(status, "VALIDATION_ERROR"), **extra))
    response.status_code = status
    return response


def validation(message: str, **extra: Any) -> Response:
    return error(message, 400, "VALIDATION_ERROR", **extra)


def not_found(message: str = "Resource not found") -> Response:
    # UNCONFIRMED: HubSpot answers a missing object with 404 and an empty or short body; this shape keeps
    # the general error schema.
    return error(message, 404, "OBJECT_NOT_FOUND")


def object_missing(key: str) -> Response:
    """A record that is not there, as HubSpot words it (hubspot-api-nodejs issue #669)."""
    return error(
        "Object not found.  objectId are usually numeric.", 404, "OBJECT_NOT_FOUND", context={"id": [key]}
    )


def unauthenticated() -> Response:
    return error(AUTH_MESSAGE, 401, "INVALID_AUTHENTICATION")


def missing_scopes(scope: str) -> Response:
    return error(
        SCOPES_MESSAGE,
        403,
        "MISSING_SCOPES",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": [scope]},
            }
        ],
    )


def rate_limited(policy: str) -> Response:
    """429 with HubSpot's rate-limit body (``errorType`` and ``policyName``, no ``category``)."""
    response = jsonify(
        {
            "status": "error",
            "message": f"You have reached your {POLICIES.get(policy, policy.lower())} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": policy,
            "requestId": uuid.uuid4().hex,
        }
    )
    response.status_code = 429
    return response


class Refusal(Exception):
    def __init__(self, status: int, message: str, category: str, **context: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.category, self.context = status, message, category, context

    def entry(self) -> dict[str, Any]:
        """As one entry of a batch's ``errors`` (``BatchResponse…WithErrors``)."""
        return {
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": {k: v if isinstance(v, list) else [str(v)] for k, v in self.context.items()},
            "errors": [],
        }


def invalid_values(results: list[dict[str, Any]], **context: Any) -> Refusal:
    names = [r["name"] for r in results]
    return Refusal(
        400, rules.property_values_message(results), "VALIDATION_ERROR", propertyName=names, **context
    )


class HubspotFaults(Faults):
    """The shared faults, with HubSpot's 429: ``{"mode": "429", "policy": "DAILY"}`` picks the policy
    (default TEN_SECONDLY_ROLLING), and ``Retry-After`` is sent only when the rule gives ``retry_after``
    (UNCONFIRMED whether HubSpot ever sends one)."""

    def before(self) -> Response | None:
        if request.path.startswith("/_sandbox/"):
            return None
        rule = self.take(("latency",))
        if rule:
            time.sleep(float(rule.get("seconds") or 1))
        rule = self.take(("503", "500", "429"))
        if rule is None:
            return None
        if rule["mode"] != "429":
            return error("simulated fault", int(rule["mode"]))
        response = rate_limited(str(rule.get("policy") or "TEN_SECONDLY_ROLLING"))
        if rule.get("retry_after") is not None:
            response.headers["Retry-After"] = str(rule["retry_after"])
        return response
