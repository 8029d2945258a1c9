#!/usr/bin/env bash
# The README's test command: installs what the tests need, starts what is not running, runs every test.
#   scripts/test.sh               all tests (lint, types, sidecar, contract, WordPress/PHP, browser)
#   scripts/test.sh -k intake     extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh
bash scripts/bootstrap-python.sh
. scripts/redis.sh
. scripts/mariadb.sh

# Tests own database 15 of whichever Redis answers (they flush it).
export BPM_TEST_REDIS_URL="${BPM_TEST_REDIS_URL:-$BPM_LOCAL_REDIS/15}"
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"
ruff check sidecar tests bench
ruff format --check sidecar tests bench

echo "== mypy"
mypy sidecar

echo "== pytest"
# Two workers (BPM_TEST_WORKERS): most of the time goes to WordPress requests and the e2e's waits, which
# overlap well on two cores. loadscope keeps a module's (or a test class's) shared sites on one worker.
workers=(-n "${BPM_TEST_WORKERS:-2}" --dist loadscope)
[ "${BPM_TEST_WORKERS:-2}" = "0" ] && workers=()
set +e
python -m pytest "${workers[@]}" "$@"
rc=$?
set -e
# pytest's 5 means "no tests collected": for this project that is a broken selection, not success.
exit "$rc"
