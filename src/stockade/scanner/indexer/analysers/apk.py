"""apk: ``lib/apk/db/installed`` (Alpine, Wolfi, Chainguard)."""

from __future__ import annotations

from stockade.model.index_report import Ecosystem, Package
from stockade.scanner.indexer.analysers.base import PerFile, os_package


class ApkAnalyser(PerFile):
    name = "apk"
    version = "1"
    patterns = (r"lib/apk/db/installed",)

    def parse(self, path: str, data: bytes) -> list[Package]:
        out = []
        for block in data.decode("utf-8", "replace").split("\n\n"):
            fields: dict[str, str] = {}
            for line in block.splitlines():
                key, sep, value = line.partition(":")
                if sep and len(key) == 1 and key not in fields:
                    fields[key] = value
            name, version = fields.get("P", ""), fields.get("V", "")
            if name and version:
                out.append(
                    os_package(
                        self,
                        Ecosystem.APK,
                        name,
                        version,
                        path,
                        arch=fields.get("A", ""),
                        source_name=fields.get("o", name),
                        source_version=version,
                    )
                )
        return out
