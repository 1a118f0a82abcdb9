"""Amazon Linux: ALAS advisories from the repositories' ``updateinfo.xml`` (yum format).

Each ``<update type="security">`` is one advisory (``ALAS-…`` for Amazon Linux AMI,
``ALAS2-…`` for Amazon Linux 2, ``ALAS2023-…`` for AL2023); its ``pkglist`` names the fixed
packages (name, epoch, version, release per architecture) and its ``references`` the CVEs.
The release is told by the advisory prefix. Online, each release's mirror list points at a
repository whose ``repodata/repomd.xml`` names the current updateinfo file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
from lxml import etree

from stockade.core.redact import redact
from stockade.model.vulnerability import AffectedRange, Vulnerability, best_severity
from stockade.scanner.matcher.sources.base import (
    Download,
    FeedUpdater,
    FetchResult,
    iter_files,
    rel,
)
from stockade.scanner.matcher.sources.errors import FetchError, ParseError
from stockade.scanner.matcher.sources.oval import open_maybe_compressed

#: release -> mirror list of its core repository
MIRRORS = {
    "2": "https://cdn.amazonlinux.com/2/core/latest/x86_64/mirror.list",
    "2023": "https://cdn.amazonlinux.com/al2023/core/mirrors/latest/x86_64/mirror.list",
}
_PREFIX = (("ALAS2023-", "2023"), ("ALAS2-", "2"), ("ALAS-", "2018.03"))
_REPO_NS = "{http://linux.duke.edu/metadata/repo}"


class AmazonUpdater(FeedUpdater):
    name = "amazon"
    URL = ""  # per release, see MIRRORS

    def __init__(self, *, mirrors: dict[str, str] | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.mirrors = mirrors or MIRRORS
        self._resolved: list[Download] = []

    def downloads(self) -> list[Download]:
        return self._resolved

    def _fetch_online(self, fingerprint: str, workdir: Path) -> FetchResult:
        client = self._client or httpx.Client(timeout=self._timeout, follow_redirects=True)
        try:
            self._resolved = [
                Download(self._updateinfo_url(client, url), f"{release}/updateinfo.xml.gz")
                for release, url in self.mirrors.items()
            ]
        finally:
            if self._client is None:
                client.close()
        return super()._fetch_online(fingerprint, workdir)

    def _updateinfo_url(self, client: httpx.Client, mirror_list: str) -> str:
        try:
            mirrors = client.get(mirror_list)
            mirrors.raise_for_status()
            base = mirrors.text.split()[0].rstrip("/") + "/"
            repomd = client.get(urljoin(base, "repodata/repomd.xml"))
            repomd.raise_for_status()
            root = etree.fromstring(repomd.content, parser=etree.XMLParser(resolve_entities=False))
        except (httpx.HTTPError, IndexError, etree.XMLSyntaxError) as exc:
            raise FetchError(f"{self.name}: cannot resolve {redact(mirror_list)} ({exc})") from exc
        for data in root.iter(f"{_REPO_NS}data"):
            if data.get("type") == "updateinfo":
                loc = data.find(f"{_REPO_NS}location")
                if loc is not None and loc.get("href"):
                    return str(urljoin(base, str(loc.get("href", ""))))
        raise FetchError(f"{self.name}: {redact(mirror_list)} names no updateinfo")

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "updateinfo.xml*"):
            yield from self._parse_file(file, rel(file, path))

    def _parse_file(self, file: Path, name: str) -> Iterator[Vulnerability]:
        try:
            with open_maybe_compressed(file) as fh:
                for _event, elem in etree.iterparse(
                    fh, events=("end",), tag="update", resolve_entities=False, no_network=True
                ):
                    yield from self._update(elem, name)
                    elem.clear(keep_tail=False)
        except etree.XMLSyntaxError as exc:
            raise ParseError(
                self.name, name, "", f"invalid XML at line {exc.lineno} ({exc.msg})"
            ) from exc
        except (OSError, EOFError) as exc:
            raise ParseError(self.name, name, "", f"unreadable ({exc})") from exc

    def _update(self, elem: etree._Element, name: str) -> Iterator[Vulnerability]:
        if elem.get("type") != "security":
            return
        adv = (elem.findtext("id") or "").strip()
        if not adv:
            raise ParseError(self.name, name, f"line {elem.sourceline}", "update without an id")
        release = next((r for prefix, r in _PREFIX if adv.startswith(prefix)), None)
        if release is None:
            raise ParseError(self.name, name, adv, "not an ALAS advisory id")
        severity = (elem.findtext("severity") or "").strip()
        cves = tuple(
            dict.fromkeys(
                ref.get("id", "")
                for ref in elem.iter("reference")
                if ref.get("type") == "cve" and re.fullmatch(r"CVE-\d{4}-\d+", ref.get("id", ""))
            )
        )
        issued = elem.find("issued")
        updated = elem.find("updated")
        seen: set[tuple[str, str]] = set()
        for pkg in elem.iter("package"):
            pname = pkg.get("name", "")
            version, release_ = pkg.get("version", ""), pkg.get("release", "")
            if not pname or not version or not release_:
                raise ParseError(self.name, name, adv, "package without name, version or release")
            evr = f"{pkg.get('epoch') or '0'}:{version}-{release_}"
            if (pname, evr) in seen:
                continue
            seen.add((pname, evr))
            yield Vulnerability(
                source=self.name,
                id=adv,
                aliases=cves,
                package=pname,
                distribution="amzn",
                release=release,
                version_scheme="rpm",
                ranges=(AffectedRange(fixed=evr),),
                summary=(elem.findtext("title") or "").strip(),
                description=(elem.findtext("description") or "").strip(),
                vendor_severity=severity,
                severity=best_severity(severity),
                links=(f"https://alas.aws.amazon.com/{_path(adv)}",),
                published=issued.get("date", "") if issued is not None else "",
                modified=updated.get("date", "") if updated is not None else "",
            )


def _path(adv: str) -> str:
    if adv.startswith("ALAS2023-"):
        return f"AL2023/{adv}.html"
    if adv.startswith("ALAS2-"):
        return f"AL2/{adv}.html"
    return f"{adv}.html"
