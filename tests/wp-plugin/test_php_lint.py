"""`php -l` on every PHP file of the plugin and its PHP tests, and PHPCS with the plugin's ruleset (clean)."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "wp-plugin" / "bpm-bridge"
PHP_TEST_DIRS = [ROOT / "tests" / "wp-plugin", ROOT / "tests" / "contract", ROOT / "tests" / "support"]
NO_PHP = "php is not installed (scripts/install-system-deps.sh)"
NO_PHPCS = "phpcs is not installed (scripts/install-system-deps.sh)"


def _php_files() -> list[Path]:
    files = sorted(PLUGIN.rglob("*.php"))
    for folder in PHP_TEST_DIRS:
        files += sorted(folder.rglob("*.php"))
    return files


@pytest.mark.skipif(shutil.which("php") is None, reason=NO_PHP)
def test_every_php_file_parses() -> None:
    files = _php_files()
    assert len(files) > 15, files

    def lint(path: Path) -> str | None:
        proc = subprocess.run(["php", "-l", str(path)], capture_output=True, text=True, check=False)
        return None if proc.returncode == 0 else f"{path}: {proc.stdout}{proc.stderr}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        failures = [msg for msg in pool.map(lint, files) if msg]
    assert failures == []


@pytest.mark.skipif(shutil.which("phpcs") is None, reason=NO_PHPCS)
def test_plugin_is_clean_under_its_phpcs_ruleset() -> None:
    proc = subprocess.run(
        ["phpcs", "--standard=" + str(PLUGIN / "phpcs.xml"), "--report=full", "-q", str(PLUGIN)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("phpcs") is None, reason=NO_PHPCS)
def test_phpcs_ruleset_really_checks_wordpress_style(tmp_path: Path) -> None:
    """The ruleset must flag what WordPress style forbids; a ruleset that passes anything is worthless."""
    bad = tmp_path / "bad.php"
    bad.write_text(
        "<?php\n/**\n * Bad.\n *\n * @package X\n */\n\n"
        "/**\n * F.\n *\n * @param array $a A.\n */\n"
        "function f($a) {\n    $x = [1, 2];\n    if ($a) return print_r($x, true);\n}\n"
        "/**\n * G.\n *\n * @param array $a A.\n */\n"
        "function g( $a ) {\n\tif ( $b = $a ) {\n\t\tforeach ($a as $v) {\n\t\t\techo $v;\n\t\t}\n\t}\n}\n"
    )
    proc = subprocess.run(
        ["phpcs", "--standard=" + str(PLUGIN / "phpcs.xml"), "--report=emacs", "-q", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    report = proc.stdout
    assert proc.returncode != 0
    for sniff in (
        "DisallowSpaceIndent",  # tabs, not spaces
        "DisallowShortArraySyntax",  # array(), not []
        "InlineControlStructure",  # braces always
        "ForbiddenFunctions",  # print_r and friends
        "SpaceAfterOpenBracket",  # spaces inside parentheses
        "AssignmentInCondition",  # no assignments in conditions
        "ForEachLoopDeclaration",  # spaces inside foreach ( … )
    ):
        assert sniff in report, f"{sniff} not reported:\n{report}"
