"""Just enough of ELF, PE and Mach-O to find a named section and map virtual addresses.

The Go build-info and cargo-auditable readers only need the section table, the loadable
segments and the byte order, so this module reads those headers and nothing else: no symbol
tables, no relocations. Every count and offset is checked against the file size and against
hard limits, so a malformed header raises :class:`ExecutableError` instead of looping or
allocating without bound.

Why not pyelftools/pefile/macholib: three libraries for three header tables, each parsing far
more than needed (and raising a different exception family on malformed input), on a path the
Indexer runs for every executable in an image.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from stockade.scanner.indexer.format_errors import ExecutableError, FormatLimitError

MAX_SECTIONS = 4096
MAX_SEGMENTS = 1024
MAX_LOAD_COMMANDS = 4096

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO

ExecutableKind = Literal["elf", "pe", "macho"]


class Reader:
    """Random access to bytes held in memory or in a seekable file, bounds-checked."""

    def __init__(self, data: bytes | bytearray | memoryview | None, fh: BinaryIO | None) -> None:
        self._data = memoryview(data).cast("B") if data is not None else None
        self._fh = fh
        if self._data is not None:
            self.size = len(self._data)
        else:
            assert fh is not None
            fh.seek(0, io.SEEK_END)
            self.size = fh.tell()
        self.base = 0

    def sub(self, base: int, size: int) -> Reader:
        """A view of ``size`` bytes from ``base`` (a Mach-O fat slice)."""
        if base < 0 or size < 0 or base + size > self.size:
            raise ExecutableError("An executable slice lies outside the file.")
        child = Reader.__new__(Reader)
        child._data = self._data
        child._fh = self._fh
        child.base = self.base + base
        child.size = size
        return child

    def read(self, offset: int, size: int) -> bytes:
        if offset < 0 or size < 0 or offset + size > self.size:
            raise ExecutableError("An executable header points outside the file.")
        start = self.base + offset
        if self._data is not None:
            return bytes(self._data[start : start + size])
        assert self._fh is not None
        self._fh.seek(start)
        chunk = self._fh.read(size)
        if len(chunk) != size:
            raise ExecutableError("The executable file ended early.")
        return chunk

    def read_upto(self, offset: int, size: int) -> bytes:
        """Like :meth:`read` but clipped at the end of the file."""
        if offset < 0 or offset >= self.size:
            return b""
        return self.read(offset, min(size, self.size - offset))


@contextmanager
def open_source(source: Source) -> Iterator[Reader]:
    """A :class:`Reader` over bytes, a path, or an open binary file (left open)."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield Reader(source, None)
    elif isinstance(source, str | os.PathLike):
        try:
            fh = Path(source).open("rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise ExecutableError("The executable file cannot be opened.") from exc
        with fh:
            yield Reader(None, fh)
    else:
        yield Reader(None, source)


@dataclass(frozen=True)
class Section:
    name: str
    addr: int
    offset: int
    size: int
    has_data: bool
    writable: bool


@dataclass(frozen=True)
class Segment:
    vaddr: int
    offset: int
    filesz: int
    writable: bool


@dataclass(frozen=True)
class Executable:
    kind: ExecutableKind
    ptr_size: int
    big_endian: bool
    sections: tuple[Section, ...]
    segments: tuple[Segment, ...]
    reader: Reader

    def section(self, *names: str) -> Section | None:
        for name in names:
            for sec in self.sections:
                if sec.name == name and sec.has_data:
                    return sec
        return None

    def read_section(self, section: Section, limit: int) -> bytes:
        if section.size > limit:
            raise FormatLimitError(
                f"Section {section.name[:32]!r} is larger than the {limit}-byte limit."
            )
        return self.reader.read(section.offset, section.size)

    def read_vaddr(self, addr: int, size: int) -> bytes | None:
        """``size`` bytes at virtual address ``addr``, or None when no segment holds them."""
        for seg in self.segments:
            if seg.vaddr <= addr and addr + size <= seg.vaddr + seg.filesz:
                return self.reader.read(seg.offset + addr - seg.vaddr, size)
        return None


def parse_executable(reader: Reader) -> Executable | None:
    """The headers of an ELF, PE or Mach-O file; None when it is none of those."""
    magic = reader.read_upto(0, 8)
    if magic[:4] == b"\x7fELF":
        return _parse_elf(reader)
    if magic[:2] == b"MZ":
        return _parse_pe(reader)
    if magic[:4] in (
        b"\xfe\xed\xfa\xce",
        b"\xce\xfa\xed\xfe",
        b"\xfe\xed\xfa\xcf",
        b"\xcf\xfa\xed\xfe",
    ):
        return _parse_macho(reader)
    if magic[:4] == b"\xca\xfe\xba\xbe":
        return _parse_fat(reader)
    return None


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1")


def _parse_elf(r: Reader) -> Executable:
    ident = r.read(0, 16)
    cls, data = ident[4], ident[5]
    if cls not in (1, 2) or data not in (1, 2):
        raise ExecutableError("The ELF header has an unknown class or byte order.")
    e = ">" if data == 2 else "<"
    if cls == 2:
        phoff, shoff = struct.unpack(e + "QQ", r.read(32, 16))
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack(e + "HHHHH", r.read(54, 10))
        ph_fmt, ph_min, sh_fmt, sh_min = e + "IIQQQQQQ", 56, e + "IIQQQQIIQQ", 64
    else:
        phoff, shoff = struct.unpack(e + "II", r.read(28, 8))
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack(e + "HHHHH", r.read(42, 10))
        ph_fmt, ph_min, sh_fmt, sh_min = e + "IIIIIIII", 32, e + "IIIIIIIIII", 40
    if phnum > MAX_SEGMENTS or shnum > MAX_SECTIONS:
        raise FormatLimitError("The ELF file declares more segments or sections than allowed.")
    segments: list[Segment] = []
    if phnum:
        if phentsize < ph_min:
            raise ExecutableError("The ELF program header entries are too small.")
        table = r.read(phoff, phnum * phentsize)
        for i in range(phnum):
            raw = table[i * phentsize : i * phentsize + ph_min]
            if cls == 2:
                p_type, p_flags, p_offset, p_vaddr, _pa, p_filesz, _mem, _al = struct.unpack(
                    ph_fmt, raw
                )
            else:
                p_type, p_offset, p_vaddr, _pa, p_filesz, _mem, p_flags, _al = struct.unpack(
                    ph_fmt, raw
                )
            if p_type == 1:  # PT_LOAD
                segments.append(Segment(p_vaddr, p_offset, p_filesz, bool(p_flags & 2)))
    sections: list[Section] = []
    if shnum and shoff:
        if shentsize < sh_min:
            raise ExecutableError("The ELF section header entries are too small.")
        table = r.read(shoff, shnum * shentsize)
        headers = [struct.unpack_from(sh_fmt, table, i * shentsize) for i in range(shnum)]
        names = b""
        if shstrndx < len(headers):
            strtab = headers[shstrndx]
            names = r.read(strtab[4], min(strtab[5], 1 << 20))
        for h in headers:
            sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size = h[:6]
            name = _cstr(names[sh_name : sh_name + 256]) if sh_name < len(names) else ""
            has_data = sh_type != 8 and sh_offset + sh_size <= r.size  # SHT_NOBITS
            sections.append(
                Section(name, sh_addr, sh_offset, sh_size, has_data, bool(sh_flags & 1))
            )
    return Executable("elf", 8 if cls == 2 else 4, e == ">", tuple(sections), tuple(segments), r)


def _parse_pe(r: Reader) -> Executable | None:
    (lfanew,) = struct.unpack("<I", r.read(0x3C, 4))
    if r.read_upto(lfanew, 4) != b"PE\0\0":
        return None
    _machine, nsections, _ts, _sym, _nsym, opt_size, _ch = struct.unpack(
        "<HHIIIHH", r.read(lfanew + 4, 20)
    )
    if nsections > MAX_SECTIONS:
        raise FormatLimitError("The PE file declares more sections than allowed.")
    opt = lfanew + 24
    (opt_magic,) = struct.unpack("<H", r.read(opt, 2))
    if opt_magic == 0x20B:
        (image_base,) = struct.unpack("<Q", r.read(opt + 24, 8))
        ptr_size = 8
    elif opt_magic == 0x10B:
        (image_base,) = struct.unpack("<I", r.read(opt + 28, 4))
        ptr_size = 4
    else:
        raise ExecutableError("The PE optional header has an unknown magic number.")
    sections: list[Section] = []
    segments: list[Segment] = []
    table = opt + opt_size
    for i in range(nsections):
        raw = r.read(table + 40 * i, 40)
        name = _cstr(raw[:8])
        vsize, vaddr, raw_size, raw_ptr = struct.unpack("<IIII", raw[8:24])
        (chars,) = struct.unpack("<I", raw[36:40])
        size = min(vsize, raw_size) if vsize else raw_size
        has_data = raw_ptr + size <= r.size and raw_size > 0
        writable = bool(chars & 0x80000000)
        sections.append(Section(name, image_base + vaddr, raw_ptr, size, has_data, writable))
        if has_data:
            segments.append(Segment(image_base + vaddr, raw_ptr, size, writable))
    return Executable("pe", ptr_size, False, tuple(sections), tuple(segments), r)


def _parse_macho(r: Reader) -> Executable:
    magic = r.read(0, 4)
    e = ">" if magic in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf") else "<"
    is64 = magic in (b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe")
    _cpu, _sub, _ftype, ncmds, _sizeofcmds, _flags = struct.unpack(e + "iiIIII", r.read(4, 24))
    if ncmds > MAX_LOAD_COMMANDS:
        raise FormatLimitError("The Mach-O file declares more load commands than allowed.")
    off = 32 if is64 else 28
    sections: list[Section] = []
    segments: list[Segment] = []
    for _ in range(ncmds):
        cmd, cmdsize = struct.unpack(e + "II", r.read(off, 8))
        if cmdsize < 8:
            raise ExecutableError("A Mach-O load command has an impossible size.")
        if cmd in (0x1, 0x19):
            if cmd == 0x19:
                segname = _cstr(r.read(off + 8, 16))
                vmaddr, _vmsize, fileoff, filesize = struct.unpack(e + "QQQQ", r.read(off + 24, 32))
                _maxp, initprot, nsects, _fl = struct.unpack(e + "iiII", r.read(off + 56, 16))
                sect_off, sect_size = off + 72, 80
            else:
                segname = _cstr(r.read(off + 8, 16))
                vmaddr, _vmsize, fileoff, filesize = struct.unpack(e + "IIII", r.read(off + 24, 16))
                _maxp, initprot, nsects, _fl = struct.unpack(e + "iiII", r.read(off + 40, 16))
                sect_off, sect_size = off + 56, 68
            if nsects > MAX_SECTIONS or len(sections) + nsects > MAX_SECTIONS:
                raise FormatLimitError("The Mach-O file declares more sections than allowed.")
            writable = bool(initprot & 2)
            segments.append(Segment(vmaddr, fileoff, filesize, writable))
            for j in range(nsects):
                base = sect_off + j * sect_size
                sectname = _cstr(r.read(base, 16))
                if cmd == 0x19:
                    addr, size = struct.unpack(e + "QQ", r.read(base + 32, 16))
                    (offset,) = struct.unpack(e + "I", r.read(base + 48, 4))
                    (sflags,) = struct.unpack(e + "I", r.read(base + 64, 4))
                else:
                    addr, size, offset = struct.unpack(e + "III", r.read(base + 32, 12))
                    (sflags,) = struct.unpack(e + "I", r.read(base + 56, 4))
                zerofill = (sflags & 0xFF) in (1, 12, 18)
                has_data = not zerofill and offset + size <= r.size
                sections.append(
                    Section(f"{segname},{sectname}", addr, offset, size, has_data, writable)
                )
        off += cmdsize
    return Executable("macho", 8 if is64 else 4, e == ">", tuple(sections), tuple(segments), r)


def _parse_fat(r: Reader) -> Executable | None:
    (nfat,) = struct.unpack(">I", r.read(4, 4))
    if nfat == 0 or nfat > 20:  # Java class files share the magic; their "count" is larger
        return None
    _cpu, _sub, offset, size, _align = struct.unpack(">iiIII", r.read(8, 20))
    inner = r.sub(offset, size)
    if inner.read_upto(0, 4) not in (
        b"\xfe\xed\xfa\xce",
        b"\xce\xfa\xed\xfe",
        b"\xfe\xed\xfa\xcf",
        b"\xcf\xfa\xed\xfe",
    ):
        raise ExecutableError("A Mach-O universal binary holds no Mach-O slice.")
    return _parse_macho(inner)
