"""dpkg: ``var/lib/dpkg/status`` and distroless ``var/lib/dpkg/status.d/*``."""

from __future__ import annotations

import re

from stockade.model.index_report import Ecosystem, Package
from stockade.scanner.indexer.analysers.base import PerFile, os_package, paragraphs

# dpkg states in which the package's files are on disk ("config-files" and "not-installed"
# leave at most configuration behind). An unconfigured package is still code in the image.
ON_DISK = frozenset(
    {"installed", "unpacked", "half-configured", "triggers-awaited", "triggers-pending"}
)
_SOURCE = re.compile(r"^(\S+)(?:\s+\(([^)]+)\))?$")


class DpkgAnalyser(PerFile):
    name = "dpkg"
    version = "2"
    patterns = (
        r"var/lib/dpkg/status",
        r"var/lib/dpkg/status\.d/[^/]+(?<!\.md5sums)",
    )

    def parse(self, path: str, data: bytes) -> list[Package]:
        distroless = "/status.d/" in path
        out = []
        for para in paragraphs(data.decode("utf-8", "replace")):
            name, version = para.get("Package", ""), para.get("Version", "")
            if not name or not version:
                continue
            status = para.get("Status", "").split()
            if not distroless and (len(status) < 3 or status[2] not in ON_DISK):
                continue
            source_name, source_version = name, version
            m = _SOURCE.match(para.get("Source", ""))
            if m:
                source_name = m.group(1)
                source_version = m.group(2) or version
            out.append(
                os_package(
                    self,
                    Ecosystem.DEB,
                    name,
                    version,
                    path,
                    arch=para.get("Architecture", ""),
                    source_name=source_name,
                    source_version=source_version,
                )
            )
        return out
