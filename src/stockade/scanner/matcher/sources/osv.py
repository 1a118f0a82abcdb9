"""OSV: the per-ecosystem exports (``<ecosystem>/all.zip``, one JSON document per advisory),
and the same schema written as YAML (the PyPA advisory database).

Each ``affected`` entry becomes one record for its package. ``ECOSYSTEM`` and ``SEMVER``
ranges turn into intervals by walking their events in order (``introduced`` opens one,
``fixed`` or ``last_affected`` closes it); ``GIT`` ranges name commits, not versions, and are
left out. Withdrawn advisories are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stockade.model.vulnerability import (
    AffectedRange,
    Cvss,
    Vulnerability,
    best_severity,
)
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
from stockade.scanner.matcher.sources.cvss import parse_vector

#: OSV ecosystem -> Stockade version scheme name
SCHEMES: dict[str, str] = {
    "PyPI": "pep440",
    "Go": "go",
    "npm": "semver",
    "RubyGems": "gem",
    "Maven": "maven",
    "crates.io": "semver",
    "NuGet": "nuget",
    "Packagist": "composer",
}
ECOSYSTEMS = tuple(SCHEMES)


def osv_record(
    source: str, doc: object, file: str, ecosystem: str | None = None
) -> Iterator[Vulnerability]:
    """Records of one OSV document (of one ecosystem when given; OSV ecosystems may carry a
    ``:suffix``)."""
    with record_context(source, file, ""):
        top = expect_dict(doc, "the document")
        vid = expect_str(top["id"], "id")
    with record_context(source, file, vid):
        if top.get("withdrawn"):
            return
        aliases = tuple(expect_str(a, "alias") for a in expect_list(top.get("aliases"), "aliases"))
        cvss: list[Cvss] = []
        for sev in expect_list(top.get("severity"), "severity"):
            entry = expect_dict(sev, "severity entry")
            if str(entry.get("type", "")).startswith("CVSS_") and (
                c := parse_vector(str(entry.get("score", "")), source=source)
            ):
                cvss.append(c)
        dbs = top.get("database_specific")
        vendor = str(dbs.get("severity", "")) if isinstance(dbs, dict) else ""
        links = tuple(
            str(expect_dict(r, "reference")["url"])
            for r in expect_list(top.get("references"), "references")
        )
        summary = str(top.get("summary", "") or "")
        details = str(top.get("details", "") or "")
        published = str(top.get("published", "") or "")
        modified = str(top.get("modified", "") or "")
        for index, raw in enumerate(expect_list(top.get("affected"), "affected")):
            aff = expect_dict(raw, f"affected[{index}]")
            pkg = expect_dict(aff["package"], f"affected[{index}].package")
            pkg_ecosystem = expect_str(pkg["ecosystem"], "ecosystem")
            base_eco = pkg_ecosystem.split(":", 1)[0]
            if ecosystem is not None and base_eco != ecosystem:
                continue
            name = expect_str(pkg["name"], "package name")
            ranges: list[AffectedRange] = []
            for rng in expect_list(aff.get("ranges"), "ranges"):
                r = expect_dict(rng, "range")
                if r.get("type") not in ("ECOSYSTEM", "SEMVER"):
                    continue
                ranges.extend(_intervals(expect_list(r["events"], "events")))
            versions = tuple(str(v) for v in expect_list(aff.get("versions"), "versions"))
            if not ranges and not versions:
                continue
            yield Vulnerability(
                source=source,
                id=vid,
                aliases=aliases,
                package=name,
                ecosystem=pkg_ecosystem,
                version_scheme=SCHEMES.get(base_eco, base_eco.lower()),
                ranges=tuple(ranges),
                versions=versions,
                summary=summary,
                description=details,
                vendor_severity=vendor,
                severity=best_severity(vendor, cvss),
                cvss=tuple(cvss),
                links=links,
                published=published,
                modified=modified,
            )


def _intervals(events: list[object]) -> Iterator[AffectedRange]:
    introduced: str | None = None
    for raw in events:
        event = expect_dict(raw, "event")
        if "introduced" in event:
            if introduced is not None:  # two openings in a row: the first is unbounded
                yield AffectedRange(introduced=_zero(introduced))
            introduced = str(event["introduced"])
        elif "fixed" in event or "last_affected" in event:
            start = _zero(introduced or "0")
            if "fixed" in event:
                yield AffectedRange(introduced=start, fixed=str(event["fixed"]))
            else:
                yield AffectedRange(introduced=start, last_affected=str(event["last_affected"]))
            introduced = None
        elif "limit" in event:
            continue
        else:
            raise ValueError(f"unknown range event {sorted(event)}")
    if introduced is not None:
        yield AffectedRange(introduced=_zero(introduced))


def _zero(version: str) -> str:
    return "" if version == "0" else version


class OsvUpdater(FeedUpdater):
    """One OSV ecosystem export; the name is ``osv-<ecosystem>``."""

    URL = "https://osv-vulnerabilities.storage.googleapis.com"

    def __init__(self, ecosystem: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.ecosystem = ecosystem
        self.name = f"osv-{ecosystem.lower()}"  # type: ignore[misc]

    def downloads(self) -> list[Download]:
        return [Download(f"{self.base_url}/{self.ecosystem}/all.zip", "all.zip", extract=True)]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "*"):
            if file.suffix == ".json":
                doc = load_json(self.name, file, path)
            elif file.suffix in (".yaml", ".yml"):
                doc = load_yaml(self.name, file, path)
            else:
                continue
            yield from osv_record(self.name, doc, rel(file, path), self.ecosystem)
