"""Ruby: installed gem specifications (``specifications/*.gemspec``)."""

from __future__ import annotations

import posixpath
import re

from stockade.model.index_report import Ecosystem, Package
from stockade.scanner.indexer.analysers.base import PerFile, language_package

_NAME = re.compile(r"""\.name\s*=\s*["']([^"']+)["']""")
_VERSION = re.compile(r"""\.version\s*=\s*(?:Gem::Version\.new\()?\s*["']([^"']+)["']""")
_FILE = re.compile(r"^(.+)-(\d[^-]*)(?:-[^-]+)?\.gemspec$")


class RubyAnalyser(PerFile):
    name = "ruby"
    version = "1"
    patterns = (r"(?:.+/)?specifications/[^/]+\.gemspec",)

    def parse(self, path: str, data: bytes) -> list[Package]:
        text = data.decode("utf-8", "replace")
        name_m, version_m = _NAME.search(text), _VERSION.search(text)
        name = name_m.group(1) if name_m else ""
        version = version_m.group(1) if version_m else ""
        if not (name and version):
            file_m = _FILE.match(posixpath.basename(path))
            if not file_m:
                return []
            name, version = name or file_m.group(1), version or file_m.group(2)
        return [language_package(self, Ecosystem.GEM, name, version, path)]
