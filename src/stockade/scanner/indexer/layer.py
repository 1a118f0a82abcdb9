"""Safe, streamed reading of one image layer.

A layer blob is read once, front to back: the compression is detected from its first bytes
(gzip, zstd or none), the tar is walked in streaming mode, and only regular files whose path
some analyser asked for are kept in memory. Everything else is skipped without being stored.
Nothing is extracted to disk.

While streaming, the reader enforces hard limits (:class:`Limits`): compressed layer size,
uncompressed size, the decompression ratio, the number of entries, path length and the size of
any file kept. Entry names with ``..`` components or absolute paths, and hard links that point
outside the layer, stop the read with :class:`UnsafeLayerError`. The uncompressed stream is
hashed and must equal the layer's diff_id from the image config.

The result, :class:`LayerContents`, holds the kept files plus the layer's filesystem facts that
merging layers needs: whiteouts (``.wh.name``), opaque directories (``.wh..wh..opq``) and
symbolic links.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import queue
import re
import tarfile
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

import zstandard

from stockade.scanner.indexer.errors import (
    CorruptLayerError,
    LayerLimitError,
    UnsafeLayerError,
)

logger = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
_CHUNK = 1 << 20
MIN_BINARY = 256
BINARY_MAGIC = (
    b"\x7fELF",
    b"MZ",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)


@dataclass(frozen=True, slots=True)
class Limits:
    max_layer_bytes: int = 8 << 30  # compressed blob
    max_uncompressed_bytes: int = 32 << 30
    max_ratio: float = 100.0  # uncompressed / compressed, checked past ratio_floor
    ratio_floor: int = 64 << 20  # small layers may compress very well legitimately
    max_entries: int = 1_000_000
    max_path_length: int = 4096
    max_file_bytes: int = 512 << 20  # a single kept file
    max_symlink_hops: int = 40


DEFAULT_LIMITS = Limits()


@dataclass(slots=True)
class LayerContents:
    """What one layer holds that the analysers and the merge need."""

    files: dict[str, bytes] = field(default_factory=dict)  # kept regular files
    whiteouts: list[str] = field(default_factory=list)  # paths removed from lower layers
    opaque_dirs: list[str] = field(default_factory=list)  # dirs whose lower content is hidden
    symlinks: dict[str, str] = field(default_factory=dict)  # path -> link target
    executables: set[str] = field(default_factory=set)  # binaries seen (kept or not)
    pending_links: dict[str, str] = field(default_factory=dict)  # wanted hard link -> target
    entries: int = 0
    uncompressed_bytes: int = 0


Want = Callable[[str, tarfile.TarInfo], bool]


def normalise(name: str, limits: Limits, where: str) -> str:
    """A tar entry name as a clean relative path ('' for the root), or raise if unsafe."""
    if len(name) > limits.max_path_length:
        raise LayerLimitError(f"{where}: an entry path is longer than {limits.max_path_length}.")
    if name.startswith("/") and name.strip("/"):
        raise UnsafeLayerError(f"{where}: entry {name[:200]!r} has an absolute path.")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeLayerError(f"{where}: entry {name[:200]!r} climbs out of the layer with '..'.")
    return "/".join(parts)


class _Counted:
    """Counts (and limits) the compressed bytes read from the blob."""

    def __init__(self, raw: IO[bytes], limits: Limits, where: str) -> None:
        self.raw = raw
        self.count = 0
        self.limits = limits
        self.where = where

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.count += len(data)
        if self.count > self.limits.max_layer_bytes:
            raise LayerLimitError(
                f"{self.where}: the layer is larger than {self.limits.max_layer_bytes} bytes."
            )
        return data


class _Decompressed:
    """The uncompressed tar stream: decompresses, hashes (diff_id) and enforces limits."""

    def __init__(self, counted: _Counted, limits: Limits, where: str) -> None:
        self.src = counted
        self.limits = limits
        self.where = where
        self.hash = hashlib.sha256()
        self.total = 0
        self._buf = b""
        self._pos = 0
        self._thread: threading.Thread | None = None
        head = counted.read(4)
        self._pending = head
        self._gzip: zlib._Decompress | None = None
        self._zstd: zstandard.ZstdDecompressionObj | None = None
        self._eof = False
        if head.startswith(GZIP_MAGIC):
            self._gzip = zlib.decompressobj(wbits=31)
            self.kind = "gzip"
        elif head.startswith(ZSTD_MAGIC):
            self._zstd = zstandard.ZstdDecompressor().decompressobj()
            self.kind = "zstd"
        else:
            self.kind = "tar"

    def _more(self) -> bytes:
        """The next piece of uncompressed data, b'' at the end."""
        while True:
            raw = self._pending or self.src.read(_CHUNK)
            self._pending = b""
            if self.kind == "tar":
                return raw
            if not raw:
                if self._gzip is not None and not self._gzip.eof:
                    raise CorruptLayerError(f"{self.where}: the gzip stream is truncated.")
                return b""
            try:
                if self._gzip is not None:
                    out = self._gzip.decompress(raw, _CHUNK * 8)
                    while self._gzip.unconsumed_tail:
                        out += self._gzip.decompress(self._gzip.unconsumed_tail, _CHUNK * 8)
                        self._check(len(out))
                    if self._gzip.eof and self._gzip.unused_data:
                        # another gzip member follows (concatenated gzip is valid)
                        rest = self._gzip.unused_data
                        self._gzip = zlib.decompressobj(wbits=31)
                        self._pending = rest
                elif self._zstd is not None:
                    out = self._zstd.decompress(raw)
                    if self._zstd.eof and self._zstd.unused_data:
                        rest = self._zstd.unused_data
                        self._zstd = zstandard.ZstdDecompressor().decompressobj()
                        self._pending = rest
                else:  # pragma: no cover
                    out = raw
            except (zlib.error, zstandard.ZstdError) as exc:
                raise CorruptLayerError(
                    f"{self.where}: the {self.kind} stream is corrupt ({exc})."
                ) from exc
            if out:
                return out

    def _check(self, extra: int = 0) -> None:
        total = self.total + extra
        if total > self.limits.max_uncompressed_bytes:
            raise LayerLimitError(
                f"{self.where}: the layer unpacks to more than "
                f"{self.limits.max_uncompressed_bytes} bytes."
            )
        if (
            self.kind != "tar"
            and total > self.limits.ratio_floor
            and total > self.limits.max_ratio * max(self.src.count, 1)
        ):
            raise LayerLimitError(
                f"{self.where}: the layer expands more than {self.limits.max_ratio:.0f}x "
                "(a decompression bomb?)."
            )

    def read(self, n: int = -1) -> bytes:
        buf, pos = self._buf, self._pos
        if n < 0:
            parts = [buf[pos:]]
            while chunk := self._next():
                parts.append(chunk)
            self._buf, self._pos = b"", 0
            return b"".join(parts)
        if len(buf) - pos >= n:  # the common case: served from the current chunk, no copy
            self._pos = pos + n
            return buf[pos : pos + n]
        parts = [buf[pos:]]
        have = len(parts[0])
        while have < n:
            chunk = self._next()
            if not chunk:
                self._buf, self._pos = b"", 0
                return b"".join(parts)
            parts.append(chunk)
            have += len(chunk)
        joined = b"".join(parts)
        self._buf, self._pos = joined, n
        return joined[:n]

    def start(self) -> None:
        """Read and decompress in a helper thread (zlib, zstd and hashlib release the GIL),
        so that decompression overlaps the tar walk on another core."""
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=8)
        self._stop = threading.Event()

        def produce() -> None:
            while not self._stop.is_set():
                try:
                    item: bytes | BaseException = self._more()
                except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
                    item = exc
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if not isinstance(item, bytes) or not item:
                    return

        self._thread = threading.Thread(target=produce, name="layer-decompress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _pull(self) -> bytes:
        if self._thread is None:
            return self._more()
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def _next(self) -> bytes:
        if self._eof:
            return b""
        chunk = self._pull()
        if not chunk:
            self._eof = True
            return b""
        self.total += len(chunk)
        self._check()
        self.hash.update(chunk)
        return chunk

    def drain(self) -> None:
        self._buf, self._pos = b"", 0
        while self._next():
            pass


def read_layer(
    blob: IO[bytes],
    want: Want,
    *,
    diff_id: str,
    where: str,
    limits: Limits = DEFAULT_LIMITS,
    executables: tuple[bytes, ...] = (),
) -> LayerContents:
    """Stream one layer blob; keep the files ``want`` accepts. ``where`` prefixes messages.

    ``want(path, info)`` is called for regular files and hard links only, with the normalised
    path. The layer's uncompressed digest must equal ``diff_id`` (unless ``diff_id`` is '').
    With ``executables`` (byte markers, e.g. Go's build-info magic), a file with an execute bit
    that starts like an ELF, PE or Mach-O binary and contains one of the markers is kept too
    (and listed in ``executables``); other files are dropped after 4 bytes or one scan.
    """
    counted = _Counted(blob, limits, where)
    stream = _Decompressed(counted, limits, where)
    stream.start()
    try:
        return _walk(stream, want, diff_id, where, limits, executables)
    finally:
        stream.stop()


def _walk(
    stream: _Decompressed,
    want: Want,
    diff_id: str,
    where: str,
    limits: Limits,
    executables: tuple[bytes, ...],
) -> LayerContents:
    out = LayerContents()
    try:
        tar = tarfile.open(fileobj=stream, mode="r|", ignore_zeros=False)  # type: ignore[call-overload]  # noqa: SIM115
    except tarfile.ReadError as exc:
        raise CorruptLayerError(f"{where}: the layer is not a tar archive.") from exc
    except EOFError as exc:
        raise CorruptLayerError(f"{where}: the layer is truncated.") from exc
    last: tarfile.TarInfo | None = None
    try:
        for info in tar:
            last = info
            out.entries += 1
            if out.entries > limits.max_entries:
                raise LayerLimitError(
                    f"{where}: the layer has more than {limits.max_entries} entries."
                )
            path = normalise(info.name, limits, where)
            if not path:
                continue
            base = posixpath.basename(path)
            if base.startswith(WHITEOUT_PREFIX):
                parent = posixpath.dirname(path)
                if base == OPAQUE_MARKER:
                    out.opaque_dirs.append(parent)
                else:
                    out.whiteouts.append(posixpath.join(parent, base[len(WHITEOUT_PREFIX) :]))
                continue
            if info.issym():
                if len(info.linkname) > limits.max_path_length:
                    raise LayerLimitError(f"{where}: a link target is too long.")
                out.symlinks[path] = info.linkname
                continue
            if info.islnk():
                target = normalise(info.linkname, limits, where)
                if want(path, info):
                    if target in out.files:
                        out.files[path] = out.files[target]
                    else:  # the target's bytes went by unkept; the caller fetches them
                        out.pending_links[path] = target
                continue
            if not info.isreg():
                continue
            binary = False
            head = b""
            if not want(path, info):
                if not (executables and info.mode & 0o111 and info.size >= MIN_BINARY):
                    continue
                if info.size > limits.max_file_bytes:
                    continue  # a huge binary is skipped, not fatal
                fh = tar.extractfile(info)
                head = fh.read(4) if fh is not None else b""
                if not head.startswith(BINARY_MAGIC):
                    continue
                binary = True
            if info.size > limits.max_file_bytes:
                raise LayerLimitError(
                    f"{where}: file {path} is larger than {limits.max_file_bytes} bytes."
                )
            if not binary:
                fh = tar.extractfile(info)
            if fh is None:  # pragma: no cover
                continue
            data = head + fh.read()
            if len(data) != info.size:
                raise CorruptLayerError(f"{where}: the layer is truncated (in {path}).")
            if binary and not any(marker in data for marker in executables):
                out.executables.add(path)  # recorded (it masks lower layers), not kept
                continue
            out.files[path] = data
            if binary:
                out.executables.add(path)
    except tarfile.ReadError as exc:
        if not _ends_after(last, stream):
            raise CorruptLayerError(f"{where}: the layer's tar data is corrupt ({exc}).") from exc
        # Some writers (umoci 0.4) omit the final padding and end-of-archive blocks; the
        # last entry is complete, so the layer is usable.
        logger.info("%s: the tar has no end-of-archive marker; last entry complete", where)
    except EOFError as exc:
        raise CorruptLayerError(f"{where}: the layer is truncated.") from exc
    stream.drain()
    out.uncompressed_bytes = stream.total
    if diff_id and "sha256:" + stream.hash.hexdigest() != diff_id:
        raise CorruptLayerError(f"{where}: the layer's content does not match its diff_id.")
    return out


def _ends_after(last: tarfile.TarInfo | None, stream: _Decompressed) -> bool:
    """True when the stream ended right after the last entry's complete data."""
    if last is None:
        return False
    stream.drain()
    return stream.total >= last.offset_data + last.size


def resolve_symlinks(path: str, symlinks: dict[str, str], limits: Limits, where: str) -> str | None:
    """Follow symbolic links (in any component of ``path``) inside the image root.

    Returns the final path, or None when a link points above the image root (such links are
    never followed). Raises :class:`UnsafeLayerError` on a loop.
    """
    hops = 0
    parts = path.split("/")
    resolved: list[str] = []
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return None
            resolved.pop()
            continue
        candidate = "/".join([*resolved, part])
        target = symlinks.get(candidate)
        if target is None:
            resolved.append(part)
            continue
        hops += 1
        if hops > limits.max_symlink_hops:
            raise UnsafeLayerError(f"{where}: symbolic links loop at {path}.")
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p] + parts
    return "/".join(resolved)


def compile_patterns(patterns: list[str]) -> re.Pattern[str]:
    """One regex that full-matches any of ``patterns``."""
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?:{p})" for p in patterns))
