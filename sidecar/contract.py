"""The bpm-bridge/v1 contract as data: one file, ``wp-plugin/bpm-bridge/contract.json`` (the plugin folder
is copied to shops as it is, so it holds the file; ``docs/contract.json`` and ``sidecar/contract.json``
link to it).

The plugin, the sidecar and the WooCommerce simulator read the same file, so the event routing, the
allow-listed meta keys, the transitions and the transient-status rule cannot drift between them. The
file is immutable while a process runs, so it is read once (:func:`load`); a change is a deploy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

# Next to this module (a link into the plugin in the source tree, a copy in a built wheel).
PATH = Path(__file__).with_name("contract.json")


@cache
def load() -> Mapping[str, Any]:
    """The whole document, read-only at the top level; callers copy what they change."""
    with PATH.open(encoding="utf-8") as handle:
        return MappingProxyType(json.load(handle))


def revision() -> int:
    return int(load()["revision"])


def event_types() -> tuple[str, ...]:
    return tuple(load()["event_types"])


def event_spec(event_type: str) -> Mapping[str, Any]:
    """``{"required", "optional", "actions", "conditions"?}`` of an event type; KeyError if unknown."""
    return load()["event_types"][event_type]


def routed_actions(event_type: str) -> tuple[str, ...]:
    """Every action the contract routes for an event type, before any condition is applied."""
    spec = load()["event_types"].get(event_type)
    return tuple(spec["actions"]) if spec else ()


def conditions(event_type: str) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    """``{action: {data key: allowed values}}``: an action is queued only when every key matches."""
    spec = load()["event_types"].get(event_type) or {}
    return {
        action: {key: tuple(str(v) for v in values) for key, values in rule.items()}
        for action, rule in (spec.get("conditions") or {}).items()
    }


def order_meta_keys() -> tuple[str, ...]:
    return tuple(load()["order_meta_keys"])


def outcome_statuses() -> tuple[str, ...]:
    return tuple(load()["outcome_statuses"])


def retry_window_hours() -> int:
    return int(load()["retry_window_hours"])


def limit(name: str) -> int:
    """One of ``limits`` (``max_note_chars``, ``max_meta_value_chars``, …)."""
    return int(load()["limits"][name])


def is_transient_status(status: int) -> bool:
    """The contract's rule: its listed codes and every status inside one of its ranges."""
    rule = load()["transient_http"]
    return status in rule["codes"] or any(low <= status <= high for low, high in rule["ranges"])
