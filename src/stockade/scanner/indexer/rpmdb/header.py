"""The rpm header blob, as stored in every rpm database backend.

Layout (all integers big-endian)::

    il   int32              number of index entries
    dl   int32              size of the data store
    il x { tag int32, type uint32, offset int32, count uint32 }
    dl bytes of data

The first entry is usually a region tag (``HEADERIMMUTABLE``) whose data is a 16-byte
trailer; reading every entry directly gives the same tag values for the fields needed here,
so regions are not re-assembled.
"""

from __future__ import annotations

import array
import struct
import sys
from dataclasses import dataclass

from stockade.scanner.indexer.format_errors import FormatLimitError, RpmHeaderError

# Limits from rpm's own header checks (hdrchkTags / hdrchkData) plus a cap on the file list.
MAX_TAGS = 0xFFFF
MAX_DATA = 0x0FFFFFFF
MAX_FILES = 1_000_000

# Tag numbers.
TAG_NAME = 1000
TAG_VERSION = 1001
TAG_RELEASE = 1002
TAG_EPOCH = 1003
TAG_SUMMARY = 1004
TAG_SIZE = 1009
TAG_VENDOR = 1011
TAG_LICENSE = 1014
TAG_ARCH = 1022
TAG_OLDFILENAMES = 1027
TAG_SOURCERPM = 1044
TAG_DIRINDEXES = 1116
TAG_BASENAMES = 1117
TAG_DIRNAMES = 1118
TAG_PAYLOADDIGEST = 5092
TAG_MODULARITYLABEL = 5096

# Data types.
T_NULL, T_CHAR, T_INT8, T_INT16, T_INT32, T_INT64 = 0, 1, 2, 3, 4, 5
T_STRING, T_BIN, T_STRING_ARRAY, T_I18NSTRING = 6, 7, 8, 9
_INT_WIDTH = {T_CHAR: 1, T_INT8: 1, T_INT16: 2, T_INT32: 4, T_INT64: 8}
_INT_FMT = {1: "B", 2: "H", 4: "I", 8: "Q"}

Value = str | tuple[str, ...] | tuple[int, ...] | bytes


@dataclass(frozen=True)
class RpmPackage:
    name: str
    epoch: int | None
    version: str
    release: str
    arch: str
    source_rpm: str
    vendor: str
    license: str
    modularity_label: str
    files: tuple[str, ...]

    @property
    def evr(self) -> str:
        """``[epoch:]version-release`` as rpm prints it with ``%{EVR}``."""
        prefix = f"{self.epoch}:" if self.epoch is not None else ""
        return f"{prefix}{self.version}-{self.release}"

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.evr}.{self.arch}"


