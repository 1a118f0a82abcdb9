"""Java artifacts in jar/war/ear archives, including nested and shaded jars.

For each archive (and, recursively, each archive inside it) the artifacts come from, in order
of trust:

1. ``META-INF/maven/<groupId>/<artifactId>/pom.properties``: one artifact per file. The one
   whose artifactId the archive's file name starts with (or the only one) describes the
   archive itself; the others were shaded into it and are marked ``embedded``.
2. ``META-INF/MANIFEST.MF`` main section when no pom.properties describes the archive:
   ``Implementation-Version`` / ``Bundle-Version`` / ``Specification-Version`` with the name
   from the file name, else ``Bundle-SymbolicName`` / ``Implementation-Title``.
3. The file name (``commons-text-1.9.jar``) when neither says more.

Each artifact records where it was found: ``store.ear!/shop.war!/WEB-INF/lib/x.jar``.
Nesting depth, entry counts, the size of every inflated member and the total inflated bytes
are bounded, so zip bombs and archives nested without end stop with ``FormatLimitError``.
"""

from __future__ import annotations

import io
import logging
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from stockade.scanner.indexer.format_errors import FormatLimitError, JavaArchiveError

logger = logging.getLogger(__name__)

NAME = "java"
VERSION = "1"

ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".sar", ".jpi", ".hpi", ".par", ".nar", ".kar")

ArtifactSource = Literal["pom.properties", "manifest", "filename"]


@dataclass(frozen=True)
class JavaLimits:
    max_depth: int = 4
    max_entries: int = 100_000
    max_member_bytes: int = 1 << 20
    """pom.properties and MANIFEST.MF."""
    max_nested_bytes: int = 256 << 20
    """One nested archive, inflated."""
    max_total_bytes: int = 1 << 30
    """Everything inflated while reading one top-level archive."""


@dataclass(frozen=True)
class JavaArtifact:
    group_id: str
    artifact_id: str
    version: str
    path: str
    """The archive the artifact was found in, nested ones joined by ``!/``."""
    source: ArtifactSource
    embedded: bool = False
    """True for a shaded dependency described inside another artifact's archive."""


@dataclass(frozen=True)
class Manifest:
    main: dict[str, str]
    """Main-section attributes, keys as written (look-ups via :meth:`get` ignore case)."""
    sections: tuple[dict[str, str], ...] = ()

    def get(self, key: str) -> str:
        wanted = key.lower()
        for k, v in self.main.items():
            if k.lower() == wanted:
                return v
        return ""


@dataclass
class _Budget:
    limits: JavaLimits
    strict: bool
    inflated: int = 0
    seen: list[str] = field(default_factory=list)

    def charge(self, n: int) -> None:
        self.inflated += n
        if self.inflated > self.limits.max_total_bytes:
            raise FormatLimitError("The Java archive inflates past the total size limit.")


JavaSource = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO


def read_java_archive(
    source: JavaSource,
    path: str | None = None,
    *,
    limits: JavaLimits | None = None,
    strict: bool = False,
) -> list[JavaArtifact]:
    """Every artifact in a Java archive and the archives nested inside it.

    ``path`` names the archive in results (defaults to the file name of a path source). A
    damaged nested archive is logged and skipped (its siblings are still read) unless
    ``strict``; a damaged top-level archive and every limit always raise.
    """
    limits = limits or JavaLimits()
    if path is None:
        path = Path(source).name if isinstance(source, str | os.PathLike) else "archive.jar"
    budget = _Budget(limits, strict)
    out: list[JavaArtifact] = []
    if isinstance(source, bytes | bytearray | memoryview):
        fh: BinaryIO = io.BytesIO(bytes(source))
        _walk(fh, path, 0, budget, out)
    elif isinstance(source, str | os.PathLike):
        try:
            with Path(source).open("rb") as f:
                _walk(f, path, 0, budget, out)
        except OSError as exc:
            raise JavaArchiveError(f"The Java archive {_short(path)} cannot be read.") from exc
    else:
        _walk(source, path, 0, budget, out)
    return out


