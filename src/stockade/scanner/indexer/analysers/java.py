"""Java: jar/war/ear archives (nested and shaded), identified by pom.properties, MANIFEST.MF
or file name through :mod:`stockade.scanner.indexer.javaarchive`."""

from __future__ import annotations

import logging

from packageurl import PackageURL

from stockade.model.index_report import Ecosystem, Package, PackageKind
from stockade.scanner.indexer import javaarchive
from stockade.scanner.indexer.analysers.base import PerFile
from stockade.scanner.indexer.format_errors import FormatError

logger = logging.getLogger(__name__)


class JavaAnalyser(PerFile):
    name = "java"
    version = "2"  # 2: a damaged nested jar is skipped, its siblings still reported
    patterns = (r"(?:.+/)?[^/]+\.(?:jar|war|ear|jpi|hpi|par|sar|nar|kar)",)

    def parse(self, path: str, data: bytes) -> list[Package]:
        try:
            artifacts = javaarchive.read_java_archive(data, path)
        except FormatError as exc:
            logger.warning("java archive %s unreadable: %s", path, exc)
            return []
        out = []
        seen: set[tuple[str, str, str]] = set()
        for a in artifacts:
            key = (a.group_id, a.artifact_id, a.version)
            if not a.artifact_id or not a.version or key in seen:
                continue
            seen.add(key)
            purl = PackageURL(
                type="maven", namespace=a.group_id or None, name=a.artifact_id, version=a.version
            ).to_string()
            out.append(
                Package(
                    name=a.artifact_id,
                    version=a.version,
                    kind=PackageKind.LANGUAGE,
                    ecosystem=Ecosystem.MAVEN,
                    purl=purl,
                    path=a.path,
                    analyser=self.name,
                    analyser_version=self.version,
                    source_name=f"{a.group_id}:{a.artifact_id}" if a.group_id else "",
                )
            )
        return out
