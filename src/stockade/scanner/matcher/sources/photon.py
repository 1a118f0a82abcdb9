"""VMware Photon OS: OVAL patch definitions per major release
(``com.vmware.phsa-photon<N>.xml``); each definition is one PHSA advisory."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from stockade.model.vulnerability import Vulnerability
from stockade.scanner.matcher.sources.base import Download, FeedUpdater, iter_files, rel
from stockade.scanner.matcher.sources.oval import OvalDefinition, fixed_release, parse_oval

RELEASES = ("3.0", "4.0", "5.0")
_FILE = re.compile(r"photon(\d+)\.xml")
_PHSA = re.compile(r"^(PHSA-\d{4}-[\d.]+-\d+|PHSA-\d{4}:\d+)")


def _advisory_id(d: OvalDefinition) -> str:
    m = _PHSA.match(d.title)
    return m.group(1) if m else d.id


class PhotonUpdater(FeedUpdater):
    name = "photon"
    URL = "https://packages.vmware.com/photon/photon_oval_definitions"

    def downloads(self) -> list[Download]:
        return [
            Download(
                f"{self.base_url}/com.vmware.phsa-photon{r.split('.')[0]}.xml",
                f"com.vmware.phsa-photon{r.split('.')[0]}.xml",
            )
            for r in RELEASES
        ]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "*.xml"):
            m = _FILE.search(file.name)
            release = f"{m.group(1)}.0" if m else ""
            yield from parse_oval(
                self.name,
                file,
                rel(file, path),
                distribution="photon",
                version_scheme="rpm",
                release_of=fixed_release(release),
                advisory_id=lambda d: m2.group(1) if (m2 := _PHSA.match(d.title)) else d.id,
            )
