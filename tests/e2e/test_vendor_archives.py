"""The harness takes WordPress/WooCommerce only when they are what they claim to be (support/vendor.py)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

import vendor


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BPM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BPM_VENDOR_DIR", raising=False)
    return tmp_path / "cache"


def _plugin_tree(root: Path) -> Path:
    plugin = root / "woocommerce"
    plugin.mkdir(parents=True)
    (plugin / "woocommerce.php").write_text("<?php // Version: 9.9.9\n")
    (plugin / "readme.txt").write_text("readme\n")
    return plugin


def test_a_vendor_archive_is_checked_against_its_pinned_sha256(cache, tmp_path, monkeypatch):
    folder = tmp_path / "vendor"
    folder.mkdir()
    _plugin_tree(tmp_path / "src")
    archive = folder / "fake-1.0.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "woocommerce", arcname="woocommerce")
    good = vendor.Archive("fake-1.0", "fake-1.0.tgz", _sha(archive.read_bytes()), "woocommerce", "", "")
    monkeypatch.setitem(vendor.ARCHIVES, "fake-1.0", good)
    monkeypatch.setenv("BPM_VENDOR_DIR", str(folder))

    top = vendor.unpacked("fake-1.0")
    assert (top / "woocommerce.php").is_file()
    assert vendor.unpacked("fake-1.0") == top  # unpacked once, then reused

    monkeypatch.setitem(vendor.ARCHIVES, "fake-1.0", vendor.Archive(**{**good.__dict__, "sha256": "0" * 64}))
    with pytest.raises(vendor.VendorError, match="sha256"):
        vendor.unpacked("fake-1.0")


def test_a_download_is_checked_against_the_published_checksums(cache, tmp_path, monkeypatch):
    plugin = _plugin_tree(tmp_path / "src")
    zipped = tmp_path / "fake.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for path in plugin.iterdir():
            zf.write(path, f"woocommerce/{path.name}")
    sums = {"files": {p.name: {"sha256": _sha(p.read_bytes())} for p in plugin.iterdir()}}
    served = {
        "https://example.test/fake.zip": zipped,
        "https://example.test/sums.json": tmp_path / "sums.json",
    }

    def fetch(url: str, target: Path) -> None:
        shutil.copyfile(served[url], target)

    monkeypatch.setattr(vendor, "_fetch", fetch)
    archive = vendor.Archive(
        "fake-2.0",
        "fake-2.0.tgz",
        "",
        "woocommerce",
        "https://example.test/fake.zip",
        "https://example.test/sums.json",
    )
    monkeypatch.setitem(vendor.ARCHIVES, "fake-2.0", archive)

    sums["files"]["readme.txt"]["sha256"] = "f" * 64  # the download does not match what is published
    (tmp_path / "sums.json").write_text(json.dumps(sums))
    with pytest.raises(vendor.VendorError, match=r"readme\.txt"):
        vendor.unpacked("fake-2.0")
    assert not (cache / "unpacked" / "fake-2.0-download").exists()  # nothing half-trusted stays behind

    sums["files"]["readme.txt"]["sha256"] = [_sha(b"readme\n")]  # wordpress.org also lists several
    (tmp_path / "sums.json").write_text(json.dumps(sums))
    assert (vendor.unpacked("fake-2.0") / "readme.txt").read_text() == "readme\n"
