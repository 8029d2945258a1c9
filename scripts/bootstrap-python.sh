#!/usr/bin/env bash
# Creates .venv with the sidecar and its test tools. Re-running it only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -e "$stamp" ] || [ ! -x .venv/bin/bpm-sidecar ] || [ ! -x .venv/bin/pytest ]; then
  echo "Installing the sidecar and its Python dependencies into .venv (log: .venv/pip.log)"
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[test]"; } \
      > .venv/pip.log 2>&1; then
    tail -30 .venv/pip.log
    exit 1
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi
