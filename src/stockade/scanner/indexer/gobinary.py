"""Go build information embedded in ELF, PE and Mach-O binaries.

The Go linker writes a 32-byte header starting with ``\\xff Go buildinf:`` (in the
``.go.buildinfo`` section on ELF, ``__DATA,__go_buildinfo`` on Mach-O, the data section on
PE). Byte 14 is the pointer size, byte 15 holds flags: bit 0 big-endian, bit 1 "inline".

- Go 1.18 and later (inline): two uvarint-length-prefixed strings follow the header, the Go
  version and the module information.
- Before 1.18 (pointer-based): bytes 16 and 16+ptrsize hold addresses of two Go string
  headers (data pointer, length) for the same two strings; they are resolved through the
  loadable segments.

The module information is the text ``go version -m`` prints: ``path``, ``mod``, ``dep``,
``=>`` (replacement of the line before) and ``build`` lines, wrapped in 16-byte sentinels.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

from stockade.scanner.indexer.binfmt import Executable, Source, open_source, parse_executable
from stockade.scanner.indexer.format_errors import GoBuildInfoError

logger = logging.getLogger(__name__)

NAME = "gobinary"
VERSION = "1"

MAGIC = b"\xff Go buildinf:"
ALIGN = 16
MAX_STRING = 1 << 20
MAX_SEARCH = 4 << 20
MAX_LINES = 100_000


@dataclass(frozen=True)
class GoModule:
    path: str
    version: str
    sum: str = ""
    replace: GoModule | None = None


@dataclass(frozen=True)
class GoBuildSetting:
    key: str
    value: str


@dataclass(frozen=True)
class GoBuildInfo:
    go_version: str
    path: str
    main: GoModule | None
    deps: tuple[GoModule, ...]
    settings: tuple[GoBuildSetting, ...]
    executable_format: str
    pointer_format: bool
    """True for the pre-1.18 layout (pointers to string headers)."""

    def setting(self, key: str) -> str | None:
        for s in self.settings:
            if s.key == key:
                return s.value
        return None


def read_go_buildinfo(source: Source) -> GoBuildInfo | None:
    """The build information of a Go binary; None for anything that is not a Go binary.

    ``source`` is bytes, a path or a seekable binary file. Raises ``GoBuildInfoError`` (or
    ``ExecutableError``/``FormatLimitError``) when a header is present but malformed.
    """
    with open_source(source) as reader:
        exe = parse_executable(reader)
        if exe is None:
            return None
        return _read(exe)


def _read(exe: Executable) -> GoBuildInfo | None:
    header_at = _find_header(exe)
    if header_at is None:
        return None
    data, base = header_at
    ptr_size = data[14]
    flags = data[15]
    if flags & 2:
        pos = base + 32
        version, pos = _uvarint_string(exe, pos)
        modinfo, pos = _uvarint_string(exe, pos)
        pointer = False
    else:
        if ptr_size not in (4, 8):
            raise GoBuildInfoError("The Go build information has an invalid pointer size.")
        order: Literal["big", "little"] = "big" if flags & 1 else "little"
        if len(data) < 16 + 2 * ptr_size:
            raise GoBuildInfoError("The Go build information header is truncated.")
        vptr = int.from_bytes(data[16 : 16 + ptr_size], order)
        mptr = int.from_bytes(data[16 + ptr_size : 16 + 2 * ptr_size], order)
        version = _pointer_string(exe, vptr, ptr_size, order)
        modinfo = _pointer_string(exe, mptr, ptr_size, order)
        pointer = True
    if not version:
        return None
    if len(modinfo) >= 33 and modinfo[-17] == ord("\n"):
        modinfo = modinfo[16:-16]  # the sentinels around the text (bytes, often not UTF-8)
    path, main, deps, settings = parse_modinfo(modinfo.decode("utf-8", "replace"))
    return GoBuildInfo(
        go_version=version.decode("utf-8", "replace"),
        path=path,
        main=main,
        deps=deps,
        settings=settings,
        executable_format=exe.kind,
        pointer_format=pointer,
    )


def _find_header(exe: Executable) -> tuple[bytes, int] | None:
    """The 32-byte header and its file offset, or None.

    ELF and Mach-O Go binaries (Go 1.13+) carry a dedicated section; PE ones, and ELF files
    whose section table was stripped, are searched in their writable data.
    """
    sec = exe.section(".go.buildinfo", "__DATA,__go_buildinfo", "__DATA_CONST,__go_buildinfo")
    candidates: list[tuple[int, int]] = []
    if sec is not None:
        candidates.append((sec.offset, sec.size))
    elif exe.kind == "pe":
        candidates.extend((s.offset, s.size) for s in exe.sections if s.has_data and s.writable)
    elif not exe.sections:
        candidates.extend((g.offset, g.filesz) for g in exe.segments if g.writable)
    for offset, size in candidates:
        # Like Go's reader, the 32 header bytes may run past the section (a pre-1.18 header
        # with 4-byte pointers fills only 24).
        window = min(size, MAX_SEARCH)
        chunk = exe.reader.read_upto(offset, window + 32)
        pos = chunk.find(MAGIC, 0, window)
        while pos != -1:
            if pos % ALIGN == 0 and len(chunk) - pos >= 16:
                return chunk[pos : pos + 32], offset + pos
            pos = chunk.find(MAGIC, pos + 1, window)
    return None


def _uvarint_string(exe: Executable, pos: int) -> tuple[bytes, int]:
    """A uvarint-length-prefixed string at file offset ``pos``, and the offset after it."""
    prefix = exe.reader.read_upto(pos, 10)
    length = 0
    shift = 0
    i = 0
    while True:
        if i >= len(prefix) or shift > 63:
            raise GoBuildInfoError("The Go build information has a malformed length.")
        b = prefix[i]
        i += 1
        length |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
    pos += i
    if length > MAX_STRING or pos + length > exe.reader.size:
        raise GoBuildInfoError("The Go build information has a string longer than its data.")
    return exe.reader.read(pos, length), pos + length


def _pointer_string(
    exe: Executable, addr: int, ptr_size: int, order: Literal["big", "little"]
) -> bytes:
    hdr = exe.read_vaddr(addr, 2 * ptr_size)
    if hdr is None:
        raise GoBuildInfoError("The Go build information points outside the binary.")
    data_ptr = int.from_bytes(hdr[:ptr_size], order)
    length = int.from_bytes(hdr[ptr_size:], order)
    if length == 0:
        return b""
    if length > MAX_STRING:
        raise GoBuildInfoError("The Go build information has an oversized string.")
    raw = exe.read_vaddr(data_ptr, length)
    if raw is None:
        raise GoBuildInfoError("The Go build information points outside the binary.")
    return raw


_QUOTED_VALUE = re.compile(r'"(?:[^"\\]|\\.)*"')


def _unquote(s: str) -> str:
    """Undo Go's strconv.Quote for the escapes it produces in build settings."""
    body = s[1:-1]
    out: list[str] = []
    i = 0
    simple = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b",
              "f": "\f", "v": "\v", "'": "'"}  # fmt: skip
    while i < len(body):
        c = body[i]
        if c != "\\" or i + 1 >= len(body):
            out.append(c)
            i += 1
            continue
        n = body[i + 1]
        if n in simple:
            out.append(simple[n])
            i += 2
        elif n in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[n]
            digits = body[i + 2 : i + 2 + width]
            try:
                out.append(chr(int(digits, 16)))
            except ValueError:
                out.append(body[i : i + 2 + width])
            i += 2 + width
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _setting(text: str) -> GoBuildSetting | None:
    if text.startswith('"'):
        m = _QUOTED_VALUE.match(text)
        if m is None or not text[m.end() :].startswith("="):
            return None
        key = _unquote(m.group(0))
        rest = text[m.end() + 1 :]
    else:
        key, sep, rest = text.partition("=")
        if not sep:
            return None
    if rest.startswith('"') and _QUOTED_VALUE.fullmatch(rest):
        rest = _unquote(rest)
    return GoBuildSetting(key, rest)


