"""Image sources behind one interface, and the manifest / config formats they share.

An :class:`ImageSource` resolves an image to its manifest digest, config blob and layer
descriptors, and opens blobs as raw byte streams. :func:`open_verified` wraps every blob so
that its size and digest are checked as it is read; nothing read from a blob is trusted (or
cached) until the stream has ended with the right digest.

Sources: :mod:`.oci_layout` (an OCI image layout directory), :mod:`.docker_archive`
(``docker save`` tars) and :mod:`.registry` (OCI distribution API v2). :func:`open_source`
picks one from a user's image reference.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Protocol

from stockade.model.index_report import ImageMetadata
from stockade.scanner.indexer.errors import BlobDigestError, ImageSourceError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``linux/arm64/v8`` -> Platform."""
        parts = text.strip().split("/")
        if len(parts) < 2 or not all(parts):
            raise ImageSourceError(f"Platform {text!r} is not of the form os/arch[/variant].")
        return cls(parts[0], parts[1], parts[2] if len(parts) > 2 else "")

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


DEFAULT_PLATFORM = Platform()


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResolvedImage:
    """An image pinned to one manifest: what the Indexer needs before reading layers."""

    name: str  # for messages and the report
    manifest_digest: str
    config: bytes
    layers: tuple[Descriptor, ...]


class ImageSource(Protocol):
    """Where an image's blobs come from."""

    name: str

    def resolve(self) -> ResolvedImage: ...

    def open_blob(self, desc: Descriptor) -> IO[bytes]:
        """The blob's raw bytes, unverified (wrap with :func:`open_verified`)."""
        ...

    def close(self) -> None: ...


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest(digest: str, image: str) -> str:
    """Return the hex part of a ``sha256:<64 hex>`` digest, or raise."""
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise ImageSourceError(f"Image {image} refers to an unsupported digest {digest[:80]!r}.")
    return hexpart


def verify_bytes(data: bytes, digest: str, image: str, what: str) -> bytes:
    check_digest(digest, image)
    if sha256_digest(data) != digest:
        raise BlobDigestError(f"Image {image}: the {what} {digest} does not match its digest.")
    return data


class VerifyingReader:
    """A read-only stream that hashes what passes through and checks it at end of file.

    Raises :class:`BlobDigestError` from ``read`` when the stream ends with the wrong digest or
    size, so a consumer that reads to the end can never act on a tampered blob.
    """

    def __init__(self, raw: IO[bytes], digest: str, size: int, image: str, what: str) -> None:
        check_digest(digest, image)
        self._raw = raw
        self._digest = digest
        self._size = size
        self._image = image
        self._what = what
        self._hash = hashlib.sha256()
        self._seen = 0
        self.verified = False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.verified:
            return b""
        data = self._raw.read(n) if n is not None and n >= 0 else self._raw.read()
        if data:
            self._seen += len(data)
            if self._size >= 0 and self._seen > self._size:
                raise BlobDigestError(
                    f"Image {self._image}: the {self._what} {self._digest} is larger than its "
                    f"descriptor says ({self._size} bytes)."
                )
            self._hash.update(data)
        if not data or (n is not None and n < 0):
            self._finish()
        return data

    def readinto(self, buf: bytearray | memoryview) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        """Read to the end (verifying); for consumers that stop early."""
        while self.read(1 << 20):
            pass

    def _finish(self) -> None:
        if self.verified:
            return
        got = "sha256:" + self._hash.hexdigest()
        if got != self._digest or (self._size >= 0 and self._seen != self._size):
            raise BlobDigestError(
                f"Image {self._image}: the {self._what} {self._digest} does not match its "
                "digest (content was altered or truncated)."
            )
        self.verified = True

    def close(self) -> None:
        self._raw.close()


def _platform(obj: object) -> Platform | None:
    if not isinstance(obj, dict):
        return None
    return Platform(
        str(obj.get("os", "")), str(obj.get("architecture", "")), str(obj.get("variant", ""))
    )


def parse_descriptor(obj: object, image: str) -> Descriptor:
    if not isinstance(obj, dict):
        raise ImageSourceError(f"Image {image} has a malformed descriptor.")
    try:
        digest = str(obj["digest"])
        size = int(obj.get("size", -1))
    except (KeyError, TypeError, ValueError) as exc:
        raise ImageSourceError(f"Image {image} has a descriptor without a digest.") from exc
    check_digest(digest, image)
    ann = obj.get("annotations")
    return Descriptor(
        media_type=str(obj.get("mediaType", "")),
        digest=digest,
        size=size,
        platform=_platform(obj.get("platform")),
        annotations={str(k): str(v) for k, v in ann.items()} if isinstance(ann, dict) else {},
    )


