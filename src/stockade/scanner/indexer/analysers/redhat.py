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


def is_red_hat_image(metadata: ImageMetadata) -> bool:
    """A Red Hat catalog image: its vendor label says Red Hat and it carries a component label."""
    vendor = metadata.label("vendor") or ""
    return vendor.startswith("Red Hat") and bool(
        metadata.label("com.redhat.component") or metadata.label("com.redhat.license_terms")
    )
