"""Red Hat CSAF/VEX: one JSON document per CVE.

The product tree names products (with a CPE each) and package versions (with a purl); each
relationship joins a package to a product under a combined id ``<product>:<package>``.
``product_status.fixed`` ids give the fixed package version per product CPE; ``known_affected``
ids (a package with no version) mean affected without a fix, or "will not fix" when a
``no_fix_planned`` remediation names them. Only ``pkg:rpm`` packages are kept. Online,
``archive_latest.txt`` names the latest full archive (``csaf_vex_<date>.tar.zst``),
``changes.csv`` lists documents changed since (fetched one by one) and ``deletions.csv``
documents withdrawn; the three index files carry the validators, so an unchanged upstream costs
three conditional requests. Records are keyed by CPE, which is how Red Hat content is matched
(by the repositories an image's packages came from), so ``release`` stays empty. Documents
whose tracking status is ``deleted`` produce nothing.
"""

from __future__ import annotations

import csv
import logging
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import zstandard

from stockade.core.redact import redact
from stockade.model.vulnerability import (
    AffectedRange,
    Cvss,
    FixState,
    Vulnerability,
    best_severity,
)
from stockade.scanner.matcher.sources.base import (
    Download,
    FeedUpdater,
    Fetched,
    FetchResult,
    Unchanged,
    expect_dict,
    expect_list,
    expect_str,
    iter_files,
    load_json,
    record_context,
    rel,
)
from stockade.scanner.matcher.sources.cvss import parse_vector
from stockade.scanner.matcher.sources.errors import FetchError, ParseError

logger = logging.getLogger(__name__)

_NEVRA = re.compile(
    r"^(?P<name>.+)-(?P<epoch>\d+):(?P<version>[^-]+)-(?P<release>.+)\.(?P<arch>[^.]+)$"
)