def load_json(data: bytes, image: str, what: str) -> dict[str, object]:
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImageSourceError(f"Image {image}: the {what} is not valid JSON.") from exc
    if not isinstance(obj, dict):
        raise ImageSourceError(f"Image {image}: the {what} is not a JSON object.")
    return obj


def media_type_of(doc: Mapping[str, object], fallback: str = "") -> str:
    mt = doc.get("mediaType")
    if isinstance(mt, str) and mt:
        return mt
    if "manifests" in doc:
        return OCI_INDEX
    if "layers" in doc or "config" in doc:
        return OCI_MANIFEST
    return fallback


def select_platform(manifests: list[Descriptor], platform: Platform, image: str) -> Descriptor:
    """Pick the manifest for ``platform`` from an image index / manifest list."""

    def matches(d: Descriptor, strict_variant: bool) -> bool:
        p = d.platform
        if p is None or p.os != platform.os or p.architecture != platform.architecture:
            return False
        if platform.variant:
            return p.variant == platform.variant
        return not strict_variant or p.variant in ("", "v8" if p.architecture == "arm64" else "")

    for strict in (True, False):
        for d in manifests:
            if matches(d, strict):
                return d
    have = ", ".join(sorted({str(d.platform) for d in manifests if d.platform})) or "none"
    raise ImageSourceError(
        f"Image {image} has no manifest for platform {platform} (it has: {have})."
    )


def parse_manifest(data: bytes, image: str) -> tuple[Descriptor, tuple[Descriptor, ...]]:
    """(config descriptor, layer descriptors) of an image manifest."""
    doc = load_json(data, image, "manifest")
    mt = media_type_of(doc)
    if mt not in MANIFEST_TYPES:
        raise ImageSourceError(f"Image {image} has an unsupported manifest type {mt!r}.")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise ImageSourceError(f"Image {image}: the manifest lists no layers.")
    return parse_descriptor(doc.get("config"), image), tuple(
        parse_descriptor(x, image) for x in layers
    )


def diff_ids(config: bytes, image: str) -> tuple[str, ...]:
    doc = load_json(config, image, "config")
    rootfs = doc.get("rootfs")
    ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(ids, list):
        raise ImageSourceError(f"Image {image}: the config has no rootfs.diff_ids.")
    out = tuple(str(x) for x in ids)
    for d in out:
        check_digest(d, image)
    return out


def _str_list(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, str) and value:
        return (value,)
    return ()


def _history_line(created_by: str) -> str:
    """``/bin/sh -c #(nop) CMD ["x"]`` -> ``CMD ["x"]``; ``/bin/sh -c apt-get ..`` -> ``RUN ..``."""
    text = created_by.strip()
    for prefix in ("/bin/sh -c #(nop) ", "/bin/sh -c #(nop)"):
        if text.startswith(prefix):
            return text[len(prefix) :].strip()
    if text.startswith("/bin/sh -c "):
        return "RUN " + text[len("/bin/sh -c ") :].strip()
    if text.startswith("|"):  # buildkit RUN with build args: "|2 A=b B=c /bin/sh -c ..."
        _, _, rest = text.partition("/bin/sh -c ")
        return "RUN " + rest.strip() if rest else text
    return text


def image_metadata(config: bytes, image: str) -> ImageMetadata:
    doc = load_json(config, image, "config")
    cfg = doc.get("config")
    c: dict[str, object] = cfg if isinstance(cfg, dict) else {}
    labels = c.get("Labels")
    ports = c.get("ExposedPorts")
    history: list[str] = []
    hist = doc.get("history")
    if isinstance(hist, list):
        for h in hist:
            if isinstance(h, dict) and isinstance(h.get("created_by"), str):
                history.append(_history_line(str(h["created_by"])))
    return ImageMetadata(
        created=str(doc.get("created") or ""),
        user=str(c.get("User") or ""),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items()))
        if isinstance(labels, dict)
        else (),
        exposed_ports=tuple(sorted(str(p) for p in ports)) if isinstance(ports, dict) else (),
        env=_str_list(c.get("Env")),
        entrypoint=_str_list(c.get("Entrypoint")),
        cmd=_str_list(c.get("Cmd")),
        working_dir=str(c.get("WorkingDir") or ""),
        os=str(doc.get("os") or ""),
        architecture=str(doc.get("architecture") or ""),
        history=tuple(history),
    )
