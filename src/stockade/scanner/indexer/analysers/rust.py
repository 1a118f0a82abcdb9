"""Rust: the crate list cargo-auditable embeds in executables, through
:mod:`stockade.scanner.indexer.rustaudit`."""

from __future__ import annotations

import logging

from stockade.model.index_report import Ecosystem, Package
from stockade.scanner.indexer import rustaudit
from stockade.scanner.indexer.analysers.base import PerFile, language_package
from stockade.scanner.indexer.format_errors import FormatError

logger = logging.getLogger(__name__)


class RustAnalyser(PerFile):
    name = "rust"
    version = "1"
    patterns: tuple[str, ...] = ()
    # binaries are handed over only when they contain this (checked while streaming)
    binary_markers = (b".dep-v0",)

    def parse(self, path: str, data: bytes) -> list[Package]:
        try:
            info = rustaudit.read_rust_audit(data)
        except FormatError as exc:
            logger.warning("rust binary %s unreadable: %s", path, exc)
            return []
        if info is None:
            return []
        return [
            language_package(self, Ecosystem.CARGO, c.name, c.version, path)
            for c in info.crates
            if c.kind == "runtime"
        ]