def _short(path: str) -> str:
    return repr(path if len(path) <= 200 else "..." + path[-197:])


def _walk(fh: BinaryIO, path: str, depth: int, budget: _Budget, out: list[JavaArtifact]) -> None:
    limits = budget.limits
    try:
        with zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_entries:
                raise FormatLimitError(f"The Java archive {_short(path)} has too many entries.")
            manifest_text = ""
            poms: list[tuple[str, dict[str, str]]] = []
            nested: list[zipfile.ZipInfo] = []
            for info in infos:
                name = info.filename
                upper = name.upper()
                if upper == "META-INF/MANIFEST.MF":
                    manifest_text = _read_member(zf, info, limits.max_member_bytes, budget)
                elif name.endswith("/pom.properties") and "META-INF/maven/" in name:
                    text = _read_member(zf, info, limits.max_member_bytes, budget)
                    poms.append((name, parse_properties(text)))
                elif name.lower().endswith(ARCHIVE_SUFFIXES):  # (ZipInfo.is_dir fails on "")
                    nested.append(info)
            out.extend(identify(path, parse_manifest(manifest_text), poms))
            if depth >= limits.max_depth:
                if nested:
                    raise FormatLimitError(
                        f"The Java archive {_short(path)} nests archives deeper than allowed."
                    )
                return
            for info in nested:
                if info.file_size > limits.max_nested_bytes:
                    raise FormatLimitError(
                        f"A nested archive in {_short(path)} is larger than the size limit."
                    )
                data = _read_bytes(zf, info, limits.max_nested_bytes, budget)
                inner = f"{path}!/{info.filename}"
                try:
                    _walk(io.BytesIO(data), inner, depth + 1, budget, out)
                except JavaArchiveError as exc:
                    if budget.strict:
                        raise
                    logger.warning("Skipped a damaged nested archive: %s", exc)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
        raise JavaArchiveError(f"The Java archive {_short(path)} is not a valid zip file.") from exc
    except NotImplementedError as exc:
        raise JavaArchiveError(
            f"The Java archive {_short(path)} uses an unsupported compression method."
        ) from exc
    except RuntimeError as exc:  # encrypted members
        raise JavaArchiveError(f"The Java archive {_short(path)} has encrypted members.") from exc
    except (ValueError, IndexError, struct.error) as exc:  # zipfile's own parsing slips
        raise JavaArchiveError(f"The Java archive {_short(path)} is malformed.") from exc
    except OSError as exc:
        raise JavaArchiveError(f"The Java archive {_short(path)} cannot be read.") from exc


def _read_bytes(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, budget: _Budget) -> bytes:
    with zf.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise FormatLimitError(f"The archive member {info.filename[:100]!r} is too large.")
    budget.charge(len(data))
    return data


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, budget: _Budget) -> str:
    return _read_bytes(zf, info, limit, budget).decode("utf-8", "replace")


def parse_manifest(text: str) -> Manifest:
    """A JAR manifest: ``Name: value`` lines, continuation lines start with one space,
    sections separated by blank lines. Lines that are not attributes are ignored."""
    sections: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last: str | None = None
    for line in re.split(r"\r\n|\r|\n", text):
        if not line:
            if current:
                sections.append(current)
            current, last = {}, None
            continue
        if line.startswith(" "):
            if last is not None:
                current[last] += line[1:]
            continue
        key, sep, value = line.partition(":")
        if not sep or not key or " " in key:
            last = None
            continue
        if key.lower() == "name" and current and not sections:
            sections.append(current)  # a per-entry section begins even without a blank line
            current = {}
        last = key
        current[key] = value.lstrip(" ")
    if current:
        sections.append(current)
    if not sections:
        return Manifest({})
    return Manifest(sections[0], tuple(sections[1:]))