class RedHatVexUpdater(FeedUpdater):
    name = "redhat-vex"
    URL = "https://security.access.redhat.com/data/csaf/v2/vex"

    def downloads(self) -> list[Download]:
        # the three index files; the archive and changed documents follow from them
        return [
            Download(f"{self.base_url}/archive_latest.txt", "archive_latest.txt"),
            Download(f"{self.base_url}/changes.csv", "changes.csv"),
            Download(f"{self.base_url}/deletions.csv", "deletions.csv"),
        ]

    def _fetch_online(self, fingerprint: str, workdir: Path) -> FetchResult:
        """Index files with validators; when any changed: the latest archive, then every
        document changed after it, minus the deleted ones."""
        index = super()._fetch_online(fingerprint, workdir / "index")
        if isinstance(index, Unchanged):
            return index
        archive = (index.path / "archive_latest.txt").read_text().strip()
        if not re.fullmatch(r"[\w.-]+\.tar\.zst", archive):
            raise ParseError(self.name, "archive_latest.txt", "", f"unexpected name {archive!r}")
        m = re.search(r"(\d{4}-\d{2}-\d{2})", archive)
        archive_date = m.group(1) if m else ""
        docs = workdir / "documents"
        docs.mkdir(parents=True, exist_ok=True)
        client = self._client or httpx.Client(timeout=self._timeout, follow_redirects=True)
        try:
            self._unpack_archive(client, f"{self.base_url}/{archive}", docs)
            for rel_path, stamp in _csv_pairs(self.name, index.path / "changes.csv"):
                if stamp[:10] > archive_date:
                    self._download_document(client, rel_path, docs)
        finally:
            if self._client is None:
                client.close()
        for rel_path, _stamp in _csv_pairs(self.name, index.path / "deletions.csv"):
            target = (docs / rel_path).resolve()
            if target.is_relative_to(docs.resolve()) and target.is_file():
                target.unlink()
        return Fetched(docs, index.fingerprint)

    def _unpack_archive(self, client: httpx.Client, url: str, dest: Path) -> None:
        try:
            with client.stream("GET", url) as resp:
                if resp.status_code != 200:
                    raise FetchError(f"{self.name}: {redact(url)} answered HTTP {resp.status_code}")
                raw = dest.parent / "archive.tar.zst"
                with raw.open("wb") as out:
                    for chunk in resp.iter_bytes():
                        out.write(chunk)
        except httpx.HTTPError as exc:
            raise FetchError(f"{self.name}: cannot fetch {redact(url)} ({exc})") from exc
        try:
            with (
                raw.open("rb") as fh,
                tarfile.open(
                    fileobj=zstandard.ZstdDecompressor().stream_reader(fh), mode="r|"
                ) as tf,
            ):
                tf.extractall(dest, filter="data")
        except (tarfile.TarError, zstandard.ZstdError, OSError) as exc:
            raise ParseError(self.name, raw.name, "", f"cannot unpack archive ({exc})") from exc
        raw.unlink()

    def _download_document(self, client: httpx.Client, rel_path: str, docs: Path) -> None:
        target = (docs / rel_path).resolve()
        if not target.is_relative_to(docs.resolve()) or not rel_path.endswith(".json"):
            raise ParseError(self.name, "changes.csv", rel_path, "not a document path")
        url = f"{self.base_url}/{rel_path}"
        try:
            resp = client.get(url)
        except httpx.HTTPError as exc:
            raise FetchError(f"{self.name}: cannot fetch {redact(url)} ({exc})") from exc
        if resp.status_code == 404:
            logger.info("%s: %s listed as changed but gone", self.name, rel_path)
            return
        if resp.status_code != 200:
            raise FetchError(f"{self.name}: {redact(url)} answered HTTP {resp.status_code}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(resp.content)

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "*.json"):
            name = rel(file, path)
            doc = load_json(self.name, file, path)
            yield from self._document(doc, name)

    def _document(self, doc: object, name: str) -> Iterator[Vulnerability]:
        with record_context(self.name, name, ""):
            top = expect_dict(doc, "the document")
            document = expect_dict(top["document"], "document")
            tracking = expect_dict(document.get("tracking", {}), "tracking")
            if tracking.get("status") == "deleted":
                return
            tree = expect_dict(top["product_tree"], "product_tree")
            cpes: dict[str, str] = {}
            purls: dict[str, str] = {}
            _walk(expect_list(tree.get("branches"), "branches"), cpes, purls)
            relations: dict[str, tuple[str, str]] = {}
            for raw in expect_list(tree.get("relationships"), "relationships"):
                r = expect_dict(raw, "relationship")
                full = expect_str(
                    expect_dict(r["full_product_name"], "full_product_name")["product_id"],
                    "product_id",
                )
                relations[full] = (
                    expect_str(r["relates_to_product_reference"], "relates_to_product_reference"),
                    expect_str(r["product_reference"], "product_reference"),
                )
            aggregate = expect_dict(document.get("aggregate_severity", {}), "aggregate_severity")
            default_sev = str(aggregate.get("text", ""))
        for vraw in expect_list(top.get("vulnerabilities"), "vulnerabilities"):
            with record_context(
                self.name, name, str(expect_dict(vraw, "vulnerability").get("cve"))
            ):
                yield from self._vulnerability(
                    expect_dict(vraw, "vulnerability"), relations, cpes, purls, default_sev
                )

    def _vulnerability(
        self,
        v: dict[str, object],
        relations: dict[str, tuple[str, str]],
        cpes: dict[str, str],
        purls: dict[str, str],
        default_sev: str,
    ) -> Iterator[Vulnerability]:
        cve = expect_str(v["cve"], "cve")
        status = expect_dict(v.get("product_status", {}), "product_status")
        impact: dict[str, str] = {}
        for t in expect_list(v.get("threats"), "threats"):
            threat = expect_dict(t, "threat")
            if threat.get("category") == "impact":
                for pid in expect_list(threat.get("product_ids"), "product_ids"):
                    impact[str(pid)] = str(threat.get("details", ""))
        cvss_by: dict[str, Cvss] = {}
        for s in expect_list(v.get("scores"), "scores"):
            score = expect_dict(s, "score")
            for key in ("cvss_v4", "cvss_v3"):
                if isinstance(score.get(key), dict):
                    data = expect_dict(score[key], key)
                    c = parse_vector(
                        str(data.get("vectorString", "")),
                        source="redhat",
                        score=float(str(data["baseScore"])) if "baseScore" in data else None,
                    )
                    if c:
                        for pid in expect_list(score.get("products"), "products"):
                            cvss_by[str(pid)] = c
        wont_fix: set[str] = set()
        advisory: dict[str, str] = {}
        for r in expect_list(v.get("remediations"), "remediations"):
            rem = expect_dict(r, "remediation")
            ids = [str(p) for p in expect_list(rem.get("product_ids"), "product_ids")]
            if rem.get("category") == "no_fix_planned":
                wont_fix.update(ids)
            elif rem.get("category") == "vendor_fix" and rem.get("url"):
                advisory.update(dict.fromkeys(ids, str(rem["url"])))
        description = " ".join(
            str(expect_dict(n, "note").get("text", ""))
            for n in expect_list(v.get("notes"), "notes")
            if expect_dict(n, "note").get("category") == "description"
        )
        links = tuple(
            str(expect_dict(r, "reference")["url"])
            for r in expect_list(v.get("references"), "references")
        )
        seen: set[tuple[str, str, str]] = set()
        groups = (("fixed", FixState.FIXED), ("known_affected", FixState.NOT_FIXED))
        for key, base_state in groups:
            for raw_id in expect_list(status.get(key), key):
                pid = str(raw_id)
                if pid not in relations:
                    continue
                product, component = relations[pid]
                cpe = cpes.get(product, "")
                pkg = _package(purls.get(component, ""), component)
                if pkg is None or not cpe:
                    continue
                pkg_name, evr = pkg
                state = base_state
                if state is FixState.NOT_FIXED and pid in wont_fix:
                    state = FixState.WONT_FIX
                fixed = evr if state is FixState.FIXED else ""
                if state is FixState.FIXED and not fixed:
                    continue
                dedupe = (pkg_name, cpe, fixed)
                if dedupe in seen:
                    continue
                seen.add(dedupe)
                vendor = impact.get(pid, default_sev)
                cvss = (cvss_by[pid],) if pid in cvss_by else ()
                extra = (advisory[pid],) if pid in advisory else ()
                yield Vulnerability(
                    source=self.name,
                    id=cve,
                    aliases=tuple(u.rsplit("/", 1)[-1] for u in extra if "/errata/" in u),
                    package=pkg_name,
                    distribution="rhel",
                    cpes=(cpe,),
                    version_scheme="rpm",
                    ranges=(AffectedRange(fixed=fixed),),
                    state=state,
                    description=description,
                    vendor_severity=vendor,
                    severity=best_severity(vendor, cvss),
                    cvss=cvss,
                    links=(*extra, *links),
                    published=str(v.get("release_date", "")),
                )


