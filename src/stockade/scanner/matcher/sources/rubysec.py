"""RubySec advisory database: ``gems/<gem>/<id>.yml``.

A gem version is affected unless it satisfies one of ``patched_versions`` or
``unaffected_versions`` (RubyGems requirement strings such as ``~> 4.2.9`` or ``>= 4.3.0``);
both lists are kept as ``unaffected_specs``. The id is the CVE when there is one, else the
GHSA, else the OSVDB number; the others become aliases. ``rubies/`` (the interpreters) is not
read here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stockade.model.vulnerability import Cvss, Vulnerability, best_severity
from stockade.scanner.matcher.sources.base import (
    Download,
    FeedUpdater,
    expect_dict,
    expect_list,
    expect_str,
    iter_files,
    load_yaml,
    record_context,
    rel,
)
from stockade.scanner.matcher.sources.cvss import parse_vector


class RubySecUpdater(FeedUpdater):
    name = "rubysec"
    URL = "https://github.com/rubysec/ruby-advisory-db/archive/refs/heads/master.tar.gz"

    def downloads(self) -> list[Download]:
        return [Download(self.base_url, "ruby-advisory-db.tar.gz", extract=True)]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "*.yml"):
            if path.is_dir() and "rubies" in file.relative_to(path).parts:
                continue
            name = rel(file, path)
            doc = load_yaml(self.name, file, path)
            with record_context(self.name, name, file.stem):
                yield self._record(expect_dict(doc, "the document"), file)

    def _record(self, top: dict[str, object], file: Path) -> Vulnerability:
        ids: list[str] = []
        if top.get("cve"):
            ids.append(f"CVE-{top['cve']}")
        if top.get("ghsa"):
            ids.append(f"GHSA-{top['ghsa']}")
        if top.get("osvdb"):
            ids.append(f"OSVDB-{top['osvdb']}")
        if not ids:
            ids.append(file.stem)
        cvss: list[Cvss] = []
        for key, version in (("cvss_v4", "4.0"), ("cvss_v3", "3.1"), ("cvss_v2", "2.0")):
            if value := top.get(key):
                raw = expect_str(value, key)
                if raw.startswith("CVSS:") or "/" in raw:
                    if c := parse_vector(raw, source=self.name):
                        cvss.append(c)
                else:  # the database mostly records a bare base score
                    cvss.append(Cvss(version, "", float(raw), self.name))
        specs = [
            expect_str(s, "version requirement")
            for key in ("patched_versions", "unaffected_versions")
            for s in expect_list(top.get(key), key)
        ]
        related = top.get("related")
        urls = (
            expect_list(expect_dict(related, "related").get("url"), "related.url")
            if related
            else []
        )
        return Vulnerability(
            source=self.name,
            id=ids[0],
            aliases=tuple(ids[1:]),
            package=expect_str(top["gem"], "gem"),
            ecosystem="RubyGems",
            version_scheme="gem",
            unaffected_specs=tuple(specs),
            summary=str(top.get("title", "")),
            description=str(top.get("description", "")).strip(),
            severity=best_severity(None, cvss),
            cvss=tuple(cvss),
            links=tuple(u for u in dict.fromkeys([str(top.get("url", "")), *map(str, urls)]) if u),
            published=str(top.get("date", "")),
        )
