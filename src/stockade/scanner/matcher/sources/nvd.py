"""NVD CVE API 2.0: enrichment records (CVSS v3.x/v4.0 and v2, English description, dates).

The API pages its results (``startIndex``, ``resultsPerPage``, ``totalResults``); online, every
page is saved as ``page-<n>.json`` and each file is parsed as one API response. Records carry
no package: the matcher attaches them to findings by CVE id.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from stockade.model.vulnerability import Cvss, Vulnerability, best_severity
from stockade.scanner.matcher.sources.base import (
    FeedUpdater,
    Fetched,
    FetchResult,
    Unchanged,
    expect_dict,
    expect_list,
    expect_str,
    iter_files,
    load_json,
    old_digest,
    record_context,
    rel,
    tree_digest,
)
from stockade.scanner.matcher.sources.cvss import parse_vector
from stockade.scanner.matcher.sources.errors import FetchError

PAGE_SIZE = 2000
_METRICS = (
    ("cvssMetricV40", "4.0"),
    ("cvssMetricV31", "3.1"),
    ("cvssMetricV30", "3.0"),
    ("cvssMetricV2", "2.0"),
)


class NvdUpdater(FeedUpdater):
    """Online, pages are fetched one after another, ``page_delay`` seconds apart (the API
    allows 5 requests per 30 s without a key, 50 with one). The key comes from
    ``STOCKADE_NVD_API_KEY`` and is sent as the ``apiKey`` header; it never appears in
    messages."""

    name = "nvd"
    URL = "https://services.nvd.nist.gov/rest/json/cves/2.0"

    def __init__(self, *, page_delay: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = os.environ.get("STOCKADE_NVD_API_KEY", "")
        self.page_delay = page_delay if page_delay is not None else (0.6 if self.api_key else 6.0)

    def _fetch_online(self, fingerprint: str, workdir: Path) -> FetchResult:
        workdir.mkdir(parents=True, exist_ok=True)
        client = self._client or httpx.Client(timeout=self._timeout, follow_redirects=True)
        try:
            start, total, page = 0, None, 0
            headers = {"apiKey": self.api_key} if self.api_key else {}
            while total is None or start < total:
                if page:
                    time.sleep(self.page_delay)
                resp = client.get(
                    self.base_url,
                    params={"startIndex": start, "resultsPerPage": PAGE_SIZE},
                    headers=headers,
                )
                if resp.status_code != 200:
                    raise FetchError(f"{self.name}: the CVE API answered HTTP {resp.status_code}")
                body = resp.json()
                total = int(body.get("totalResults", 0))
                (workdir / f"page-{page:05d}.json").write_bytes(resp.content)
                got = len(body.get("vulnerabilities", []))
                if got == 0:
                    break
                start += got
                page += 1
        except (httpx.HTTPError, ValueError) as exc:
            raise FetchError(f"{self.name}: cannot fetch the CVE API ({exc})") from exc
        finally:
            if self._client is None:
                client.close()
        digest = tree_digest(workdir)
        new_fp = json.dumps({"sha256": digest})
        if old_digest(fingerprint) == digest:
            return Unchanged(new_fp)
        return Fetched(workdir, new_fp)

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "*.json"):
            name = rel(file, path)
            doc = load_json(self.name, file, path)
            with record_context(self.name, name, ""):
                items = expect_list(
                    expect_dict(doc, "the response")["vulnerabilities"], "vulnerabilities"
                )
            for index, item in enumerate(items):
                with record_context(self.name, name, f"vulnerabilities[{index}]"):
                    cve = expect_dict(expect_dict(item, "item")["cve"], "cve")
                    cve_id = expect_str(cve["id"], "id")
                with record_context(self.name, name, cve_id):
                    yield self._record(cve, cve_id)

    def _record(self, cve: dict[str, object], cve_id: str) -> Vulnerability:
        description = next(
            (
                str(expect_dict(d, "description")["value"])
                for d in expect_list(cve.get("descriptions"), "descriptions")
                if expect_dict(d, "description").get("lang") == "en"
            ),
            "",
        )
        metrics = expect_dict(cve.get("metrics", {}), "metrics")
        cvss: list[Cvss] = []
        vendor = ""
        for key, _version in _METRICS:
            entries = [expect_dict(m, key) for m in expect_list(metrics.get(key), key)]
            entries.sort(key=lambda m: m.get("type") != "Primary")
            for m in entries[:1]:
                data = expect_dict(m["cvssData"], "cvssData")
                c = parse_vector(
                    expect_str(data["vectorString"], "vectorString"),
                    source=str(m.get("source", "")),
                    score=float(str(data["baseScore"])),
                )
                if c:
                    cvss.append(c)
                    if not vendor and key != "cvssMetricV2":
                        vendor = str(data.get("baseSeverity", ""))
        links = tuple(
            str(expect_dict(r, "reference")["url"])
            for r in expect_list(cve.get("references"), "references")
        )
        return Vulnerability(
            source=self.name,
            id=cve_id,
            description=description,
            vendor_severity=vendor,
            severity=best_severity(None, cvss),
            cvss=tuple(cvss),
            links=(f"https://nvd.nist.gov/vuln/detail/{cve_id}", *links),
            published=str(cve.get("published", "")),
            modified=str(cve.get("lastModified", "")),
        )
