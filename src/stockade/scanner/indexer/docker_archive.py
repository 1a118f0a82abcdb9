"""A ``docker save`` tar (docker-archive) as an image source.

The archive's ``manifest.json`` names the config and the layer tars. Classic archives hold
uncompressed layers named by content; newer ones hold an OCI ``blobs/sha256`` tree. Either
way the layer reader checks each layer against the config's diff_id, and members named by a
digest are checked against that digest too.

A docker-archive has no registry manifest, so the report's manifest digest is synthesised:
the sha256 of a canonical JSON document of the config digest and the diff_ids. The same image
saved twice therefore gets the same key.
"""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path
from typing import IO

from stockade.scanner.indexer.errors import ImageNotFoundError, ImageSourceError
from stockade.scanner.indexer.image import (
    MAX_CONFIG_BYTES,
    MAX_MANIFEST_BYTES,
    Descriptor,
    ResolvedImage,
    diff_ids,
    sha256_digest,
)

_BLOB_NAME = re.compile(r"(?:^|/)(?:blobs/sha256/)?([0-9a-f]{64})(?:\.tar|/layer\.tar)?$")
UNCOMPRESSED_TAR = "application/vnd.docker.image.rootfs.diff.tar"


class DockerArchiveSource:
    def __init__(self, path: Path, tag: str = "") -> None:
        self.path = path
        self.tag = tag
        self.name = f"docker-archive:{path}" + (f":{tag}" if tag else "")
        self._tar: tarfile.TarFile | None = None
        self._members: dict[str, tarfile.TarInfo] = {}

    def _open(self) -> tarfile.TarFile:
        if self._tar is None:
            try:
                self._tar = tarfile.open(self.path, mode="r:")  # noqa: SIM115
            except (OSError, tarfile.TarError) as exc:
                raise ImageNotFoundError(
                    f"Image {self.name}: {self.path} is not a readable docker-archive tar."
                ) from exc
            self._members = {m.name.removeprefix("./"): m for m in self._tar.getmembers()}
        return self._tar

    def _read_member(self, name: str, limit: int, what: str) -> bytes:
        tar = self._open()
        member = self._members.get(name.removeprefix("./"))
        if member is None or not member.isfile():
            raise ImageNotFoundError(f"Image {self.name}: the archive has no {what} ({name}).")
        if member.size > limit:
            raise ImageSourceError(f"Image {self.name}: the {what} is too large.")
        fh = tar.extractfile(member)
        assert fh is not None
        return fh.read()

    def resolve(self) -> ResolvedImage:
        raw = self._read_member("manifest.json", MAX_MANIFEST_BYTES, "manifest.json")
        try:
            entries = json.loads(raw)
        except ValueError as exc:
            raise ImageSourceError(f"Image {self.name}: manifest.json is not valid JSON.") from exc
        if not isinstance(entries, list) or not entries:
            raise ImageSourceError(f"Image {self.name}: manifest.json lists no images.")
        entry = entries[0]
        if self.tag:
            want = self.tag if ":" in self.tag else f"{self.tag}:latest"
            found = [
                e for e in entries if isinstance(e, dict) and want in (e.get("RepoTags") or [])
            ]
            if not found:
                raise ImageNotFoundError(f"Image {self.name}: no image is tagged {want!r}.")
            entry = found[0]
        if not isinstance(entry, dict) or not isinstance(entry.get("Layers"), list):
            raise ImageSourceError(f"Image {self.name}: manifest.json entry is malformed.")
        config_name = str(entry.get("Config", ""))
        config = self._read_member(config_name, MAX_CONFIG_BYTES, "config")
        m = _BLOB_NAME.search(config_name.removesuffix(".json"))
        if m and sha256_digest(config) != f"sha256:{m.group(1)}":
            raise ImageSourceError(
                f"Image {self.name}: the config {config_name} does not match its digest."
            )
        ids = diff_ids(config, self.name)
        layer_names = [str(x) for x in entry["Layers"]]
        if len(layer_names) != len(ids):
            raise ImageSourceError(
                f"Image {self.name}: manifest.json lists {len(layer_names)} layers but the "
                f"config has {len(ids)} diff_ids."
            )
        layers = []
        for name, diff_id in zip(layer_names, ids, strict=True):
            member = self._members.get(name.removeprefix("./"))
            if member is None:
                raise ImageNotFoundError(f"Image {self.name}: layer {name} is missing.")
            layers.append(
                Descriptor(
                    media_type=UNCOMPRESSED_TAR,
                    digest=diff_id,
                    size=member.size,
                    annotations={"member": member.name},
                )
            )
        canonical = json.dumps(
            {"config": sha256_digest(config), "diff_ids": list(ids)}, sort_keys=True
        ).encode()
        return ResolvedImage(self.name, sha256_digest(canonical), config, tuple(layers))

    def open_blob(self, desc: Descriptor) -> IO[bytes]:
        tar = self._open()
        member = self._members.get(desc.annotations.get("member", "").removeprefix("./"))
        if member is None:
            raise ImageNotFoundError(f"Image {self.name}: layer {desc.digest} is missing.")
        fh = tar.extractfile(member)
        if fh is None:
            raise ImageSourceError(f"Image {self.name}: layer {member.name} is not a file.")
        return fh

    @property
    def blob_digests_known(self) -> bool:
        # Layer members are checked against the config's diff_ids by the layer reader.
        return False

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None
