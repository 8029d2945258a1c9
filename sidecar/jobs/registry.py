"""The routing table: which actions exist and which ones each event type queues (docs/contract.md §2).

Both tables are plain dict literals, one line per entry, so that a new capability adds one line.
Actions are named by a dotted path and imported only when a worker runs them: the intake never
imports provider code.

To route a new action, add its line to ACTIONS: EVENT_ACTIONS already lists the whole contract and
only registered actions are queued.

``BPM_EXTRA_ACTIONS="name=module:function[@event.type|event.type],..."`` registers more actions at run
time, optionally routed to event types. It exists for framework tests (tests/support/actions.py) and
for trying an action out; an extra action with the name of a built one replaces it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

from sidecar.jobs.base import Action

ACTIONS: dict[str, str] = {
    # "name": "module:function",  (one line per action)
    "invoice.issue": "sidecar.jobs.invoice:issue",
    "invoice.correct": "sidecar.jobs.invoice:correct",
    "invoice.ksef": "sidecar.jobs.invoice:ksef",
}

# docs/contract.md §2 verbatim. An action is queued only once it is registered in ACTIONS (or
# BPM_EXTRA_ACTIONS): a capability that is not built yet is simply not routed.
EVENT_ACTIONS: dict[str, tuple[str, ...]] = {
    "order.created": ("crm.sync_order",),
    "order.paid": ("invoice.issue", "crm.sync_order"),
    "order.status_changed": ("invoice.issue", "crm.sync_order"),
    "order.refunded": ("invoice.correct", "crm.sync_order"),
    "order.cancelled": ("crm.sync_order",),
    "rma.created": ("rma.process",),
    "rma.updated": ("rma.process",),
    "customer.erasure_requested": ("privacy.erase",),
    "config.updated": (),
    "ping": (),
}


class UnknownAction(LookupError):
    """An action name that neither the table nor BPM_EXTRA_ACTIONS knows."""


def _parse_extra(environ: Mapping[str, str] | None) -> list[tuple[str, str, tuple[str, ...]]]:
    """``[(name, "module:function", (event types...))]``; a malformed entry is an error, never skipped."""
    raw = (os.environ if environ is None else environ).get("BPM_EXTRA_ACTIONS", "")
    parsed = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, rest = entry.partition("=")
        target, _, routes = rest.partition("@")
        if not sep or ":" not in target or not name.strip():
            raise ValueError(
                f"BPM_EXTRA_ACTIONS: expected name=module:function[@event.type|...], got {entry!r}"
            )
        types = tuple(t.strip() for t in routes.split("|") if t.strip())
        parsed.append((name.strip(), target.strip(), types))
    return parsed


def extra_actions(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    return {name: target for name, target, _ in _parse_extra(environ)}


def all_actions(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**ACTIONS, **extra_actions(environ)}


def actions_for(event_type: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """Actions to queue for an event type: the contract's registered ones, then routed extra ones."""
    routed = [name for name in EVENT_ACTIONS.get(event_type, ()) if name in ACTIONS]
    for name, _, types in _parse_extra(environ):
        if event_type in types and name not in routed:
            routed.append(name)
    return routed


def routing_table() -> dict[str, list[str]]:
    """The table in force, as ``GET /v1/meta`` shows it."""
    return {event_type: actions_for(event_type) for event_type in EVENT_ACTIONS}


def resolve(action: str, environ: Mapping[str, str] | None = None) -> Action:
    target = all_actions(environ).get(action)
    if target is None:
        raise UnknownAction(f"no action named {action!r} is registered")
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def lock_group(action: str) -> str:
    """Actions sharing a prefix never run together on one order (invoice.issue vs invoice.correct)."""
    return action.split(".", 1)[0]
