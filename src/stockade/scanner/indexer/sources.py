"""Pick an image source from a user's reference.

``oci:DIR[:TAG]`` is an OCI image layout, ``docker-archive:FILE[:REPO:TAG]`` a ``docker save``
tar, anything else a registry reference ``host[:port]/repository[:tag][@digest]``.
"""

from __future__ import annotations

from pathlib import Path

from stockade.scanner.indexer.docker_archive import DockerArchiveSource
from stockade.scanner.indexer.image import DEFAULT_PLATFORM, ImageSource, Platform
from stockade.scanner.indexer.oci_layout import OCILayoutSource
from stockade.scanner.indexer.registry import RegistryOptions, RegistrySource


def _split_path(rest: str) -> tuple[Path, str]:
    """``DIR:TAG`` -> (DIR, TAG) when DIR exists without the suffix."""
    path = Path(rest)
    if path.exists():
        return path, ""
    head, sep, tag = rest.partition(":")
    if sep and Path(head).exists():
        return Path(head), tag
    return path, ""


def open_source(
    reference: str,
    *,
    platform: Platform = DEFAULT_PLATFORM,
    registry: RegistryOptions | None = None,
) -> ImageSource:
    if reference.startswith("oci:"):
        path, tag = _split_path(reference[4:])
        return OCILayoutSource(path, tag, platform)
    if reference.startswith("docker-archive:"):
        path, tag = _split_path(reference[len("docker-archive:") :])
        return DockerArchiveSource(path, tag)
    return RegistrySource(reference, registry, platform)
