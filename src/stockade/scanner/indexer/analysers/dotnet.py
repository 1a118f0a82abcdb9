""".NET: ``*.deps.json`` next to applications (NuGet packages they were built with)."""

from __future__ import annotations

import json

from stockade.model.index_report import Ecosystem, Package
from stockade.scanner.indexer.analysers.base import PerFile, language_package


class DotnetAnalyser(PerFile):
    name = "dotnet"
    version = "1"
    patterns = (r"(?:.+/)?[^/]+\.deps\.json",)

    def parse(self, path: str, data: bytes) -> list[Package]:
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return []
        libraries = doc.get("libraries") if isinstance(doc, dict) else None
        if not isinstance(libraries, dict):
            return []
        out = []
        for key, entry in libraries.items():
            name, _, version = str(key).partition("/")
            kind = entry.get("type") if isinstance(entry, dict) else None
            if name and version and kind in ("package", "project"):
                out.append(language_package(self, Ecosystem.NUGET, name, version, path))
        return out
