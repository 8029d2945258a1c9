"""Invoicing systems: name → "module:Class" (one line per system; loaded only when used)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from sidecar.audit import AuditLog
from sidecar.errors import PermanentError
from sidecar.http import HttpClient
from sidecar.providers.invoicing.base import InvoicingProvider

PROVIDERS: dict[str, str] = {
    "fakturownia": "sidecar.providers.invoicing.fakturownia:FakturowniaProvider",
    "infakt": "sidecar.providers.invoicing.infakt:InfaktProvider",
}


def provider_class(name: str) -> type[InvoicingProvider]:
    target = PROVIDERS.get(name)
    if target is None:
        raise PermanentError(
            f"unknown invoicing provider {name!r}: choose one of {', '.join(sorted(PROVIDERS))} "
            "in WooCommerce → Settings → BPM Bridge"
        )
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def build_provider(
    name: str, invoicing_config: Mapping[str, Any], audit: AuditLog, *, observe: Any = None, **kwargs: Any
) -> InvoicingProvider:
    """A ready client for ``name`` with its settings (``invoicing.<name>`` of the sidecar config)."""
    cls = provider_class(name)
    settings = invoicing_config.get(name) or {}
    return cls(settings, HttpClient(name, audit, observe=observe), **kwargs)
