"""Offline vulnerability bundles: every source's records in one file, for air-gapped Matchers.

A bundle is a zip archive holding ``manifest.json`` and one ``records/<source>.jsonl.gz`` per
source (one JSON record per line, gzip-compressed; stored uncompressed in the zip). The
manifest lists, per source, its fingerprint in the exporting store, the record count and the
SHA-256 of its member:

    {"format": "stockade-vulnerability-bundle", "version": 1, "created": "...",
     "sources": [{"name": "alpine", "file": "records/alpine.jsonl.gz", "sha256": "...",
                  "records": 12018, "fingerprint": "..."}]}

Importing treats each source in the bundle as a source of its own (``BundleSourceUpdater``),
so the store's usual rules hold: a member with a wrong checksum or a malformed record fails
that source only, with a message naming the member and line, and its previous data stays;
importing the same bundle twice reports every source unchanged.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stockade.model.vulnerability import Vulnerability
from stockade.scanner.matcher.errors import BundleError
from stockade.scanner.matcher.sources.base import Fetched, FetchResult, Unchanged
from stockade.scanner.matcher.sources.errors import ChecksumError, ParseError
from stockade.scanner.matcher.store import VulnerabilityStore

FORMAT = "stockade-vulnerability-bundle"
VERSION = 1
MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class BundleEntry:
    name: str
    file: str
    sha256: str
    records: int
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Manifest:
    created: str
    sources: tuple[BundleEntry, ...]


def export_bundle(
    store: VulnerabilityStore, out: Path, sources: list[str] | None = None
) -> Manifest:
    """Write every stored source (or the named ones) into one bundle file at ``out``."""
    states = {s.name: s for s in store.sources()}
    names = sources if sources is not None else sorted(states)
    missing = [n for n in names if n not in states]
    if missing:
        raise BundleError(f"the store holds no data for {', '.join(missing)}")
    entries: list[BundleEntry] = []
    tmp = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in names:
            member = f"records/{name}.jsonl.gz"
            buf = io.BytesIO()
            count = 0
            with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
                for rec in store.records(name):
                    gz.write(rec.to_json().encode() + b"\n")
                    count += 1
            data = buf.getvalue()
            zf.writestr(member, data)
            entries.append(
                BundleEntry(
                    name=name,
                    file=member,
                    sha256=hashlib.sha256(data).hexdigest(),
                    records=count,
                    fingerprint=states[name].fingerprint,
                )
            )
        manifest = Manifest(created=datetime.now(UTC).isoformat(), sources=tuple(entries))
        zf.writestr(MANIFEST, json.dumps(_manifest_dict(manifest), indent=1, sort_keys=True))
    tmp.replace(out)
    return manifest


def read_manifest(path: Path) -> Manifest:
    """The manifest of a bundle file; raises BundleError when it is not a valid bundle."""
    try:
        with zipfile.ZipFile(path) as zf:
            raw = json.loads(zf.read(MANIFEST))
    except FileNotFoundError as exc:
        raise BundleError(f"bundle {path} does not exist") from exc
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise BundleError(f"{path.name} is not a readable vulnerability bundle ({exc})") from exc
    try:
        if raw["format"] != FORMAT or int(raw["version"]) != VERSION:
            raise BundleError(
                f"{path.name}: unsupported bundle format {raw['format']!r} "
                f"version {raw['version']!r}"
            )
        return Manifest(
            created=str(raw["created"]),
            sources=tuple(
                BundleEntry(
                    name=str(s["name"]),
                    file=str(s["file"]),
                    sha256=str(s["sha256"]),
                    records=int(s["records"]),
                    fingerprint=str(s.get("fingerprint", "")),
                )
                for s in raw["sources"]
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{path.name}: the manifest is malformed ({exc})") from exc


class BundleSourceUpdater:
    """One source's records out of a bundle, behind the same protocol as upstream sources."""

    def __init__(self, bundle: Path, entry: BundleEntry) -> None:
        self.bundle = bundle
        self.entry = entry
        self.name = entry.name

    def fetch(self, fingerprint: str, workdir: Path) -> FetchResult:
        new_fp = json.dumps({"bundle_sha256": self.entry.sha256})
        if fingerprint == new_fp:
            return Unchanged(new_fp)
        try:
            with zipfile.ZipFile(self.bundle) as zf:
                data = zf.read(self.entry.file)
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise ParseError(
                self.name, self.entry.file, "", f"missing from bundle ({exc})"
            ) from exc
        got = hashlib.sha256(data).hexdigest()
        if got != self.entry.sha256:
            raise ChecksumError(self.name, self.entry.file, self.entry.sha256, got)
        workdir.mkdir(parents=True, exist_ok=True)
        target = workdir / Path(self.entry.file).name
        target.write_bytes(data)
        return Fetched(target, new_fp)

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        count = 0
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                for lineno, line in enumerate(fh, 1):
                    try:
                        rec = Vulnerability.from_dict(json.loads(line))
                    except (KeyError, TypeError, ValueError) as exc:
                        raise ParseError(
                            self.name, self.entry.file, f"line {lineno}", f"malformed ({exc})"
                        ) from exc
                    if rec.source != self.name:
                        raise ParseError(
                            self.name,
                            self.entry.file,
                            f"line {lineno}",
                            f"belongs to source {rec.source!r}",
                        )
                    count += 1
                    yield rec
        except (OSError, EOFError) as exc:
            raise ParseError(
                self.name, self.entry.file, "", f"truncated or corrupt ({exc})"
            ) from exc
        if count != self.entry.records:
            raise ParseError(
                self.name,
                self.entry.file,
                "",
                f"holds {count} records, the manifest says {self.entry.records}",
            )


def bundle_updaters(path: Path) -> list[BundleSourceUpdater]:
    manifest = read_manifest(path)
    return [BundleSourceUpdater(path, entry) for entry in manifest.sources]


def _manifest_dict(m: Manifest) -> dict[str, object]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": m.created,
        "sources": [
            {
                "name": e.name,
                "file": e.file,
                "sha256": e.sha256,
                "records": e.records,
                "fingerprint": e.fingerprint,
            }
            for e in m.sources
        ],
    }
