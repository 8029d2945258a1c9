"""The sandbox-only control API every invoicing simulator serves under ``/_sandbox/`` (never part of a
provider's contract; the tests and the demo drive it through ``tests/sidecar/sandbox_client.py``):

- ``GET documents``: everything the account holds (``{"documents": [...], ...}``);
- ``POST faults`` (one rule or ``{"rules": [...]}``, see :mod:`sidecar.sandbox.faults`), ``DELETE faults``;
- ``POST reset``: an empty account with default settings;
- ``POST <setting>`` for each :class:`Setting` the simulator declares (KSeF behaviour, task timing, …):
  updates the listed keys and answers the setting's current values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Blueprint, Response, jsonify, request

from sidecar.sandbox.faults import ErrorResponse, Faults


class Simulated(Protocol):
    """What the control API needs from a simulator's state."""

    lock: threading.Lock
    faults: Faults

    def reset(self) -> None: ...

    def snapshot(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Setting:
    """One tunable of a simulator: ``POST /_sandbox/<name>`` updates ``keys`` of ``values(state)``."""

    name: str
    values: Callable[[Any], dict[str, Any]]
    keys: tuple[str, ...]
    choices: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    changed: Callable[[Any], None] | None = None  # runs under the lock after an update


def control_blueprint(state: Simulated, settings: Sequence[Setting], error: ErrorResponse) -> Blueprint:
    control = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")

    @control.get("/documents")
    def documents() -> Response:
        with state.lock:
            return jsonify(state.snapshot())

    @control.post("/faults")
    def faults() -> Response:
        body = request.get_json(silent=True) or {}
        try:
            for rule in body.get("rules") or [body]:
                state.faults.add(rule)
        except ValueError as exc:
            return error(str(exc), 400)
        return jsonify({"rules": state.faults.listed()})

    @control.delete("/faults")
    def faults_clear() -> Response:
        state.faults.clear()
        return jsonify({"rules": []})

    @control.post("/reset")
    def reset() -> Response:
        with state.lock:
            state.reset()
        return jsonify({"ok": True})

    for setting in settings:
        control.add_url_rule(
            f"/{setting.name}",
            f"setting_{setting.name}",
            _setting_view(state, setting, error),
            methods=["POST"],
        )
    return control


def _setting_view(state: Simulated, setting: Setting, error: ErrorResponse) -> Callable[[], Response]:
    def view() -> Response:
        body = request.get_json(silent=True) or {}
        for key, allowed in setting.choices.items():
            if body.get(key) not in (None, *allowed):
                return error(f"{key}: {' | '.join(str(a) for a in allowed)}", 400)
        with state.lock:
            values = setting.values(state)
            values.update({k: body[k] for k in setting.keys if k in body})
            if setting.changed is not None:
                setting.changed(state)
            return jsonify(values)

    return view
