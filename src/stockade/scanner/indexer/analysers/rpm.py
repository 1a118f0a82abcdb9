"""rpm: the package database in any of its three formats (SQLite, Berkeley DB hash, NDB),
read in pure Python by :mod:`stockade.scanner.indexer.rpmdb`."""

from __future__ import annotations

import logging

from stockade.model.index_report import Ecosystem, Package
from stockade.scanner.indexer import rpmdb
from stockade.scanner.indexer.analysers.base import PerFile, os_package
from stockade.scanner.indexer.format_errors import FormatError

logger = logging.getLogger(__name__)

_DIRS = r"(?:var/lib/rpm|usr/lib/sysimage/rpm|usr/share/rpm)"


def split_source_rpm(source_rpm: str) -> tuple[str, str]:
    """``openssl-3.0.7-27.el9.src.rpm`` -> (``openssl``, ``3.0.7-27.el9``)."""
    stem = source_rpm.removesuffix(".rpm")
    stem = stem.rsplit(".", 1)[0] if stem.endswith((".src", ".nosrc")) else stem
    parts = stem.rsplit("-", 2)
    if len(parts) != 3:
        return "", ""
    return parts[0], f"{parts[1]}-{parts[2]}"


class RpmAnalyser(PerFile):
    name = "rpm"
    version = "1"
    patterns = (rf"{_DIRS}/(?:Packages|Packages\.db|rpmdb\.sqlite)",)

    def parse(self, path: str, data: bytes) -> list[Package]:
        try:
            found = rpmdb.read_rpmdb(data, with_files=False)
        except FormatError as exc:
            logger.warning("rpm database %s unreadable: %s", path, exc)
            return []
        out = []
        for p in found:
            if p.name == "gpg-pubkey":
                continue
            source_name, source_version = split_source_rpm(p.source_rpm)
            out.append(
                os_package(
                    self,
                    Ecosystem.RPM,
                    p.name,
                    p.evr,
                    path,
                    arch=p.arch,
                    source_name=source_name or p.name,
                    source_version=source_version or p.evr,
                )
            )
        return out
