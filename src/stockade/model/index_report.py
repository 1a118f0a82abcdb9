"""The index report: what an image contains, as the Indexer found it.

An index report names the image by its manifest digest and lists its layers, the
distribution(s) found, every OS and language package (each with the layer that introduced it
and the analyser that found it) and the image metadata from the config blob. The Matcher turns
it into a vulnerability report; Central and the CLI show it.

Everything here is a frozen dataclass; ``report_to_dict`` / ``report_from_dict`` give the JSON
shape stored in Scanner DB and printed by ``stockade scanner index --output json``.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import TypedDict, cast


class PackageKind(enum.StrEnum):
    """Where a package comes from: the OS package manager or a language ecosystem."""

    OS = "os"
    LANGUAGE = "language"


class Ecosystem(enum.StrEnum):
    """Package ecosystems; the values are the PURL types."""

    DEB = "deb"
    APK = "apk"
    RPM = "rpm"
    PYPI = "pypi"
    NPM = "npm"
    GEM = "gem"
    NUGET = "nuget"
    MAVEN = "maven"
    GOLANG = "golang"
    CARGO = "cargo"


class IndexState(enum.StrEnum):
    INDEXED = "IndexFinished"
    ERROR = "IndexError"


@dataclass(frozen=True, slots=True)
class Distribution:
    """An operating system release, as os-release (or an older release file) describes it."""

    did: str  # os-release ID: debian, ubuntu, alpine, rhel, ...
    name: str
    version: str = ""  # VERSION (human text), e.g. "12 (bookworm)"
    version_id: str = ""  # VERSION_ID, e.g. "12", "3.17", "8.6"
    version_codename: str = ""
    pretty_name: str = ""
    cpe: str = ""
    id_like: tuple[str, ...] = ()
    variant: str = ""  # "distroless" when found from dpkg status.d


@dataclass(frozen=True, slots=True)
class Package:
    """One installed package.

    ``layer`` is the diff_id of the layer that introduced it; ``path`` the file that records it
    (package database, metadata file or binary). ``repository_ids`` are Red Hat repository ids
    from the image's content manifests (rpm packages only).
    """

    name: str
    version: str
    kind: PackageKind
    ecosystem: Ecosystem
    purl: str
    path: str
    analyser: str
    analyser_version: str
    layer: str = ""
    source_name: str = ""
    source_version: str = ""
    arch: str = ""
    repository_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Layer:
    digest: str  # the blob digest (compressed, as in the manifest)
    diff_id: str  # the digest of the uncompressed tar, from the config
    media_type: str = ""
    size: int = 0


@dataclass(frozen=True, slots=True)
class ImageMetadata:
    """The parts of the image config blob that policies look at."""

    created: str = ""
    user: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    exposed_ports: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    working_dir: str = ""
    os: str = ""
    architecture: str = ""
    history: tuple[str, ...] = ()  # Dockerfile-style lines, oldest first

    def label(self, key: str) -> str | None:
        for k, v in self.labels:
            if k == key:
                return v
        return None


@dataclass(frozen=True, slots=True)
class IndexReport:
    manifest_digest: str
    image: str = ""  # the reference the user gave, for display
    state: IndexState = IndexState.INDEXED
    metadata: ImageMetadata = field(default_factory=ImageMetadata)
    layers: tuple[Layer, ...] = ()
    distributions: tuple[Distribution, ...] = ()
    packages: tuple[Package, ...] = ()
    red_hat_image: bool = False  # a Red Hat catalog image (by name and labels)
    errors: tuple[str, ...] = ()

    @property
    def distribution(self) -> Distribution | None:
        return self.distributions[0] if self.distributions else None


class ReportDict(TypedDict):
    manifest_digest: str
    image: str
    state: str
    metadata: dict[str, object]
    layers: list[dict[str, object]]
    distributions: list[dict[str, object]]
    packages: list[dict[str, object]]
    red_hat_image: bool
    errors: list[str]


def report_to_dict(report: IndexReport) -> ReportDict:
    """The JSON-ready form of a report (lists for tuples, strings for enums)."""
    return cast(ReportDict, _plain(asdict(report)))


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _strs(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(v) for v in value)


def distribution_from_dict(d: dict[str, object]) -> Distribution:
    return Distribution(
        did=str(d["did"]),
        name=str(d.get("name", "")),
        version=str(d.get("version", "")),
        version_id=str(d.get("version_id", "")),
        version_codename=str(d.get("version_codename", "")),
        pretty_name=str(d.get("pretty_name", "")),
        cpe=str(d.get("cpe", "")),
        id_like=_strs(d.get("id_like")),
        variant=str(d.get("variant", "")),
    )


_KINDS = {k.value: k for k in PackageKind}
_ECOSYSTEMS = {e.value: e for e in Ecosystem}


def package_from_dict(d: dict[str, object]) -> Package:
    # The warm path decodes hundreds of these per report: plain lookups, no per-field str().
    get = d.get
    repos = get("repository_ids")
    return Package(
        name=cast(str, d["name"]),
        version=cast(str, d["version"]),
        kind=_KINDS[cast(str, d["kind"])],
        ecosystem=_ECOSYSTEMS[cast(str, d["ecosystem"])],
        purl=cast(str, d["purl"]),
        path=cast(str, d["path"]),
        analyser=cast(str, d["analyser"]),
        analyser_version=cast(str, d["analyser_version"]),
        layer=cast(str, get("layer", "")),
        source_name=cast(str, get("source_name", "")),
        source_version=cast(str, get("source_version", "")),
        arch=cast(str, get("arch", "")),
        repository_ids=tuple(cast(list[str], repos)) if repos else (),
    )


def report_from_dict(d: ReportDict) -> IndexReport:
    m = d["metadata"]
    labels = m.get("labels")
    metadata = ImageMetadata(
        created=str(m.get("created", "")),
        user=str(m.get("user", "")),
        labels=tuple((str(p[0]), str(p[1])) for p in (labels if isinstance(labels, list) else [])),
        exposed_ports=_strs(m.get("exposed_ports")),
        env=_strs(m.get("env")),
        entrypoint=_strs(m.get("entrypoint")),
        cmd=_strs(m.get("cmd")),
        working_dir=str(m.get("working_dir", "")),
        os=str(m.get("os", "")),
        architecture=str(m.get("architecture", "")),
        history=_strs(m.get("history")),
    )
    return IndexReport(
        manifest_digest=d["manifest_digest"],
        image=d.get("image", ""),
        state=IndexState(d.get("state", IndexState.INDEXED.value)),
        metadata=metadata,
        layers=tuple(
            Layer(
                digest=str(x["digest"]),
                diff_id=str(x["diff_id"]),
                media_type=str(x.get("media_type", "")),
                size=int(cast(int, x.get("size", 0))),
            )
            for x in d["layers"]
        ),
        distributions=tuple(distribution_from_dict(x) for x in d["distributions"]),
        packages=tuple(package_from_dict(x) for x in d["packages"]),
        red_hat_image=bool(d.get("red_hat_image", False)),
        errors=tuple(d.get("errors", [])),
    )