def parse_modinfo(
    text: str,
) -> tuple[str, GoModule | None, tuple[GoModule, ...], tuple[GoBuildSetting, ...]]:
    """Parse ``go version -m`` style module information: (path, main, deps, settings).

    Unknown or malformed lines are skipped, as the Go toolchain's own parser tolerates
    older layouts.
    """
    path = ""
    main: GoModule | None = None
    deps: list[GoModule] = []
    settings: list[GoBuildSetting] = []
    last: str | None = None  # "main" or "dep": what a "=>" line replaces
    for n, line in enumerate(text.split("\n")):
        if n >= MAX_LINES:
            raise GoBuildInfoError("The Go module information has too many lines.")
        word, _, rest = line.partition("\t")
        if word == "path":
            path = rest
            last = None
        elif word in ("mod", "dep"):
            fields = rest.split("\t")
            mod = GoModule(fields[0], fields[1] if len(fields) > 1 else "",
                           fields[2] if len(fields) > 2 else "")  # fmt: skip
            if word == "mod":
                main = mod
                last = "main"
            else:
                deps.append(mod)
                last = "dep"
        elif word == "=>":
            fields = rest.split("\t")
            repl = GoModule(fields[0], fields[1] if len(fields) > 1 else "",
                            fields[2] if len(fields) > 2 else "")  # fmt: skip
            if last == "main" and main is not None:
                main = GoModule(main.path, main.version, main.sum, repl)
            elif last == "dep" and deps:
                d = deps[-1]
                deps[-1] = GoModule(d.path, d.version, d.sum, repl)
            last = None
        elif word == "build":
            s = _setting(rest)
            if s is not None:
                settings.append(s)
            last = None
        else:
            last = None
    return path, main, tuple(deps), tuple(settings)
