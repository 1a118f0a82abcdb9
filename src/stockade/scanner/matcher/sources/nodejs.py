"""Node.js security working group: ``vuln/npm/<n>.json``, one npm advisory each.

``vulnerable_versions`` and ``patched_versions`` are npm range expressions and are kept as
such (``affected_spec`` / ``unaffected_specs``). The ids are ``NSWG-ECO-<n>``, the form the
working group uses; CVEs become aliases. (``vuln/core`` covers the Node.js runtime itself, not
npm packages, and is not read here.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stockade.model.vulnerability import Vulnerability, best_severity
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
from stockade.scanner.matcher.sources.cvss import parse_vector


class NodejsUpdater(FeedUpdater):
    name = "nodejs-wg"
    URL = "https://github.com/nodejs/security-wg/archive/refs/heads/main.tar.gz"

    def downloads(self) -> list[Download]:
        return [Download(self.base_url, "security-wg.tar.gz", extract=True)]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "*.json"):
            if file.name == "index.json" or (path.is_dir() and file.parent.name != "npm"):
                continue  # the index repeats what the advisories hold
            name = rel(file, path)
            doc = load_json(self.name, file, path)
            with record_context(self.name, name, file.stem):
                top = expect_dict(doc, "the document")
                vid = f"NSWG-ECO-{int(str(top['id']))}"
            with record_context(self.name, name, vid):
                score = top.get("cvss_score")
                cvss = parse_vector(
                    str(top.get("cvss_vector") or ""),
                    source=self.name,
                    score=float(str(score)) if score not in (None, "") else None,
                )
                patched = str(top.get("patched_versions") or "").strip()
                yield Vulnerability(
                    source=self.name,
                    id=vid,
                    aliases=tuple(
                        expect_str(c, "cve") for c in expect_list(top.get("cves"), "cves")
                    ),
                    package=expect_str(top["module_name"], "module_name"),
                    ecosystem="npm",
                    version_scheme="semver",
                    affected_spec=expect_str(top["vulnerable_versions"], "vulnerable_versions"),
                    unaffected_specs=(patched,) if patched and patched != "<0.0.0" else (),
                    summary=str(top.get("title", "")),
                    description=str(top.get("overview", "")),
                    severity=best_severity(None, (cvss,) if cvss else ()),
                    cvss=(cvss,) if cvss else (),
                    links=tuple(str(r) for r in expect_list(top.get("references"), "references")),
                    published=str(top.get("publish_date") or top.get("created_at") or ""),
                    modified=str(top.get("updated_at") or ""),
                )
