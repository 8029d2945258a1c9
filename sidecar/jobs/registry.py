"""The routing table: which actions exist and which ones each event queues (docs/contract.md §2).

ACTIONS is a plain dict literal, one line per action, so that a new capability adds one line. Which
event types route to which actions, and under which conditions on the event's data, is the contract's
(docs/contract.json, :mod:`sidecar.contract`); an action is queued only once it is registered here.
Actions are named by a dotted path and imported only when a worker runs them: the intake never
imports provider code.

``BPM_EXTRA_ACTIONS="name=module:function[@event.type|event.type],..."`` registers more actions at run
time, optionally routed to event types. It exists for framework tests (tests/support/actions.py) and
for trying an action out; an extra action with the name of a built one replaces it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

from sidecar import contract
from sidecar.jobs.base import Action

ACTIONS: dict[str, str] = {
    # "name": "module:function",  (one line per action)
    "invoice.issue": "sidecar.jobs.invoice:issue",
    "invoice.correct": "sidecar.jobs.invoice:correct",
    "invoice.ksef": "sidecar.jobs.invoice:ksef",
    "crm.sync_order": "sidecar.jobs.crm:sync_order",
    "crm.sync_contact": "sidecar.jobs.crm:sync_contact",
    "rma.process": "sidecar.jobs.rma:process",
    "rma.track": "sidecar.jobs.rma:track",
    "privacy.erase": "sidecar.jobs.erase:erase",
}

# Actions that only answer "skipped" while their settings section has no provider ("none"). The intake
# leaves them out when the shop's cached configuration says the section is off: each would cost the shop
# one request to report nothing (decision 25). invoice.correct is not here: a document issued before the
# shop switched invoicing off still gets its correction.
SWITCHED_BY: dict[str, str] = {
    "invoice.issue": "invoicing",
    "crm.sync_order": "crm",
    "crm.sync_contact": "crm",
}

# A view of the contract's routing (event type → every action it routes, registered or not).
EVENT_ACTIONS: Mapping[str, tuple[str, ...]] = {t: contract.routed_actions(t) for t in contract.event_types()}


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


def actions_for(
    event_type: str, data: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """Actions to queue for one event: the contract's registered ones whose condition ``data`` meets
    (e.g. ``order.status_changed`` queues ``invoice.issue`` only when ``to`` is ``completed``: the paid
    transition has its own event), then routed extra ones."""
    rules = contract.conditions(event_type)
    routed = [
        name
        for name in EVENT_ACTIONS.get(event_type, ())
        if name in ACTIONS and _meets(data, rules.get(name))
    ]
    for name, _, types in _parse_extra(environ):
        if event_type in types and name not in routed:
            routed.append(name)
    return tuple(routed)


def without_switched_off(actions: tuple[str, ...], config: Mapping[str, Any] | None) -> tuple[str, ...]:
    """``actions`` minus those whose section ``config`` shows switched off; no configuration known →
    all of them (the job itself then decides, as it always does)."""
    if config is None:
        return actions

    def off(section: str) -> bool:
        value = config.get(section)
        return isinstance(value, Mapping) and str(value.get("provider") or "none") == "none"

    return tuple(a for a in actions if not (a in SWITCHED_BY and off(SWITCHED_BY[a])))


def _meets(data: Mapping[str, Any], rule: Mapping[str, tuple[str, ...]] | None) -> bool:
    return rule is None or all(str(data.get(key)) in allowed for key, allowed in rule.items())


def routing_table() -> dict[str, list[str]]:
    """The table in force, as ``GET /v1/meta`` shows it (registered actions, before conditions)."""
    return {t: [name for name in actions if name in ACTIONS] for t, actions in EVENT_ACTIONS.items()}


def resolve(action: str, environ: Mapping[str, str] | None = None) -> Action:
    target = all_actions(environ).get(action)
    if target is None:
        raise UnknownAction(f"no action named {action!r} is registered")
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def lock_group(action: str) -> str:
    """Actions sharing a prefix never run together on one order (invoice.issue vs invoice.correct)."""
    return action.split(".", 1)[0]
