"""Fixtures for tests on a real WordPress: tests/support/wp_fixtures.py and tests/support/wordpress.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from wp_fixtures import wp_admin_app_password, wp_site, wp_sites

__all__ = ["wp_admin_app_password", "wp_site", "wp_sites"]
