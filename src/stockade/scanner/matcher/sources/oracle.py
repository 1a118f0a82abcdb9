"""Oracle Linux: ELSA advisories as OVAL (``com.oracle.elsa-all.xml.bz2``, or per year).

Each definition is one ELSA; the release comes from the "Oracle Linux N is installed"
criterion the package criteria are ANDed with (else from the definition's platform).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from stockade.model.vulnerability import Vulnerability
from stockade.scanner.matcher.sources.base import Download, FeedUpdater, iter_files, rel
from stockade.scanner.matcher.sources.oval import OvalDefinition, parse_oval

_RELEASE = re.compile(r"Oracle Linux (\d+)")
_ELSA = re.compile(r"ELSA-\d{4}-\d+")


def _release(d: OvalDefinition, context: tuple[str, ...]) -> str | None:
    for text in (*context, *d.platforms):
        if m := _RELEASE.search(text):
            return m.group(1)
    return None


def _elsa(d: OvalDefinition) -> str:
    for source, ref_id, _url in d.refs:
        if source.lower() == "elsa" and ref_id:
            return ref_id
    m = _ELSA.search(d.title)
    return m.group(0) if m else d.id


class OracleUpdater(FeedUpdater):
    name = "oracle"
    URL = "https://linux.oracle.com/security/oval/com.oracle.elsa-all.xml.bz2"

    def downloads(self) -> list[Download]:
        return [Download(self.base_url, "com.oracle.elsa-all.xml.bz2")]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "*.xml*"):
            yield from parse_oval(
                self.name,
                file,
                rel(file, path),
                distribution="ol",
                version_scheme="rpm",
                release_of=_release,
                advisory_id=_elsa,
            )
