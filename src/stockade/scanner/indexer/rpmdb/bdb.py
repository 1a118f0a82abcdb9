"""rpm's Berkeley DB backend (``/var/lib/rpm/Packages``): a BDB hash database, read directly.

Page 0 is the hash metadata page: magic ``0x061561`` at byte 12 (its byte order gives the
file's), page size at 20, encryption algorithm at 24, last page number at 32. Every page has
a 26-byte header: page number at 8, next page at 16, entry count at 20, ``hf_offset`` at 22
(the used length on overflow pages) and the page type at 25. Hash pages (types 2 and 13)
list item offsets after the header; items alternate key, data. A data item is either inline
(``H_KEYDATA``) or a reference (``H_OFFPAGE``: page number at 4, total length at 8) to a
chain of overflow pages (type 7) whose data starts at byte 26.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from stockade.scanner.indexer.format_errors import FormatLimitError, RpmDatabaseError
from stockade.scanner.indexer.rpmdb._source import DatabaseSource, load

HASH_MAGIC = 0x061561
PAGE_HEADER = 26
# Page types a hash database may hold besides hash pages: free (0), off-page duplicate
# btrees (3 internal, 12 leaf) and overflow (7).
_OTHER_HASH_PAGES = frozenset({0, 3, 7, 12})
P_HASH_UNSORTED = 2
P_OVERFLOW = 7
P_HASHMETA = 8
P_HASH = 13
H_KEYDATA = 1
H_OFFPAGE = 3
MAX_VALUE = 0x0FFFFFFF


def is_bdb_hash(data: bytes) -> bool:
    if len(data) < 16:
        return False
    return HASH_MAGIC in (
        struct.unpack_from("<I", data, 12)[0],
        struct.unpack_from(">I", data, 12)[0],
    )


def iter_bdb_blobs(source: DatabaseSource) -> Iterator[bytes]:
    """Data values of a BDB hash ``Packages`` file, in page order (rpm header blobs)."""
    data = load(source, "rpm Berkeley DB database")
    if len(data) < 512:
        raise RpmDatabaseError("The rpm Berkeley DB database is shorter than one page.")
    if struct.unpack_from("<I", data, 12)[0] == HASH_MAGIC:
        e = "<"
    elif struct.unpack_from(">I", data, 12)[0] == HASH_MAGIC:
        e = ">"
    else:
        raise RpmDatabaseError("The rpm Berkeley DB database is not a hash database.")
    (page_size,) = struct.unpack_from(e + "I", data, 20)
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        raise RpmDatabaseError("The rpm Berkeley DB database has an invalid page size.")
    if data[24] != 0:
        raise RpmDatabaseError("The rpm Berkeley DB database is encrypted.")
    if data[25] != P_HASHMETA:
        raise RpmDatabaseError("The rpm Berkeley DB database does not start with hash metadata.")
    (last_pgno,) = struct.unpack_from(e + "I", data, 32)
    if last_pgno + 1 > len(data) // page_size:
        raise RpmDatabaseError("The rpm Berkeley DB database is shorter than its last page.")
    npages = last_pgno + 1
    for pgno in range(1, npages):
        base = pgno * page_size
        ptype = data[base + 25]
        if ptype not in (P_HASH, P_HASH_UNSORTED):
            if ptype not in _OTHER_HASH_PAGES:
                raise RpmDatabaseError("A Berkeley DB page has a type a hash database never uses.")
            continue
        (entries,) = struct.unpack_from(e + "H", data, base + 20)
        if PAGE_HEADER + 2 * entries > page_size:
            raise RpmDatabaseError("A Berkeley DB hash page lists more entries than fit.")
        offsets = struct.unpack_from(f"{e}{entries}H", data, base + PAGE_HEADER)
        for i in range(1, entries, 2):  # odd entries are the data of each key/data pair
            off = offsets[i]
            end = offsets[i - 1]
            if not PAGE_HEADER <= off < end <= page_size:
                raise RpmDatabaseError("A Berkeley DB hash item lies outside its page.")
            key_off = offsets[i - 1]
            key_end = page_size if i == 1 else offsets[i - 2]
            if (
                key_end - key_off == 5
                and data[base + key_off] == H_KEYDATA
                and data[base + key_off + 1 : base + key_end] == b"\0\0\0\0"
            ):
                continue  # rpm's record 0 holds a counter, not a package
            itype = data[base + off]
            if itype == H_KEYDATA:
                value = data[base + off + 1 : base + end]
                if len(value) >= 8:
                    yield value
            elif itype == H_OFFPAGE:
                if end - off < 12:
                    raise RpmDatabaseError("A Berkeley DB overflow reference is truncated.")
                first, total = struct.unpack_from(e + "II", data, base + off + 4)
                yield _overflow(data, e, page_size, npages, first, total)


def _overflow(data: bytes, e: str, page_size: int, npages: int, pgno: int, total: int) -> bytes:
    if total > MAX_VALUE:
        raise FormatLimitError("A Berkeley DB value is larger than the size limit.")
    parts: list[bytes] = []
    got = 0
    seen: set[int] = set()
    while got < total:
        if pgno == 0 or pgno >= npages or pgno in seen:
            raise RpmDatabaseError("A Berkeley DB overflow chain is broken.")
        seen.add(pgno)
        base = pgno * page_size
        if data[base + 25] != P_OVERFLOW:
            raise RpmDatabaseError("A Berkeley DB overflow chain reaches a non-overflow page.")
        (nxt,) = struct.unpack_from(e + "I", data, base + 16)
        (used,) = struct.unpack_from(e + "H", data, base + 22)
        if used > page_size - PAGE_HEADER:
            raise RpmDatabaseError("A Berkeley DB overflow page claims more data than fits.")
        parts.append(data[base + PAGE_HEADER : base + PAGE_HEADER + used])
        got += used
        pgno = nxt
    if got != total:
        raise RpmDatabaseError("A Berkeley DB overflow chain does not add up to its length.")
    return b"".join(parts)
