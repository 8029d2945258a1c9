#!/usr/bin/env bash
# The README's demo command: sets up and runs the whole sidecar on embedded defaults — Redis, the
# sandbox simulators (WooCommerce store, Fakturownia, inFakt), gunicorn and an RQ worker — sends a
# signed sample order through it and prints what happened. Extra arguments go to `bpm-sidecar demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
bash scripts/bootstrap-python.sh
. scripts/redis.sh

# Database 14: the demo's keys never mix with a real deployment's on database 0.
exec .venv/bin/bpm-sidecar demo --redis-url "${BPM_DEMO_REDIS_URL:-$BPM_LOCAL_REDIS/14}" "$@"
