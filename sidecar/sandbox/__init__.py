"""API simulators (WooCommerce + plugin, invoicing providers, …) for the demo and the tests.

Each simulator is a Flask app factory ``create_app`` listed in :mod:`sidecar.sandbox.registry` under the
name of the provider it stands in for (one line each). An invoicing simulator is a package
``sidecar/sandbox/<name>/``: ``rules.py`` (what the API accepts, how it words a refusal), ``state.py``
(one account: documents, numbering, KSeF, faults), ``routes.py`` (the HTTP API) and ``__init__.py``
(``create_app``: the routes plus the shared ``/_sandbox/`` control API of :mod:`sidecar.sandbox.control`,
with the settings the simulator declares). Shared pieces: :mod:`~sidecar.sandbox.faults` (outages, 429,
latency, responses lost after commit), :mod:`~sidecar.sandbox.ksef` (KSeF numbers),
:mod:`~sidecar.sandbox.pdf`.

They are served by werkzeug's threaded development server: fine for a simulator, never for production.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sidecar.sandbox.registry import SIMULATORS


def load_factory(name: str) -> Callable[..., Flask]:
    target = SIMULATORS.get(name)
    if target is None:
        raise KeyError(f"unknown simulator {name!r}; known: {', '.join(sorted(SIMULATORS))}")
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


class _QuietHandler(WSGIRequestHandler):
    """No per-request lines on stderr: tests read the simulators' own request logs instead."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class ServedApp:
    """A simulator served on a background thread: ``with ServedApp(app) as served: served.url``."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name=f"sandbox:{self.url}", daemon=True
        )

    def start(self) -> ServedApp:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> ServedApp:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
