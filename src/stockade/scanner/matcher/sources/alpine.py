"""Alpine Linux secdb: per release and repository, ``packages -> pkg -> secfixes``.

Two spellings of the same data: the YAML kept in the secdb repository (``v3.10/main.yaml``)
and the JSON the live service publishes (``v3.10/main.json``). ``secfixes`` maps the first
fixed ``apk`` version to the ids it fixes; the version ``0`` means "never affected" and is
skipped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

from stockade.model.vulnerability import AffectedRange, Vulnerability
from stockade.scanner.matcher.sources.base import (
    Download,
    FeedUpdater,
    expect_dict,
    expect_list,
    expect_str,
    iter_files,
    load_json,
    load_yaml,
    record_context,
    rel,
)

logger = logging.getLogger(__name__)

RELEASES = ("v3.16", "v3.17", "v3.18", "v3.19", "v3.20", "v3.21", "v3.22", "edge")
REPOSITORIES = ("main", "community")
_ID = re.compile(r"^(CVE-\d{4}-\d+|XSA-\d+|ZBX-\d+|GHSA-[\w-]+|[A-Z][A-Z0-9]+-[\w.-]+)$")


class AlpineUpdater(FeedUpdater):
    name = "alpine"
    URL = "https://secdb.alpinelinux.org"

    def __init__(self, *, releases: tuple[str, ...] = RELEASES, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.releases = releases

    def downloads(self) -> list[Download]:
        return [
            Download(f"{self.base_url}/{rel_}/{repo}.json", f"{rel_}/{repo}.json")
            for rel_ in self.releases
            for repo in REPOSITORIES
        ]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        files = [p for p in iter_files(path, "*") if p.suffix in (".json", ".yaml", ".yml")]
        for file in files:
            name = rel(file, path)
            doc = (
                load_json(self.name, file, path)
                if file.suffix == ".json"
                else load_yaml(self.name, file, path)
            )
            yield from self._parse_doc(doc, name)

    def _parse_doc(self, doc: object, name: str) -> Iterator[Vulnerability]:
        with record_context(self.name, name, ""):
            top = expect_dict(doc, "the document")
            release = expect_str(top["distroversion"], "distroversion").removeprefix("v")
            repo = str(top.get("reponame", ""))
            packages = expect_list(top.get("packages"), "packages")
        for index, entry in enumerate(packages):
            with record_context(self.name, name, f"packages[{index}]"):
                pkg = expect_dict(expect_dict(entry, "package entry")["pkg"], "pkg")
                pkg_name = expect_str(pkg["name"], "pkg.name")
            record = pkg_name
            with record_context(self.name, name, record):
                fixes = expect_dict(pkg.get("secfixes") or {}, "secfixes")
                for fixed, ids in fixes.items():
                    version = expect_str(fixed, "secfixes version")
                    if version == "0":
                        continue
                    for raw in expect_list(ids, f"secfixes[{version}]"):
                        tokens = [
                            t.replace("CVE_", "CVE-")
                            for t in expect_str(raw, "advisory id").split()
                        ]
                        found = [t for t in tokens if _ID.match(t)]
                        if not found:
                            logger.warning("%s: %s: %s: skipped %r", self.name, name, record, raw)
                            continue
                        yield Vulnerability(
                            source=self.name,
                            id=found[0],
                            aliases=tuple(found[1:]),
                            package=pkg_name,
                            distribution="alpine",
                            release=release,
                            version_scheme="apk",
                            ranges=(AffectedRange(fixed=version),),
                            links=(f"https://security.alpinelinux.org/vuln/{found[0]}",),
                            summary=f"{pkg_name} {version} ({repo}) fixes {found[0]}",
                        )
