"""Go: module build information embedded in executables (main module, dependencies and the
Go standard library version), through :mod:`stockade.scanner.indexer.gobinary`."""

from __future__ import annotations

import logging

from stockade.model.index_report import Ecosystem, Package
from stockade.scanner.indexer import gobinary
from stockade.scanner.indexer.analysers.base import PerFile, language_package
from stockade.scanner.indexer.format_errors import FormatError

logger = logging.getLogger(__name__)


class GoAnalyser(PerFile):
    name = "go"
    version = "2"  # 2: pre-1.18 32-bit layout read, replaced modules kept
    patterns: tuple[str, ...] = ()
    # binaries are handed over only when they contain this (checked while streaming)
    binary_markers = (gobinary.MAGIC,)

    def _pkg(self, module: str, version: str, path: str) -> Package:
        namespace, _, bare = module.rpartition("/")
        return language_package(
            self, Ecosystem.GOLANG, bare, version, path, namespace=namespace or None
        )

    def parse(self, path: str, data: bytes) -> list[Package]:
        try:
            info = gobinary.read_go_buildinfo(data)
        except FormatError as exc:
            logger.warning("go binary %s unreadable: %s", path, exc)
            return []
        if info is None:
            return []
        out = []
        if info.main is not None and info.main.path:
            out.append(self._pkg(info.main.path, info.main.version, path))
        for dep in info.deps:
            mod = dep.replace or dep
            out.append(self._pkg(mod.path, mod.version, path))
        if info.go_version:
            out.append(self._pkg("stdlib", info.go_version, path))
        return out
