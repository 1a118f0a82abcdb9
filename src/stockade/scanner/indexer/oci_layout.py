"""An OCI image layout directory (``index.json`` + ``blobs/sha256/...``) as an image source."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from stockade.scanner.indexer.errors import ImageNotFoundError, ImageSourceError
from stockade.scanner.indexer.image import (
    DEFAULT_PLATFORM,
    INDEX_TYPES,
    MAX_CONFIG_BYTES,
    MAX_MANIFEST_BYTES,
    Descriptor,
    Platform,
    ResolvedImage,
    check_digest,
    load_json,
    media_type_of,
    parse_descriptor,
    parse_manifest,
    select_platform,
    verify_bytes,
)

REF_NAME = "org.opencontainers.image.ref.name"


class OCILayoutSource:
    def __init__(self, path: Path, tag: str = "", platform: Platform = DEFAULT_PLATFORM) -> None:
        self.root = path
        self.tag = tag
        self.platform = platform
        self.name = f"oci:{path}" + (f":{tag}" if tag else "")

    def _blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / check_digest(digest, self.name)

    def _read_small(self, desc: Descriptor, limit: int, what: str) -> bytes:
        path = self._blob_path(desc.digest)
        try:
            size = path.stat().st_size
            if size > limit:
                raise ImageSourceError(f"Image {self.name}: the {what} is too large ({size} B).")
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise ImageNotFoundError(
                f"Image {self.name}: the {what} blob {desc.digest} is missing."
            ) from exc
        return verify_bytes(data, desc.digest, self.name, what)

    def resolve(self) -> ResolvedImage:
        try:
            index_bytes = (self.root / "index.json").read_bytes()
        except OSError as exc:
            raise ImageNotFoundError(
                f"Image {self.name}: {self.root} is not an OCI image layout (no index.json)."
            ) from exc
        index = load_json(index_bytes, self.name, "index.json")
        entries = index.get("manifests")
        if not isinstance(entries, list) or not entries:
            raise ImageNotFoundError(f"Image {self.name}: the layout lists no images.")
        descs = [parse_descriptor(e, self.name) for e in entries]
        if self.tag:
            descs = [d for d in descs if d.annotations.get(REF_NAME) == self.tag]
            if not descs:
                raise ImageNotFoundError(f"Image {self.name}: no image is tagged {self.tag!r}.")
        chosen = descs[0] if len(descs) == 1 else select_platform(descs, self.platform, self.name)
        for _ in range(4):  # nested indexes
            data = self._read_small(chosen, MAX_MANIFEST_BYTES, "manifest")
            doc = load_json(data, self.name, "manifest")
            if media_type_of(doc, chosen.media_type) not in INDEX_TYPES:
                config_desc, layers = parse_manifest(data, self.name)
                config = self._read_small(config_desc, MAX_CONFIG_BYTES, "config")
                return ResolvedImage(self.name, chosen.digest, config, layers)
            inner = doc.get("manifests")
            if not isinstance(inner, list):
                raise ImageSourceError(f"Image {self.name}: an image index lists no manifests.")
            chosen = select_platform(
                [parse_descriptor(e, self.name) for e in inner], self.platform, self.name
            )
        raise ImageSourceError(f"Image {self.name}: image indexes are nested too deeply.")

    def open_blob(self, desc: Descriptor) -> IO[bytes]:
        try:
            return self._blob_path(desc.digest).open("rb")
        except FileNotFoundError as exc:
            raise ImageNotFoundError(
                f"Image {self.name}: layer blob {desc.digest} is missing."
            ) from exc

    def close(self) -> None:
        pass
