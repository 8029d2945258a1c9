"""The plugin's PHPUnit suite (tests/wp-plugin/phpunit) on real WooCommerce: both stacks, HPOS on and off.

Each configuration gets its own site and database rather than the session's shared one: the suite deletes and
re-creates the plugin's tables and runs uninstall.php, which must not disturb other tests' fixtures. The site
is served by Apache (RestHttpTest calls it over HTTP).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

import wordpress
from wp_fixtures import ALL_CONFIGS, config_id, fresh_site

pytestmark = pytest.mark.wordpress

PHPUNIT_DIR = Path(__file__).resolve().parent / "phpunit"


@pytest.fixture(scope="class")
def phpunit_site(request: pytest.FixtureRequest):
    if shutil.which("phpunit") is None:
        pytest.skip("Debian's phpunit is not installed (scripts/install-system-deps.sh installs it)")
    stack, hpos = request.cls.config
    started = time.monotonic()
    with fresh_site(None, f"bpm_test_phpunit_{'h' if hpos else 'p'}", stack=stack, hpos=hpos) as site:
        print(f"{site.config}: site built and served in {time.monotonic() - started:.1f} s")
        yield site


class PhpUnitOn:
    """The suite on one configuration (a class per configuration: pytest-xdist's loadscope spreads them)."""

    config: tuple[str, bool]

    def test_phpunit_suite_passes(self, phpunit_site: wordpress.Site) -> None:
        started = time.monotonic()
        proc = subprocess.run(
            ["phpunit", "--configuration", str(PHPUNIT_DIR / "phpunit.xml")],
            env=phpunit_site.env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        output = proc.stdout + proc.stderr
        print(f"{phpunit_site.config}: PHPUnit took {time.monotonic() - started:.1f} s")
        assert proc.returncode == 0, output + "\n--- debug.log (tail)\n" + phpunit_site.php_errors(60)
        # A suite that silently ran nothing must not pass ("OK (N tests, …)" or "OK, but …\nTests: N, …").
        if "OK (" in output:
            tests = int(output.split("OK (", 1)[1].split(" test", 1)[0])
        else:
            tests = int(output.rsplit("Tests: ", 1)[1].split(",", 1)[0])
        assert tests >= 60, output

    def test_site_log_has_no_plugin_errors(self, phpunit_site: wordpress.Site) -> None:
        """After the suite, the site's debug.log holds no PHP error raised in the plugin's code."""
        plugin = str(wordpress.PLUGIN_DIR)
        bad = [
            line
            for line in phpunit_site.debug_log().splitlines()
            if plugin in line and ("PHP Fatal" in line or "PHP Warning" in line or "PHP Notice" in line)
        ]
        assert bad == []


# One test class per configuration, named after it (TestPhpUnit_wp61_wc78_hpos, …).
for _config in ALL_CONFIGS:
    _name = "TestPhpUnit_" + config_id(_config).replace("-", "_")
    globals()[_name] = type(_name, (PhpUnitOn,), {"config": _config})
