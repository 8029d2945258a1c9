#!/usr/bin/env bash
# A throwaway WordPress test site (Debian's WordPress + MariaDB + BPM Bridge + the WooCommerce double).
#
#   scripts/wp-test-site.sh create DIR DB PORT     install (DB must be named bpm_test_*); prints the site as JSON
#   scripts/wp-test-site.sh serve DIR              php -S on the site's port, foreground (admin / admin-Test-1234)
#   scripts/wp-test-site.sh phpunit DIR [ARGS]     Debian's PHPUnit on tests/wp-plugin/phpunit with
#                                                  BPM_WP_DIR=DIR and BPM_WP_URL=<site url> exported
#   scripts/wp-test-site.sh eval DIR < code        PHP (no opening tag) with WordPress loaded, as the admin
#   scripts/wp-test-site.sh destroy DIR            drop the database, delete DIR
#
# Example: scripts/wp-test-site.sh create /tmp/shop bpm_test_demo 8089 && scripts/wp-test-site.sh serve /tmp/shop
# The implementation and its Python API are in tests/support/wordpress.py.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="$root/.venv/bin/python"
[ -x "$python" ] || python=python3
exec "$python" "$root/tests/support/wordpress.py" "$@"
