"""The analyser plugin contract.

An analyser names the files it needs (regular expressions full-matched against paths relative
to the image root, without a leading slash) and turns the matching files of ONE layer into
findings keyed by the path they came from. It never sees other layers: the engine merges the
per-layer results (whiteouts, later layers replacing files) and records which layer
introduced each finding. Every path handed to ``analyse`` must be a key of its result, with an
empty list when the file holds nothing, so that it masks what lower layers had there.

``name`` and ``version`` are stored with each cached result: bump ``version`` when the output
for the same input changes, and only that analyser's results are recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeVar

from packageurl import PackageURL

from stockade.model.index_report import Distribution, Ecosystem, Package, PackageKind

T = TypeVar("T")

Files = Mapping[str, bytes]


class Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...


class Analyser(Named, Protocol[T]):
    @property
    def patterns(self) -> tuple[str, ...]: ...

    def analyse(self, files: Files) -> dict[str, list[T]]: ...


class PerFile:
    """Mixin for analysers whose files are independent: ``analyse`` calls ``parse`` per file."""

    def parse(self, path: str, data: bytes) -> list[Package]:
        raise NotImplementedError

    def analyse(self, files: Files) -> dict[str, list[Package]]:
        return {path: self.parse(path, data) for path, data in files.items()}


PackageAnalyser = Analyser[Package]
DistributionDetector = Analyser[Distribution]
RepositoryAnalyser = Analyser[str]  # Red Hat repository ids per content manifest


def language_package(
    analyser: Named,
    ecosystem: Ecosystem,
    name: str,
    version: str,
    path: str,
    *,
    namespace: str | None = None,
    purl_name: str | None = None,
) -> Package:
    purl = PackageURL(
        type=ecosystem.value, namespace=namespace, name=purl_name or name, version=version
    ).to_string()
    full = f"{namespace}/{name}" if namespace else name
    return Package(
        name=full,
        version=version,
        kind=PackageKind.LANGUAGE,
        ecosystem=ecosystem,
        purl=purl,
        path=path,
        analyser=analyser.name,
        analyser_version=analyser.version,
    )


def os_package(
    analyser: Named,
    ecosystem: Ecosystem,
    name: str,
    version: str,
    path: str,
    *,
    arch: str = "",
    source_name: str = "",
    source_version: str = "",
) -> Package:
    """An OS package; its PURL gets the distribution namespace when the report is assembled."""
    return Package(
        name=name,
        version=version,
        kind=PackageKind.OS,
        ecosystem=ecosystem,
        purl=os_purl(ecosystem, name, version, arch, None),
        path=path,
        analyser=analyser.name,
        analyser_version=analyser.version,
        arch=arch,
        source_name=source_name or name,
        source_version=source_version or version,
    )


def os_purl(
    ecosystem: Ecosystem, name: str, version: str, arch: str, dist: Distribution | None
) -> str:
    qualifiers: dict[str, str] = {}
    if arch:
        qualifiers["arch"] = arch
    if dist is not None and dist.version_id:
        qualifiers["distro"] = f"{dist.did}-{dist.version_id}"
    return PackageURL(
        type=ecosystem.value,
        namespace=dist.did if dist is not None else None,
        name=name,
        version=version,
        qualifiers=qualifiers or None,
    ).to_string()


def paragraphs(text: str) -> list[dict[str, str]]:
    """RFC 822-style stanzas (dpkg status): ``Key: value`` with indented continuation lines."""
    out: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if cur:
                out.append(cur)
                cur, key = {}, ""
            continue
        if line[0] in " \t":
            if key:
                cur[key] += "\n" + line.strip()
            continue
        k, sep, v = line.partition(":")
        if sep:
            key = k.strip()
            cur[key] = v.strip()
    if cur:
        out.append(cur)
    return out
