"""rpm package databases read in pure Python: SQLite, Berkeley DB hash and NDB.

``read_rpmdb`` takes the database file (bytes or a path; a directory such as
``var/lib/rpm`` picks the file that is there) and returns one :class:`RpmPackage` per
installed package, in the order the database stores them. The format is recognised by its
magic, not by its file name. ``gpg-pubkey`` entries (imported signing keys) are kept; callers
that want packages only drop them.

Every backend raises :class:`RpmDatabaseError` (or :class:`FormatLimitError`) for malformed
input and never loops: page chains, slot tables and header entries are bounded and checked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from stockade.scanner.indexer.format_errors import (
    FormatLimitError,
    RpmDatabaseError,
    RpmHeaderError,
)
from stockade.scanner.indexer.rpmdb._source import DatabaseSource, load
from stockade.scanner.indexer.rpmdb.bdb import is_bdb_hash, iter_bdb_blobs
from stockade.scanner.indexer.rpmdb.header import RpmPackage, parse_header
from stockade.scanner.indexer.rpmdb.ndb import MAGIC as NDB_MAGIC
from stockade.scanner.indexer.rpmdb.ndb import iter_ndb_blobs
from stockade.scanner.indexer.rpmdb.sqlite import MAGIC as SQLITE_MAGIC
from stockade.scanner.indexer.rpmdb.sqlite import iter_sqlite_blobs

__all__ = [
    "DB_FILE_NAMES",
    "NAME",
    "VERSION",
    "RpmFormat",
    "RpmPackage",
    "detect_format",
    "parse_header",
    "read_bdb",
    "read_ndb",
    "read_rpmdb",
    "read_sqlite",
]

logger = logging.getLogger(__name__)

NAME = "rpmdb"
VERSION = "1"

MAX_PACKAGES = 100_000

RpmFormat = Literal["sqlite", "bdb", "ndb"]

# Where each backend keeps its package table, relative to the database directory.
DB_FILE_NAMES: dict[str, RpmFormat] = {
    "rpmdb.sqlite": "sqlite",
    "Packages.db": "ndb",
    "Packages": "bdb",
}


def detect_format(data: bytes) -> RpmFormat | None:
    """Which rpm backend wrote ``data`` (from its magic), or None."""
    if data[:16] == SQLITE_MAGIC:
        return "sqlite"
    if data[:4] == NDB_MAGIC:
        return "ndb"
    if is_bdb_hash(data):
        return "bdb"
    return None


def read_rpmdb(
    source: DatabaseSource, *, with_files: bool = True, skip_bad_headers: bool = False
) -> list[RpmPackage]:
    """Every package in an rpm database, whichever backend wrote it.

    A malformed header blob raises :class:`RpmHeaderError` (or :class:`FormatLimitError`)
    unless ``skip_bad_headers`` is set, in which case it is logged and left out (damage to
    the database structure itself always raises).
    """
    if not isinstance(source, bytes | bytearray | memoryview) and Path(source).is_dir():
        for name in DB_FILE_NAMES:
            candidate = Path(source) / name
            if candidate.is_file():
                return read_rpmdb(
                    candidate, with_files=with_files, skip_bad_headers=skip_bad_headers
                )
        raise RpmDatabaseError("The directory holds no rpm database.")
    data = load(source, "rpm database")
    fmt = detect_format(data)
    if fmt == "sqlite":
        blobs = iter_sqlite_blobs(data)
    elif fmt == "ndb":
        blobs = iter_ndb_blobs(data)
    elif fmt == "bdb":
        blobs = iter_bdb_blobs(data)
    else:
        raise RpmDatabaseError("The file is not an rpm database of a known format.")
    return _packages(blobs, len(data), with_files, skip_bad_headers)


def read_sqlite(source: DatabaseSource, *, with_files: bool = True) -> list[RpmPackage]:
    data = load(source, "rpm SQLite database")
    return _packages(iter_sqlite_blobs(data), len(data), with_files, False)


def read_bdb(source: DatabaseSource, *, with_files: bool = True) -> list[RpmPackage]:
    data = load(source, "rpm Berkeley DB database")
    return _packages(iter_bdb_blobs(data), len(data), with_files, False)


def read_ndb(source: DatabaseSource, *, with_files: bool = True) -> list[RpmPackage]:
    data = load(source, "rpm NDB database")
    return _packages(iter_ndb_blobs(data), len(data), with_files, False)


def _packages(
    blobs: Iterator[bytes], size: int, with_files: bool, skip_bad: bool
) -> list[RpmPackage]:
    """Parse each blob. In every backend the header blobs of a sound database add up to less
    than the file, so a damaged file whose records share pages (and would make the same bytes
    parse over and over) is stopped once they add up to more."""
    out: list[RpmPackage] = []
    skipped = 0
    total = 0
    for blob in blobs:
        total += len(blob)
        if total > size:
            raise RpmDatabaseError("The rpm database's records add up to more than the file.")
        if len(out) + skipped >= MAX_PACKAGES:
            raise FormatLimitError("The rpm database holds more packages than allowed.")
        try:
            out.append(parse_header(blob, with_files=with_files))
        except (RpmHeaderError, FormatLimitError):
            if not skip_bad:
                raise
            skipped += 1
    if skipped:
        logger.warning("Skipped %d malformed rpm header(s); read %d package(s).", skipped, len(out))
    return out
