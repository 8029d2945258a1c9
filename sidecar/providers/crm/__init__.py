"""CRM destinations: name → "module:Class" (one line per CRM; loaded only when used).

Every class is built as ``cls(settings, http, limiter=limiter)`` where ``settings`` is ``config["crm"]``
(the provider reads its own ``settings[name]`` block plus the shared keys: pipeline, stages, line_items).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from sidecar.audit import AuditLog
from sidecar.errors import PermanentError
from sidecar.http import HttpClient
from sidecar.providers.crm.base import CrmProvider

PROVIDERS: dict[str, str] = {
    "hubspot": "sidecar.providers.crm.hubspot:HubSpotProvider",
    "pipedrive": "sidecar.providers.crm.pipedrive:PipedriveProvider",
    "webhook": "sidecar.providers.crm.webhook:WebhookProvider",
}


def provider_class(name: str) -> type[CrmProvider]:
    target = PROVIDERS.get(name)
    if target is None:
        raise PermanentError(
            f"unknown CRM {name!r}: choose one of {', '.join(sorted(PROVIDERS))} "
            "in WooCommerce → Settings → BPM Bridge → CRM"
        )
    module, _, attr = target.partition(":")
    cls: type[CrmProvider] = getattr(importlib.import_module(module), attr)
    return cls


def build_provider(
    name: str,
    settings: Mapping[str, Any],
    audit: AuditLog,
    observe: Any = None,
    limiter: Any = None,
    **kwargs: Any,
) -> CrmProvider:
    """A ready client for ``name`` with the CRM settings (``config["crm"]`` of the sidecar config).

    ``limiter`` is the shared per-account budget (:class:`sidecar.providers.crm.limits.RateLimiter`);
    providers that have no published limits may ignore it.
    """
    cls = provider_class(name)
    return cls(settings, HttpClient(name, audit, observe=observe), limiter=limiter, **kwargs)  # type: ignore[call-arg]
