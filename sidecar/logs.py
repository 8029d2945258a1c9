"""JSON log lines on stderr, one object per line, so a log shipper needs no parsing rules.

Context travels through ``extra=``: ``log.info("queued", extra={"event_id": ..., "order_id": ...,
"action": ...})``. Only ids go there: names, e-mails and addresses never reach a log line, and a message
text is written by us, never copied from a request.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

CONTEXT_FIELDS = ("event_id", "order_id", "action", "event_type", "status")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
URL = re.compile(r"https?://\S+")


def scrub(text: str) -> str:
    """A shop-admin message made fit for a log line: links and e-mail addresses out.

    Outcome messages carry the document's PDF link (it opens the buyer's name, address and NIP to
    anyone holding it) and provider error texts may quote an e-mail; the order note keeps them.
    """
    return EMAIL.sub("[e-mail]", URL.sub("[link]", text))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class _JsonHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Marker type: reconfiguring replaces our handler and leaves others (pytest's capture) alone."""


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _JsonHandler)]:
        root.removeHandler(handler)
    handler = _JsonHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
