"""Carriers for return labels: name → "module:Class" (one line per carrier; loaded only when used).

``config.carrier.provider`` names one (``none`` means the PDF return slip); each carrier's settings are
``config.carrier.<name>``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from sidecar.audit import AuditLog
from sidecar.errors import PermanentError
from sidecar.http import HttpClient
from sidecar.providers.carriers.base import Carrier

CARRIERS: dict[str, str] = {
    "inpost": "sidecar.providers.carriers.inpost:InpostCarrier",
    "return_slip": "sidecar.providers.carriers.return_slip:ReturnSlip",
}
SLIP = "return_slip"


def carrier_class(name: str) -> type[Carrier]:
    target = CARRIERS.get(name)
    if target is None:
        raise PermanentError(
            f"unknown carrier {name!r}: choose one of {', '.join(sorted(CARRIERS))} "
            "in WooCommerce → Settings → BPM Bridge → Returns"
        )
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def build_carrier(
    name: str, carrier_config: Mapping[str, Any], audit: AuditLog, *, observe: Any = None, **kwargs: Any
) -> Carrier:
    """A ready client for ``name`` with its settings (``carrier.<name>`` of the sidecar config)."""
    cls = carrier_class(name)
    settings = carrier_config.get(name) or {}
    http = None if cls.local else HttpClient(name, audit, observe=observe)
    return cls(settings, http, **kwargs)