class Header:
    """Decoded index entries of one header blob, read lazily by tag."""

    def __init__(self, blob: bytes) -> None:
        if len(blob) < 8:
            raise RpmHeaderError("An rpm header is shorter than its preamble.")
        il, dl = struct.unpack(">ii", blob[:8])
        if il < 1 or il > MAX_TAGS:
            raise FormatLimitError("An rpm header declares an impossible number of tags.")
        if dl < 0 or dl > MAX_DATA:
            raise FormatLimitError("An rpm header declares an impossible data size.")
        data_start = 8 + 16 * il
        if data_start + dl > len(blob):
            raise RpmHeaderError("An rpm header is shorter than its declared size.")
        self._raw = blob
        self._data_start = data_start
        self._data = memoryview(blob)[data_start : data_start + dl]
        # The whole index as native ints in one C-level pass: [tag, type, offset, count] * il.
        index = array.array("i", blob[8:data_start])
        if sys.byteorder == "little":
            index.byteswap()
        self._index = index
        tags = index[0::4]
        # The last occurrence wins: rpm lets "dribble" entries appended after the immutable
        # region replace region entries of the same tag.
        self._entries = dict(zip(tags, range(il), strict=True))

    def __contains__(self, tag: int) -> bool:
        return tag in self._entries

    def get(self, tag: int) -> Value | None:
        i = self._entries.get(tag)
        if i is None:
            return None
        index = self._index
        typ, offset, count = index[4 * i + 1], index[4 * i + 2], index[4 * i + 3] & 0xFFFFFFFF
        typ &= 0xFFFFFFFF
        data = self._data
        if offset < 0 or offset > len(data):
            raise RpmHeaderError(f"An rpm header entry for tag {tag} points outside its data.")
        if typ in _INT_WIDTH:
            width = _INT_WIDTH[typ]
            end = offset + width * count
            if count > len(data) or end > len(data):
                raise RpmHeaderError(f"An rpm header entry for tag {tag} overruns its data.")
            return struct.unpack_from(f">{count}{_INT_FMT[width]}", data, offset)
        if typ == T_BIN:
            if count > len(data) - offset:
                raise RpmHeaderError(f"An rpm header entry for tag {tag} overruns its data.")
            return bytes(data[offset : offset + count])
        if typ in (T_STRING, T_STRING_ARRAY, T_I18NSTRING):
            if typ == T_STRING:
                count = 1
            if count > len(data) - offset:
                raise RpmHeaderError(f"An rpm header entry for tag {tag} overruns its data.")
            raw = self._raw
            pos = self._data_start + offset
            limit = self._data_start + len(data)
            if count == 1:
                end = raw.find(b"\0", pos, limit)
                if end < 0:
                    raise RpmHeaderError(f"An rpm header string for tag {tag} is unterminated.")
                one = raw[pos:end].decode("utf-8", "replace")
                return one if typ == T_STRING else (one,)
            parts = raw[pos:limit].split(b"\0", count)
            if len(parts) <= count:
                raise RpmHeaderError(f"An rpm header string for tag {tag} is unterminated.")
            del parts[count]
            return tuple([p.decode("utf-8", "replace") for p in parts])
        if typ == T_NULL:
            return None
        raise RpmHeaderError(f"An rpm header entry for tag {tag} has unknown type {typ}.")

    def string(self, tag: int) -> str:
        value = self.get(tag)
        if isinstance(value, str):
            return value
        if isinstance(value, tuple) and value and isinstance(value[0], str):
            return value[0]
        return ""

    def strings(self, tag: int) -> tuple[str, ...]:
        value = self.get(tag)
        if isinstance(value, str):
            return (value,)
        if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            return value  # type: ignore[return-value]
        return ()

    def ints(self, tag: int) -> tuple[int, ...]:
        value = self.get(tag)
        if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
            return value  # type: ignore[return-value]
        return ()


def parse_header(blob: bytes, *, with_files: bool = True) -> RpmPackage:
    """One package from one header blob (without the 8-byte header magic)."""
    if blob[:4] == b"\x8e\xad\xe8\x01":
        blob = blob[8:]
    h = Header(blob)
    epochs = h.ints(TAG_EPOCH)
    files: tuple[str, ...] = ()
    if with_files:
        files = _files(h)
    name = h.string(TAG_NAME)
    if not name:
        raise RpmHeaderError("An rpm header has no package name.")
    return RpmPackage(
        name=name,
        epoch=epochs[0] if epochs else None,
        version=h.string(TAG_VERSION),
        release=h.string(TAG_RELEASE),
        arch=h.string(TAG_ARCH),
        source_rpm=h.string(TAG_SOURCERPM),
        vendor=h.string(TAG_VENDOR),
        license=h.string(TAG_LICENSE),
        modularity_label=h.string(TAG_MODULARITYLABEL),
        files=files,
    )


def _files(h: Header) -> tuple[str, ...]:
    basenames = h.strings(TAG_BASENAMES)
    if not basenames:
        return h.strings(TAG_OLDFILENAMES)
    if len(basenames) > MAX_FILES:
        raise FormatLimitError("An rpm header lists more files than allowed.")
    dirnames = h.strings(TAG_DIRNAMES)
    indexes = h.ints(TAG_DIRINDEXES)
    if len(indexes) != len(basenames):
        raise RpmHeaderError("An rpm header's file name lists do not line up.")
    if indexes and max(indexes) >= len(dirnames):
        raise RpmHeaderError("An rpm header's directory index is out of range.")
    return tuple([dirnames[i] + b for b, i in zip(basenames, indexes, strict=True)])
