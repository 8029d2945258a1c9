"""Every string the plugin shows has its Polish translation, and the shipped .mo is the compiled .po.

Polish shops are the first market: a string added in English and forgotten in languages/ shows up in English
on a Polish admin screen or customer e-mail. The check extracts the strings with gettext's xgettext exactly as
docs/wordpress-plugin.md ("Translations") does and compares them with bpm-bridge-pl_PL.po.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "wp-plugin" / "bpm-bridge"
PO = PLUGIN / "languages" / "bpm-bridge-pl_PL.po"
MO = PLUGIN / "languages" / "bpm-bridge-pl_PL.mo"
KEYWORDS = [
    "__",
    "_e",
    "esc_html__",
    "esc_html_e",
    "esc_attr__",
    "esc_attr_e",
    "_x:1,2c",
    "_ex:1,2c",
    "esc_html_x:1,2c",
    "esc_attr_x:1,2c",
    "_n:1,2",
    "_nx:1,2,4c",
    "_n_noop:1,2",
    "_nx_noop:1,2,3c",
]

pytestmark = pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msgfmt") is None,
    reason="gettext is not installed (scripts/install-system-deps.sh installs it)",
)


def _entries(po_text: str) -> dict[tuple[str, str], str]:
    """(msgctxt, msgid) → msgstr (msgstr[0] for plurals), from a .po/.pot text."""
    entries: dict[tuple[str, str], str] = {}
    ctxt = msgid = msgstr = ""
    field = ""

    def flush() -> None:
        if msgid:
            entries[(ctxt, msgid)] = msgstr

    for raw in [*po_text.splitlines(), ""]:
        line = raw.strip()
        if not line or line.startswith("#"):
            if field:
                flush()
                ctxt = msgid = msgstr = field = ""
            continue
        if line.startswith("msgctxt "):
            if field in ("msgstr",):
                flush()
                ctxt = msgid = msgstr = ""
            field, ctxt = "msgctxt", _unquote(line[8:])
        elif line.startswith("msgid_plural "):
            field = "plural"
        elif line.startswith("msgid "):
            if field == "msgstr":
                flush()
                ctxt = msgstr = ""
            field, msgid = "msgid", _unquote(line[6:])
        elif line.startswith("msgstr[0] ") or line.startswith("msgstr "):
            field, msgstr = "msgstr", _unquote(line.split(" ", 1)[1])
        elif line.startswith("msgstr["):
            field = "msgstr_n"
        elif line.startswith('"'):
            value = _unquote(line)
            if field == "msgid":
                msgid += value
            elif field == "msgctxt":
                ctxt += value
            elif field == "msgstr":
                msgstr += value
    return entries


def _unquote(text: str) -> str:
    return text.strip()[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def _extracted(tmp_path: Path) -> dict[tuple[str, str], str]:
    files = sorted(str(p) for p in PLUGIN.rglob("*.php"))
    out = tmp_path / "strings.pot"
    subprocess.run(
        [
            "xgettext",
            "--language=PHP",
            "--from-code=UTF-8",
            *(f"--keyword={k}" for k in KEYWORDS),
            "-o",
            str(out),
            *files,
        ],
        check=True,
        capture_output=True,
    )
    return _entries(out.read_text(encoding="utf-8"))


def test_every_plugin_string_has_a_polish_translation(tmp_path):
    polish = _entries(PO.read_text(encoding="utf-8"))
    missing = [
        msgid if not ctxt else f"{ctxt}|{msgid}"
        for (ctxt, msgid) in _extracted(tmp_path)
        if not polish.get((ctxt, msgid))
    ]
    assert not missing, f"{len(missing)} strings without a Polish translation in {PO.name}:\n" + "\n".join(
        missing[:40]
    )


def test_shipped_mo_is_the_compiled_po(tmp_path):
    compiled = tmp_path / "check.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(PO)], check=True, capture_output=True)
    stale = "languages/*.mo is stale: run msgfmt (docs/wordpress-plugin.md)"
    assert compiled.read_bytes() == MO.read_bytes(), stale
