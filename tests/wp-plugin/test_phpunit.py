"""Runs the plugin's PHPUnit suite (tests/wp-plugin/phpunit) on a fresh real WordPress site.

The suite gets its own site and database rather than the session's shared one: it deletes and re-creates the
plugin's tables and runs uninstall.php, which must not disturb other tests' fixtures.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

import wordpress
from wp_fixtures import fresh_site

pytestmark = pytest.mark.wordpress

PHPUNIT_DIR = Path(__file__).resolve().parent / "phpunit"


@pytest.fixture(scope="module")
def phpunit_site(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("phpunit") is None:
        pytest.skip("Debian's phpunit is not installed (scripts/install-system-deps.sh installs it)")
    # PHPUnit loads wp-load.php itself: the site needs no web server.
    with fresh_site(tmp_path_factory.mktemp("wp-phpunit"), "bpm_test_phpunit", serve=False) as site:
        yield site


def test_phpunit_suite_passes_on_real_wordpress(phpunit_site: wordpress.Site) -> None:
    proc = subprocess.run(
        ["phpunit", "--configuration", str(PHPUNIT_DIR / "phpunit.xml")],
        env=phpunit_site.env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output + "\n--- debug.log (tail)\n" + phpunit_site.debug_log()[-4000:]
    # A suite that silently ran nothing must not pass.
    assert "OK (" in output
    tests = int(output.split("OK (", 1)[1].split(" test", 1)[0])
    assert tests >= 60, output


def test_site_log_has_no_plugin_errors(phpunit_site: wordpress.Site) -> None:
    """After the suite, the site's debug.log holds no PHP error raised in the plugin's code."""
    plugin = str(wordpress.PLUGIN_DIR)
    bad = [
        line
        for line in phpunit_site.debug_log().splitlines()
        if plugin in line and ("PHP Fatal" in line or "PHP Warning" in line or "PHP Notice" in line)
    ]
    assert bad == []
