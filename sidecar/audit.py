"""Append-only audit trail of every outbound request and response (JSON Lines, personal data redacted).

One line per call, written with a single ``write`` on a file opened in append mode, so concurrent
workers never interleave half lines (POSIX appends below PIPE_BUF are atomic; longer bodies are cut to
stay well under it). Retention is the operator's: rotate with logrotate ``copytruncate`` or delete
files older than ``BPM_AUDIT_RETENTION_DAYS`` with ``bpm-sidecar audit prune``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sidecar.logs import EMAIL, URL

# Keys whose values are personal data or secrets wherever they appear in a JSON body or a query.
_SENSITIVE_KEY = re.compile(
    r"(name|email|e-mail|phone|street|address|building|line\d|flat|apartment|point|city|post_?code|"
    r"postcode|zip|tax_no|tax_code|nip|api_?token|api_?key|password|secret|authorization|token|"
    r"first_name|last_name|company|note)",
    re.IGNORECASE,
)
# Keys whose whole subtree is about a person (a carrier's sender/receiver, any address): every value
# under them is redacted, whatever its own key is called (a ShipX ``building_number``, a new field).
_SENSITIVE_PARENT = frozenset(
    ("sender", "receiver", "address", "billing", "shipping", "customer", "target_point", "dropoff_point")
)
_MAX_BODY = 3000
REDACTED = "[redacted]"


def redact(value: Any, key: str = "", sensitive: bool = False) -> Any:
    """``value`` with personal data, secrets and links replaced; structure, flags and the numbers of
    non-personal keys stay readable."""
    sensitive = sensitive or key.lower() in _SENSITIVE_PARENT
    if isinstance(value, Mapping):
        return {k: redact(v, str(k), sensitive) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key, sensitive) for v in value]
    if value in (None, "") or isinstance(value, bool):
        return value
    if sensitive or (key and _SENSITIVE_KEY.search(key)):
        return REDACTED
    if isinstance(value, str):
        # Links too: a document's PDF or share link opens the buyer's data to anyone holding it.
        return URL.sub(REDACTED, EMAIL.sub(REDACTED, value))
    return value


def redact_body(body: bytes | str | None) -> Any:
    if not body:
        return None
    if isinstance(body, bytes):
        if body.startswith(b"%PDF"):
            return f"<pdf {len(body)} bytes>"
        body = body.decode("utf-8", "replace")
    try:
        return redact(json.loads(body))
    except ValueError:
        return redact(body[:_MAX_BODY])


class AuditLog:
    """Writes audit records to ``directory/audit-YYYY-MM-DD.jsonl``; ``directory=None`` disables it."""

    def __init__(self, directory: str | os.PathLike[str] | None) -> None:
        self.directory = Path(directory) if directory else None
        if self.directory:
            self.directory.mkdir(parents=True, exist_ok=True)

    def record(self, **fields: Any) -> None:
        if not self.directory:
            return
        fields.setdefault("ts", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        line = json.dumps(fields, ensure_ascii=False, default=str)
        if len(line) > 3900:
            fields["response_body"] = "<truncated>"
            fields["request_body"] = "<truncated>"
            line = json.dumps(fields, ensure_ascii=False, default=str)
        path = self.directory / f"audit-{time.strftime('%Y-%m-%d', time.gmtime())}.jsonl"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def prune(self, retention_days: int) -> list[Path]:
        """Delete day files older than ``retention_days``; returns what was removed."""
        if not self.directory:
            return []
        cutoff = time.time() - retention_days * 86400
        removed = [p for p in self.directory.glob("audit-*.jsonl") if p.stat().st_mtime < cutoff]
        for p in removed:
            p.unlink()
        return removed
