"""WordPress and WooCommerce archives for the real-platform test sites: found, verified, unpacked once.

Where an archive comes from, in order:

1. ``BPM_VENDOR_DIR`` (``.ci/run`` sets it to ``$(dirname repo)/shared/vendor``): a folder holding
   ``wordpress-7.0.tar.gz``, ``woocommerce-7.8.2.tgz`` and ``woocommerce-9.2.5.tgz``. Each is checked against
   the sha256 pinned below (the values published with those archives) and refused when it differs.
2. Otherwise the same version is downloaded once from wordpress.org into the cache
   (``BPM_CACHE_DIR``, default ``~/.cache/bpm-bridge-tests``). The official files differ from the vendor
   copies byte for byte (zip rather than tgz), so a download is checked against what wordpress.org publishes
   for it instead: the ``.sha1`` next to a core archive, the per-file sha256 list of a plugin version.

Either way the archive is unpacked once into ``<cache>/unpacked/<name>-<sha256 prefix>/`` (under a file lock,
so parallel test workers unpack it once) and sites hard-link their copy from there.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Archive:
    name: str  # e.g. "woocommerce-9.2.5"
    file: str  # the vendor file name
    sha256: str  # of the vendor file
    top: str  # the folder at the top of the archive ("wordpress" / "woocommerce")
    url: str  # the official download of the same version
    checksums: str  # what wordpress.org publishes to verify that download


ARCHIVES = {
    a.name: a
    for a in (
        Archive(
            "wordpress-7.0",
            "wordpress-7.0.tar.gz",
            "c135527feb687c02de3af3522f0380ca9f3f950eb365bb416f584fdc242d76d4",
            "wordpress",
            "https://wordpress.org/wordpress-7.0.tar.gz",
            "https://wordpress.org/wordpress-7.0.tar.gz.sha1",
        ),
        Archive(
            "woocommerce-7.8.2",
            "woocommerce-7.8.2.tgz",
            "f26263aa904616e00de2888e55fa4c62d07d0c3b0112076e10cf172b66ef1951",
            "woocommerce",
            "https://downloads.wordpress.org/plugin/woocommerce.7.8.2.zip",
            "https://downloads.wordpress.org/plugin-checksums/woocommerce/7.8.2.json",
        ),
        Archive(
            "woocommerce-9.2.5",
            "woocommerce-9.2.5.tgz",
            "caa9c994deef797c0846aca4da2c027f9b77cca1daaf3542d7213acfc90b6693",
            "woocommerce",
            "https://downloads.wordpress.org/plugin/woocommerce.9.2.5.zip",
            "https://downloads.wordpress.org/plugin-checksums/woocommerce/9.2.5.json",
        ),
    )
}


class VendorError(RuntimeError):
    pass


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "bpm-bridge-tests"
    path = Path(os.environ.get("BPM_CACHE_DIR", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def vendor_dir() -> Path | None:
    value = os.environ.get("BPM_VENDOR_DIR", "").strip()
    return Path(value) if value else None


def _sha(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fetch(url: str, target: Path) -> None:
    tmp = target.with_suffix(target.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=120) as resp, tmp.open("wb") as out:
            shutil.copyfileobj(resp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise VendorError(
            f"cannot download {url} ({exc}); set BPM_VENDOR_DIR to a folder with the archives instead"
        ) from exc
    tmp.replace(target)


def _verify_download(archive: Archive, path: Path, unpacked: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "checksums"
        _fetch(archive.checksums, listing)
        text = listing.read_text()
    if archive.checksums.endswith(".sha1"):
        if _sha(path, "sha1") != text.split()[0].strip():
            raise VendorError(f"{path} does not match {archive.checksums}")
        return
    # Plugin checksums: {"files": {"relative/path": {"sha256": "…" | ["…", …]}}}.
    files = json.loads(text).get("files", {})
    if not files:
        raise VendorError(f"{archive.checksums} lists no files")
    for rel, sums in files.items():
        expected = sums.get("sha256")
        expected = set(expected if isinstance(expected, list) else [expected])
        local = unpacked / archive.top / rel
        if not local.is_file() or _sha(local) not in expected:
            raise VendorError(f"{archive.name}: {rel} does not match {archive.checksums}")


def _unpack(path: Path, into: Path) -> None:
    into.mkdir(parents=True)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            zf.extractall(into)
    else:
        subprocess.run(["tar", "xzf", str(path), "-C", str(into)], check=True, capture_output=True)


def unpacked(name: str) -> Path:
    """The unpacked top folder of archive ``name`` (e.g. ``…/woocommerce``), verified and cached."""
    archive = ARCHIVES[name]
    cache = cache_dir()
    with _locked(cache / ".lock"):
        vendor = vendor_dir()
        if vendor is not None:
            source = vendor / archive.file
            if not source.is_file():
                raise VendorError(f"BPM_VENDOR_DIR={vendor} has no {archive.file}")
            key = archive.sha256
            target = cache / "unpacked" / f"{archive.name}-{key[:12]}"
            if not (target / archive.top).is_dir():
                if _sha(source) != archive.sha256:
                    raise VendorError(f"{source}: sha256 is not {archive.sha256}")
                shutil.rmtree(target, ignore_errors=True)
                _unpack(source, target)
                _readable(target)
        else:
            source = cache / "downloads" / Path(archive.url).name
            target = cache / "unpacked" / f"{archive.name}-download"
            if not (target / archive.top).is_dir():
                source.parent.mkdir(parents=True, exist_ok=True)
                if not source.is_file():
                    _fetch(archive.url, source)
                shutil.rmtree(target, ignore_errors=True)
                _unpack(source, target)
                try:
                    _verify_download(archive, source, target)
                except VendorError:
                    shutil.rmtree(target, ignore_errors=True)
                    source.unlink(missing_ok=True)
                    raise
                _readable(target)
    return target / archive.top


def _readable(path: Path) -> None:
    # Apache's user reads the sites, which are hard links to these files.
    subprocess.run(["chmod", "-R", "a+rX,go-w", str(path)], check=True)
