"""The local manual source: records an operator writes by hand, in Stockade's own record
format (``Vulnerability.to_dict`` as JSON or YAML; a list, or ``{"vulnerabilities": [...]}``).

It has no upstream: it only runs offline, from a file or a directory of such files.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stockade.model.vulnerability import Vulnerability
from stockade.scanner.matcher.sources.base import (
    FeedUpdater,
    FetchResult,
    expect_dict,
    expect_list,
    iter_files,
    load_json,
    load_yaml,
    record_context,
    rel,
)
from stockade.scanner.matcher.sources.errors import FetchError


class ManualUpdater(FeedUpdater):
    name = "manual"
    URL = ""

    def _fetch_online(self, fingerprint: str, workdir: Path) -> FetchResult:
        raise FetchError("manual: this source has no upstream; give it a file or directory")

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "*"):
            if file.suffix not in (".json", ".yaml", ".yml"):
                continue
            name = rel(file, path)
            if file.suffix == ".json":
                doc = load_json(self.name, file, path)
            else:
                doc = _typed_yaml(self.name, file, path)
            with record_context(self.name, name, ""):
                items = (
                    doc
                    if isinstance(doc, list)
                    else expect_dict(doc, "the file").get("vulnerabilities")
                )
                entries = expect_list(items, "vulnerabilities")
            for index, raw in enumerate(entries):
                with record_context(self.name, name, f"[{index}]"):
                    data = dict(expect_dict(raw, "record"))
                    data.setdefault("source", self.name)
                    if data["source"] != self.name:
                        raise ValueError(f"source must be {self.name!r}")
                    rec = Vulnerability.from_dict(data)
                    if not rec.id or not rec.package or not (rec.ecosystem or rec.distribution):
                        raise ValueError(
                            "id, package and an ecosystem or distribution are required"
                        )
                yield rec


def _typed_yaml(source: str, file: Path, root: Path) -> object:
    # The base loader keeps every scalar a string; numbers in hand-written records (CVSS
    # scores, EPSS) are converted by Vulnerability.from_dict.
    return load_yaml(source, file, root)
