"""Build small, exact OCI layouts in tests: layers from in-memory file trees."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import zstandard


@dataclass(frozen=True)
class Link:
    target: str
    hard: bool = False


@dataclass(frozen=True)
class Exe:
    data: bytes


Entry = bytes | Link | Exe | None  # None = directory
Tree = dict[str, Entry]


def with_parents(tree: Tree) -> Tree:
    """Add the directory entries real layers carry before their files."""
    out: Tree = {}
    for name, entry in tree.items():
        parts = name.strip("/").split("/")[:-1]
        if ".." not in parts and not name.startswith("/"):
            for i in range(1, len(parts) + 1):
                out.setdefault("/".join(parts[:i]) + "/", None)
        out[name] = entry
    return out


def tar_bytes(tree: Tree, *, parents: bool = True) -> bytes:
    if parents:
        tree = with_parents(tree)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, entry in tree.items():
            info = tarfile.TarInfo(name)
            info.mtime = 1_700_000_000
            if entry is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            elif isinstance(entry, Link):
                info.type = tarfile.LNKTYPE if entry.hard else tarfile.SYMTYPE
                info.linkname = entry.target
                tar.addfile(info)
            else:
                data = entry.data if isinstance(entry, Exe) else entry
                info.size = len(data)
                info.mode = 0o755 if isinstance(entry, Exe) else 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def compress(data: bytes, kind: str) -> bytes:
    if kind == "gzip":
        return gzip.compress(data, mtime=0)
    if kind == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


MEDIA = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "tar": "application/vnd.oci.image.layer.v1.tar",
}


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_blob(root: Path, data: bytes) -> str:
    d = _digest(data)
    path = root / "blobs" / "sha256" / d.split(":")[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return d


def make_layout(
    root: Path,
    layers: list[Tree | bytes],
    *,
    compression: str = "gzip",
    config_extra: dict[str, object] | None = None,
    tag: str = "test",
) -> Path:
    """An OCI layout at ``root`` with one image; a layer may be given as raw tar bytes."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    descs, diff_ids = [], []
    for layer in layers:
        raw = layer if isinstance(layer, bytes) else tar_bytes(layer)
        diff_ids.append(_digest(raw))
        blob = compress(raw, compression)
        descs.append(
            {"mediaType": MEDIA[compression], "digest": write_blob(root, blob), "size": len(blob)}
        )
    config: dict[str, object] = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    config.update(config_extra or {})
    cfg = json.dumps(config).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": write_blob(root, cfg),
                "size": len(cfg),
            },
            "layers": descs,
        }
    ).encode()
    mdigest = write_blob(root, manifest)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": mdigest,
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (root / "index.json").write_text(json.dumps(index))
    return root


OS_RELEASE_DEBIAN = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'


def dpkg_status(*pkgs: tuple[str, str]) -> bytes:
    out = []
    for name, version in pkgs:
        out.append(
            f"Package: {name}\nStatus: install ok installed\nArchitecture: amd64\n"
            f"Version: {version}\nDescription: test\n"
        )
    return "\n".join(out).encode()
