"""CISA Known Exploited Vulnerabilities catalog (JSON): one enrichment record per CVE."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stockade.model.vulnerability import KnownExploited, Vulnerability
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


class KevUpdater(FeedUpdater):
    name = "cisa-kev"
    URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"

    def downloads(self) -> list[Download]:
        return [Download(self.base_url, "known_exploited_vulnerabilities.json")]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "*.json"):
            name = rel(file, path)
            doc = load_json(self.name, file, path)
            with record_context(self.name, name, ""):
                items = expect_list(
                    expect_dict(doc, "the catalog")["vulnerabilities"], "vulnerabilities"
                )
            for index, raw in enumerate(items):
                with record_context(self.name, name, f"vulnerabilities[{index}]"):
                    item = expect_dict(raw, "entry")
                    cve = expect_str(item["cveID"], "cveID")
                    yield Vulnerability(
                        source=self.name,
                        id=cve,
                        summary=str(item.get("vulnerabilityName", "")),
                        description=str(item.get("shortDescription", "")),
                        known_exploited=KnownExploited(
                            date_added=expect_str(item["dateAdded"], "dateAdded"),
                            due_date=str(item.get("dueDate", "")),
                            ransomware=str(item.get("knownRansomwareCampaignUse", "")),
                            required_action=str(item.get("requiredAction", "")),
                        ),
                        links=tuple(
                            u.strip()
                            for u in str(item.get("notes", "")).split(" ; ")
                            if u.strip().startswith("http")
                        ),
                        published=str(item.get("dateAdded", "")),
                    )
