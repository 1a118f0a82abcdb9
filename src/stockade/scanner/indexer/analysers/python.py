"""Python: installed distributions (``*.dist-info/METADATA``, ``*.egg-info``) anywhere."""

from __future__ import annotations

import re
from email.parser import BytesHeaderParser

from stockade.model.index_report import Ecosystem, Package
from stockade.scanner.indexer.analysers.base import PerFile, language_package

_NORMALISE = re.compile(r"[-_.]+")


class PythonAnalyser(PerFile):
    name = "python"
    version = "1"
    patterns = (
        r"(?:.+/)?[^/]+\.dist-info/METADATA",
        r"(?:.+/)?[^/]+\.egg-info/PKG-INFO",
        r"(?:.+/)?[^/]+\.egg-info",
    )

    def parse(self, path: str, data: bytes) -> list[Package]:
        headers = BytesHeaderParser().parsebytes(data)
        name, version = headers.get("Name"), headers.get("Version")
        if not name or not version:
            return []
        name, version = str(name).strip(), str(version).strip()
        purl_name = _NORMALISE.sub("-", name).lower()
        return [language_package(self, Ecosystem.PYPI, name, version, path, purl_name=purl_name)]
