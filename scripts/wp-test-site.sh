#!/usr/bin/env bash
# A throwaway WordPress test site: real WooCommerce (stack wp61-wc78 or wp70-wc92) or the double, MariaDB,
# BPM Bridge, served by a private Apache + mod_php.
#
#   scripts/wp-test-site.sh create DIR DB PORT [--stack wp61-wc78|wp70-wc92|double] [--hpos] [--plain]
#                                                  install (DB must be named bpm_test_*); prints the site as JSON
#   scripts/wp-test-site.sh serve DIR              Apache on the site's port, foreground (admin / admin-Test-1234)
#   scripts/wp-test-site.sh permalinks DIR pretty|plain
#   scripts/wp-test-site.sh phpunit DIR [ARGS]     Debian's PHPUnit on tests/wp-plugin/phpunit with
#                                                  BPM_WP_DIR=DIR and BPM_WP_URL=<site url> exported
#   scripts/wp-test-site.sh eval DIR < code        PHP (no opening tag) with WordPress loaded, as the admin
#   scripts/wp-test-site.sh destroy DIR            drop the database, delete DIR
#
# Example: scripts/wp-test-site.sh create /tmp/shop bpm_test_demo 8089 --hpos && scripts/wp-test-site.sh serve /tmp/shop
# (DIR must be readable by Apache's user, www-data when run as root: not a private temporary folder.)
# Archives: BPM_VENDOR_DIR (a folder with the vendor archives) or a one-time download (tests/support/vendor.py).
# The implementation and its Python API are in tests/support/wordpress.py.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="$root/.venv/bin/python"
[ -x "$python" ] || python=python3
exec "$python" "$root/tests/support/wordpress.py" "$@"
