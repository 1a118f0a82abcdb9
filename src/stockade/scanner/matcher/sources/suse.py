"""SUSE Linux Enterprise Server: CVE OVAL per product line
(``suse.linux.enterprise.server.15.xml.gz``).

One definition per CVE covers every service pack; each package criterion is ANDed with a
"SUSE Linux Enterprise Server 15 SP1 is installed" criterion, which gives the release in
os-release form (``15.1``; ``15`` without a service pack). Criteria for other SUSE products
(Desktop, HPC, modules sold separately) are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from stockade.model.vulnerability import Vulnerability
from stockade.scanner.matcher.sources.base import Download, FeedUpdater, iter_files, rel
from stockade.scanner.matcher.sources.oval import OvalDefinition, parse_oval

_SERVER = re.compile(r"^SUSE Linux Enterprise Server (\d+)(?: SP(\d+))?(?: [A-Z-]+)? is installed$")
SERVER_LINES = ("12", "15")


def _release(_d: OvalDefinition, context: tuple[str, ...]) -> str | None:
    for text in context:
        if m := _SERVER.match(text):
            return f"{m.group(1)}.{m.group(2)}" if m.group(2) else m.group(1)
    return None


def _first_cve(d: OvalDefinition) -> str:
    return d.cves[0] if d.cves else d.id


class SuseUpdater(FeedUpdater):
    name = "suse"
    URL = "https://ftp.suse.com/pub/projects/security/oval"

    def downloads(self) -> list[Download]:
        return [
            Download(
                f"{self.base_url}/suse.linux.enterprise.server.{n}.xml.gz",
                f"suse.linux.enterprise.server.{n}.xml.gz",
            )
            for n in SERVER_LINES
        ]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "*.xml*"):
            yield from parse_oval(
                self.name,
                file,
                rel(file, path),
                distribution="sles",
                version_scheme="rpm",
                release_of=_release,
                advisory_id=_first_cve,
            )
