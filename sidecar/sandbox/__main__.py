"""``python -m sidecar.sandbox NAME --port P``: run one simulator in the foreground."""

from __future__ import annotations

import argparse
import sys

from werkzeug.serving import run_simple

from sidecar.sandbox import load_factory
from sidecar.sandbox.registry import SIMULATORS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sidecar.sandbox", description="Run an API simulator.")
    parser.add_argument("name", choices=sorted(SIMULATORS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        app = load_factory(args.name)()
    except ValueError as exc:
        print(f"{args.name}: {exc}", file=sys.stderr)
        return 2
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