def parse_properties(text: str) -> dict[str, str]:
    """A Java .properties file, enough for pom.properties (``key=value`` / ``key: value``,
    ``#``/``!`` comments, backslash continuations)."""
    out: dict[str, str] = {}
    logical: list[str] = []
    lines = re.split(r"\r\n|\r|\n", text)
    i = 0
    while i < len(lines):
        line = lines[i].lstrip()
        i += 1
        if not line or line[0] in "#!":
            continue
        logical = [line]
        while logical[-1].endswith("\\") and not logical[-1].endswith("\\\\") and i < len(lines):
            logical[-1] = logical[-1][:-1]
            logical.append(lines[i].lstrip())
            i += 1
        full = "".join(logical)
        m = re.match(r"((?:[^=:\s\\]|\\.)+)\s*[=:\s]\s*(.*)$", full)
        if m:
            out[m.group(1).replace("\\", "")] = m.group(2).strip()
        else:
            out[full.strip()] = ""
    return out


_FILENAME = re.compile(
    r"^(?P<name>[A-Za-z0-9_.+-]+?)-(?P<version>\d[A-Za-z0-9_.+-]*)\.[A-Za-z]{3}$",
)


def parse_filename(filename: str) -> tuple[str, str] | None:
    """``commons-text-1.9.jar`` -> ("commons-text", "1.9"); None when there is no version."""
    base = filename.rsplit("/", 1)[-1]
    m = _FILENAME.match(base)
    if m is None:
        return None
    return m.group("name"), m.group("version")


def identify(
    path: str, manifest: Manifest, poms: list[tuple[str, dict[str, str]]]
) -> list[JavaArtifact]:
    """The artifacts one archive describes, from its manifest and pom.properties files
    (``(member name, properties)`` pairs), without looking at nested archives."""
    out: list[JavaArtifact] = []
    filename = path.rsplit("/", 1)[-1].rsplit("!", 1)[-1]
    from_name = parse_filename(filename)
    stem = filename.rsplit(".", 1)[0]
    complete = [
        (g, a, v)
        for _, props in poms
        if (g := props.get("groupId", "")) and (a := props.get("artifactId", ""))
        and (v := props.get("version", ""))
    ]  # fmt: skip
    own = None
    if len(complete) == 1:
        own = complete[0]
    else:
        matches = [c for c in complete if stem.startswith(f"{c[1]}-") or stem == c[1]]
        if matches:
            own = max(matches, key=lambda c: len(c[1]))
    if own is not None:
        out.append(JavaArtifact(own[0], own[1], own[2], path, "pom.properties"))
    else:
        found = _from_manifest(manifest, from_name)
        if found is not None:
            out.append(JavaArtifact(found[0], found[1], found[2], path, "manifest"))
        elif from_name is not None:
            out.append(JavaArtifact("", from_name[0], from_name[1], path, "filename"))
    for g, a, v in complete:
        if (g, a, v) != own:
            out.append(JavaArtifact(g, a, v, path, "pom.properties", embedded=True))
    return out


def _from_manifest(
    manifest: Manifest, from_name: tuple[str, str] | None
) -> tuple[str, str, str] | None:
    """(group, name, version) from the main section, or None without a usable version.

    Version preference: ``Implementation-Version`` (up to the first space: ``5.6.0 (b0)``),
    then the file name's version (Maven's own spelling, where ``Bundle-Version`` holds the
    OSGi-normalised ``27.0.0.jre`` for ``27.0-jre``), then ``Bundle-Version`` and
    ``Specification-Version``.
    """
    impl = manifest.get("Implementation-Version").split(" ", 1)[0]
    bundle = manifest.get("Bundle-Version")
    spec = manifest.get("Specification-Version")
    if not (impl or bundle or spec):
        return None
    version = impl or (from_name[1] if from_name is not None else "") or bundle or spec
    if from_name is not None:
        name = from_name[0]
    else:
        symbolic = manifest.get("Bundle-SymbolicName").split(";", 1)[0].strip()
        name = (
            symbolic
            or manifest.get("Implementation-Title")
            or manifest.get("Specification-Title")
            or manifest.get("Bundle-Name")
        )
    if not name:
        return None
    group = manifest.get("Implementation-Vendor-Id")
    return group, name, version
