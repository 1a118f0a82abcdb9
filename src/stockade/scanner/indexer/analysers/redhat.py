"""Red Hat content manifests: the repositories an image's RPMs came from.

Red Hat builds write ``root/buildinfo/content_manifests/<component>.json`` into the layer they
build; its ``content_sets`` are repository ids (e.g. ``rhel-8-for-x86_64-baseos-rpms``). The
engine attaches them to the rpm packages introduced by the same layer; the Matcher maps them
to CPEs. Catalog images are recognised by name and labels (:func:`is_red_hat_image`).
"""

from __future__ import annotations

import json

from stockade.model.index_report import ImageMetadata
from stockade.scanner.indexer.analysers.base import Files


class ContentManifestAnalyser:
    name = "rhel-content-manifest"
    version = "1"
    patterns = (r"root/buildinfo/content_manifests/[^/]+\.json",)

    def analyse(self, files: Files) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for path, data in files.items():
            try:
                doc = json.loads(data)
            except (ValueError, UnicodeDecodeError):
                out[path] = []
                continue
            sets = doc.get("content_sets") if isinstance(doc, dict) else None
            out[path] = (
                [str(s) for s in sets if isinstance(s, str)] if isinstance(sets, list) else []
            )
        return out


# Registries that serve Red Hat's own catalog (partner images live elsewhere).
RED_HAT_REGISTRIES = frozenset({"registry.redhat.io", "registry.access.redhat.com"})


def is_red_hat_image(metadata: ImageMetadata, image_name: str = "") -> bool:
    """A Red Hat catalog image: pulled from Red Hat's catalog registries, or labelled by Red
    Hat as one (vendor says Red Hat and a Red Hat component or licence-terms label)."""
    host = image_name.split("/", 1)[0].lower() if "/" in image_name else ""
    if host in RED_HAT_REGISTRIES:
        return True
    vendor = metadata.label("vendor") or ""
    return vendor.startswith("Red Hat") and bool(
        metadata.label("com.redhat.component") or metadata.label("com.redhat.license_terms")
    )
