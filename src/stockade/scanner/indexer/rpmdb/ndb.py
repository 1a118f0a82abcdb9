"""rpm's NDB backend (``Packages.db``, SUSE's default): a slot table and checksummed blobs.

All integers are little-endian. The first 4096-byte pages hold the header (magic ``RpmP``,
version, generation, number of slot pages, next package index) followed by 16-byte slots
(``Slot``, package index, block offset, block count). A blob starts at ``blkoff * 16`` with
``BlbS``, package index, generation and length, then the header blob; the last 12 bytes of
its blocks are the Adler-32 of everything before them, the length again and ``BlbE``.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

from stockade.scanner.indexer.format_errors import FormatLimitError, RpmDatabaseError
from stockade.scanner.indexer.rpmdb._source import DatabaseSource, load

MAGIC = b"RpmP"
SLOT_MAGIC = b"Slot"
BLOB_HEAD = b"BlbS"
BLOB_TAIL = b"BlbE"
PAGE = 4096
BLK = 16
SLOT = 16
HEADER_SIZE = 32
MAX_SLOT_PAGES = 4096


def iter_ndb_blobs(source: DatabaseSource) -> Iterator[bytes]:
    """Header blobs of an NDB ``Packages.db``, in slot order."""
    data = load(source, "rpm NDB database")
    if len(data) < HEADER_SIZE or data[:4] != MAGIC:
        raise RpmDatabaseError("The rpm NDB database does not start with its magic.")
    version, _generation, slot_pages, _next = struct.unpack_from("<IIII", data, 4)
    if version != 0:
        raise RpmDatabaseError("The rpm NDB database has an unsupported version.")
    if slot_pages == 0 or slot_pages > MAX_SLOT_PAGES:
        raise FormatLimitError("The rpm NDB database declares an impossible slot table size.")
    if slot_pages * PAGE > len(data):
        raise RpmDatabaseError("The rpm NDB database is shorter than its slot table.")
    min_blk = slot_pages * PAGE // BLK
    file_blks = len(data) // BLK
    for off in range(HEADER_SIZE, slot_pages * PAGE, SLOT):
        magic = data[off : off + 4]
        if magic != SLOT_MAGIC:
            raise RpmDatabaseError("The rpm NDB database has a damaged slot.")
        pkgidx, blkoff, blkcnt = struct.unpack_from("<III", data, off + 4)
        if blkoff == 0:
            continue
        if pkgidx == 0 or blkcnt == 0 or blkoff < min_blk or blkoff + blkcnt > file_blks:
            raise RpmDatabaseError("The rpm NDB database has a slot pointing outside the file.")
        yield _blob(data, pkgidx, blkoff, blkcnt)


def _blob(data: bytes, pkgidx: int, blkoff: int, blkcnt: int) -> bytes:
    start = blkoff * BLK
    end = (blkoff + blkcnt) * BLK
    if end - start < 28:
        raise RpmDatabaseError("The rpm NDB database has a blob too small for its framing.")
    head, idx, _gen, length = struct.unpack_from("<4sIII", data, start)
    if head != BLOB_HEAD or idx != pkgidx:
        raise RpmDatabaseError("The rpm NDB database has a blob that does not match its slot.")
    if blkcnt != (16 + length + 12 + BLK - 1) // BLK:
        raise RpmDatabaseError("The rpm NDB database has a blob whose length does not fit.")
    adler, tail_len, tail = struct.unpack_from("<II4s", data, end - 12)
    if tail != BLOB_TAIL or tail_len != length:
        raise RpmDatabaseError("The rpm NDB database has a blob with a damaged trailer.")
    if zlib.adler32(data[start : end - 12]) != adler:
        raise RpmDatabaseError("The rpm NDB database has a blob whose checksum does not match.")
    return data[start + 16 : start + 16 + length]
