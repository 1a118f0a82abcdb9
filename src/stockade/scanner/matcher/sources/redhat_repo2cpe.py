"""Red Hat's repository-to-CPE mapping (``repository-to-cpe.json``).

Red Hat advisories name products by CPE, while an image knows the repositories its RPMs came
from (``content_sets`` in its content manifests). This source keeps the mapping current with
the same machinery as the vulnerability feeds (fingerprint, atomic replace, bundles): each
repository becomes one record with no package, ``id`` = the repository id and ``cpes`` = its
CPEs. The Matcher reads them to turn an RPM's repositories into the CPEs to match on.

    {"data": {"rhel-8-for-x86_64-baseos-rpms": {
        "cpes": ["cpe:/o:redhat:enterprise_linux:8::baseos"], "repo_relative_urls": [...]}}}
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stockade.model.vulnerability import Vulnerability
from stockade.scanner.matcher.sources.base import (
    Download,
    FeedUpdater,
    expect_dict,
    expect_list,
    expect_str,
    iter_files,
    load_json,
    record_context,
    rel,
)

SOURCE = "redhat-repo2cpe"


class RepoToCpeUpdater(FeedUpdater):
    name = SOURCE
    URL = "https://security.access.redhat.com/data/metrics/repository-to-cpe.json"

    def downloads(self) -> list[Download]:
        return [Download(self.base_url, "repository-to-cpe.json")]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "*.json"):
            name = rel(file, path)
            doc = load_json(self.name, file, path)
            with record_context(self.name, name, ""):
                data = expect_dict(expect_dict(doc, "the document")["data"], "data")
            for repo, raw in data.items():
                with record_context(self.name, name, repo):
                    cpes = expect_list(expect_dict(raw, "repository")["cpes"], "cpes")
                    yield Vulnerability(
                        source=self.name,
                        id=repo,
                        cpes=tuple(expect_str(c, "cpe") for c in cpes),
                    )