def _csv_pairs(source: str, path: Path) -> list[tuple[str, str]]:
    """Rows of changes.csv / deletions.csv: ("2023/cve-2023-0044.json", "2023-12-12T...")."""
    out = []
    with path.open(newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh), 1):
            if not row:
                continue
            if len(row) != 2:
                raise ParseError(source, path.name, f"line {lineno}", "expected path,timestamp")
            out.append((row[0], row[1]))
    return out


def _walk(branches: list[object], cpes: dict[str, str], purls: dict[str, str]) -> None:
    for raw in branches:
        branch = expect_dict(raw, "branch")
        if isinstance(branch.get("product"), dict):
            product = expect_dict(branch["product"], "product")
            pid = str(product.get("product_id", ""))
            helper = product.get("product_identification_helper")
            if isinstance(helper, dict):
                if helper.get("cpe"):
                    cpes[pid] = str(helper["cpe"])
                if helper.get("purl"):
                    purls[pid] = str(helper["purl"])
        if "branches" in branch:
            _walk(expect_list(branch["branches"], "branches"), cpes, purls)


def _package(purl: str, component: str) -> tuple[str, str] | None:
    """(name, epoch:version-release) of an rpm component; version empty when unversioned."""
    if purl:
        if not purl.startswith("pkg:rpm/"):
            return None
        parts = urlsplit(purl)
        path = unquote(parts.path)
        name_ver = path.rsplit("/", 1)[-1]
        name, _, version = name_ver.partition("@")
        query = parse_qs(parts.query)
        if query.get("arch", [""])[0] == "src":
            return None
        epoch = query.get("epoch", ["0"])[0] or "0"
        return name, (f"{epoch}:{version}" if version else "")
    m = _NEVRA.match(component)
    if m:
        if m["arch"] == "src":
            return None
        return m["name"], f"{m['epoch']}:{m['version']}-{m['release']}"
    return None
