"""What every HubSpot API request passes before its route: faults, the Bearer token, the app's scopes,
the account's rate limits, transient 500s under load; and the ``X-HubSpot-RateLimit-*`` headers on the
way out."""

from __future__ import annotations

import secrets

from flask import Flask, Response, g, request

from sidecar.sandbox.hubspot import rules
from sidecar.sandbox.hubspot.errors import error, missing_scopes, rate_limited, unauthenticated
from sidecar.sandbox.hubspot.state import State


def required_scope(method: str, path: str) -> str | None:
    """The granular scope a private app needs for this call (HubSpot's names)."""
    parts = path.strip("/").split("/")
    write = method not in ("GET", "HEAD") and not path.endswith(("/search", "/batch/read"))
    if len(parts) >= 4 and parts[0] == "crm" and parts[2] == "objects":
        kind = rules.OBJECT_TYPES.get(parts[3])
        return f"crm.objects.{kind}.{'write' if write else 'read'}" if kind else None
    if len(parts) >= 4 and parts[:3] == ["crm", "v3", "properties"]:
        kind = rules.OBJECT_TYPES.get(parts[3])
        return f"crm.schemas.{kind}.{'write' if write else 'read'}" if kind else None
    if parts[:3] == ["crm", "v3", "pipelines"]:
        return "crm.objects.deals.read"
    return None


def install(app: Flask, state: State) -> None:
    @app.before_request
    def _gate() -> Response | None:
        if request.path.startswith("/_sandbox/"):
            return None
        fault = state.faults.before()
        if fault is not None:
            return fault
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else ""
        if not token or not any(secrets.compare_digest(token, t) for t in state.tokens):
            return unauthenticated()
        scope = required_scope(request.method, request.path)
        if scope and scope in state.account["scopes_missing"]:
            return missing_scopes(scope)
        policy, headers = state.limits.admit(search=request.path.endswith("/search"), token=token)
        g.hubspot_headers = headers
        if policy is not None:
            return rate_limited(policy)
        if state.limits.overloaded():
            # HubSpot "sometimes throws transient 500s under load" (returns_crm.md 2.1); nothing is written.
            return error("An internal error occurred. Please try again.", 500)  # UNCONFIRMED wording
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in (g.get("hubspot_headers") or {}).items():
            response.headers[name] = value
        if not request.path.startswith("/_sandbox/"):
            state.limits.record(f"{request.method} {request.path}", response.status_code)
        return response
