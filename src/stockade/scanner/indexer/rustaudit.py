"""Crates compiled into a Rust binary, from the data ``cargo auditable`` embeds.

``cargo auditable build`` adds a ``.dep-v0`` section (``__DATA,.dep-v0`` on Mach-O) holding
zlib-compressed JSON::

    {"packages": [{"name": "serde", "version": "1.0.193", "source": "crates.io",
                   "kind": "runtime", "dependencies": [3], "root": false}, ...]}

``dependencies`` are indexes into the same list; ``kind`` defaults to ``runtime`` and ``root``
to false. Decompression and JSON are both bounded.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass
from typing import Literal

from stockade.scanner.indexer.binfmt import Source, open_source, parse_executable
from stockade.scanner.indexer.format_errors import FormatLimitError, RustAuditError

logger = logging.getLogger(__name__)

NAME = "rust-audit"
VERSION = "1"

SECTION_NAMES = (".dep-v0", "__DATA,.dep-v0")
MAX_COMPRESSED = 4 << 20
MAX_JSON = 8 << 20  # cargo-auditable's own reader limit
MAX_CRATES = 50_000

CrateKind = Literal["runtime", "build"]


@dataclass(frozen=True)
class RustCrate:
    name: str
    version: str
    source: str
    kind: CrateKind
    root: bool
    dependencies: tuple[int, ...]
    """Indexes into :attr:`RustAuditInfo.crates`."""


@dataclass(frozen=True)
class RustAuditInfo:
    crates: tuple[RustCrate, ...]
    executable_format: str

    def dependencies_of(self, crate: RustCrate) -> tuple[RustCrate, ...]:
        return tuple(self.crates[i] for i in crate.dependencies)


def read_rust_audit(source: Source) -> RustAuditInfo | None:
    """The embedded crate list of a binary; None when the binary carries none."""
    with open_source(source) as reader:
        exe = parse_executable(reader)
        if exe is None:
            return None
        section = exe.section(*SECTION_NAMES)
        if section is None:
            return None
        compressed = exe.read_section(section, MAX_COMPRESSED)
        return RustAuditInfo(parse_dep_v0(compressed), exe.kind)


def parse_dep_v0(compressed: bytes) -> tuple[RustCrate, ...]:
    """Crates from the compressed ``.dep-v0`` payload."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(compressed, MAX_JSON + 1)
    except zlib.error as exc:
        raise RustAuditError("The cargo-auditable data is not valid zlib data.") from exc
    if len(raw) > MAX_JSON or inflater.unconsumed_tail:
        raise FormatLimitError("The cargo-auditable data inflates past the size limit.")
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise RustAuditError("The cargo-auditable data is not valid JSON.") from exc
    packages = doc.get("packages") if isinstance(doc, dict) else None
    if not isinstance(packages, list):
        raise RustAuditError("The cargo-auditable data has no package list.")
    if len(packages) > MAX_CRATES:
        raise FormatLimitError("The cargo-auditable data lists more crates than allowed.")
    crates = []
    for entry in packages:
        if not isinstance(entry, dict):
            raise RustAuditError("A cargo-auditable package entry is not an object.")
        name, version = entry.get("name"), entry.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or not name:
            raise RustAuditError("A cargo-auditable package has no name or version.")
        src = entry.get("source", "crates.io")
        kind = entry.get("kind", "runtime")
        deps = entry.get("dependencies", [])
        root = entry.get("root", False)
        if (
            not isinstance(src, str)
            or kind not in ("runtime", "build")
            or not isinstance(root, bool)
            or not isinstance(deps, list)
            or not all(
                isinstance(d, int) and not isinstance(d, bool) and 0 <= d < len(packages)
                for d in deps
            )
        ):
            raise RustAuditError(f"The cargo-auditable entry for crate {name[:64]!r} is malformed.")
        crates.append(RustCrate(name, version, src, kind, root, tuple(deps)))
    return tuple(crates)
