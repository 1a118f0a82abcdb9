"""Loading a database file into memory with a size limit."""

from __future__ import annotations

import os
from pathlib import Path

from stockade.scanner.indexer.format_errors import FormatLimitError, RpmDatabaseError

MAX_DATABASE_BYTES = 1 << 30

DatabaseSource = bytes | bytearray | memoryview | str | os.PathLike[str]


def load(source: DatabaseSource, what: str) -> bytes:
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, bytearray | memoryview):
        data = bytes(source)
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > MAX_DATABASE_BYTES:
                raise FormatLimitError(f"The {what} is larger than the size limit.")
            data = path.read_bytes()
        except OSError as exc:
            raise RpmDatabaseError(f"The {what} cannot be read.") from exc
    if len(data) > MAX_DATABASE_BYTES:
        raise FormatLimitError(f"The {what} is larger than the size limit.")
    return data
