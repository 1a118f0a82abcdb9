"""Keep secrets out of log lines and error messages."""

from __future__ import annotations

import re

# user:password@ in URLs (database URLs, registry URLs)
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]*@"
)
# password=... in libpq keyword strings and query strings
_KEY_VALUE = re.compile(
    r"(?i)\b(?P<key>password|passwd|pwd|token|secret|api[_-]?key)(?P<sep>\s*[=:]\s*)(?P<val>'[^']*'|\"[^\"]*\"|[^\s&;,]+)"
)
# Authorization headers
_AUTH_HEADER = re.compile(r"(?i)\b(?P<kind>basic|bearer)\s+[A-Za-z0-9._~+/=-]{8,}")


def redact(text: str) -> str:
    """Return ``text`` with credentials in URLs, key=value pairs and auth headers masked."""
    text = _URL_CREDENTIALS.sub(r"\g<scheme>\g<user>:***@", text)
    text = _KEY_VALUE.sub(r"\g<key>\g<sep>***", text)
    return _AUTH_HEADER.sub(r"\g<kind> ***", text)
