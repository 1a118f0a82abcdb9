"""rpm's SQLite backend (``rpmdb.sqlite``, rpm 4.16+): header blobs in ``Packages(hnum, blob)``."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator

from stockade.scanner.indexer.format_errors import RpmDatabaseError
from stockade.scanner.indexer.rpmdb._source import DatabaseSource, load

logger = logging.getLogger(__name__)

MAGIC = b"SQLite format 3\0"


def iter_sqlite_blobs(source: DatabaseSource) -> Iterator[bytes]:
    """Header blobs of an ``rpmdb.sqlite`` file, in ``hnum`` order.

    The file is loaded into an in-memory database (never opened in place, so nothing is
    written beside it); a WAL-mode file is read as if checkpointed (pending ``-wal`` frames
    are not applied).
    """
    data = bytearray(load(source, "rpm SQLite database"))
    if data[:16] != MAGIC:
        raise RpmDatabaseError("The rpm SQLite database does not start with the SQLite magic.")
    if len(data) >= 20 and data[18] == 2 and data[19] == 2:
        data[18] = data[19] = 1  # WAL -> rollback journal, so deserialize() can read it
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(bytes(data))
        rows = conn.execute("SELECT blob FROM Packages ORDER BY hnum")
        for (blob,) in rows:
            if isinstance(blob, bytes):
                yield blob
    except sqlite3.Error as exc:
        raise RpmDatabaseError("The rpm SQLite database cannot be queried.") from exc
    finally:
        conn.close()
