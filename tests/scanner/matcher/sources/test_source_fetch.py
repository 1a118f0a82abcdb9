"""The online path of the sources against a loopback server serving the real files, and the
offline path's fingerprints: a second fetch with the same validators is "not modified"."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stockade.scanner.matcher.sources import Fetched, Unchanged, make_updater
from stockade.scanner.matcher.sources.errors import ChecksumError, FetchError

SHARED = Path(__file__).parents[4] / ".." / "shared"
VULNDATA = SHARED / "vulndata"
CLAIRCORE = SHARED / "claircore-testdata"

Server = Callable[[Path], Any]


def _fetch_twice(updater: Any, tmp_path: Path) -> tuple[Fetched, Unchanged]:
    first = updater.fetch("", tmp_path / "w1")
    assert isinstance(first, Fetched)
    second = updater.fetch(first.fingerprint, tmp_path / "w2")
    assert isinstance(second, Unchanged)
    return first, second


def test_alpine_json_online_then_not_modified(tmp_path: Path, feed_server: Server) -> None:
    root = tmp_path / "srv"
    shutil.copytree(CLAIRCORE / "alpine/testdata/fetch/v3.10", root / "v3.10")
    (root / "v3.10" / "main.json").write_text(
        json.dumps({"distroversion": "v3.10", "reponame": "main", "packages": []})
    )
    srv = feed_server(root)
    updater = make_updater("alpine", base_url=srv.url, releases=("v3.10",))
    first, _ = _fetch_twice(updater, tmp_path)
    records = list(updater.parse(first.path))
    assert {r.package for r in records} == {"botan", "cfengine", "chicken"}
    # the second round sent the validators and was answered 304 for every file
    assert [code for _path, code in srv.requests[-2:]] == [304, 304]


def test_debian_lists_online(tmp_path: Path, feed_server: Server) -> None:
    srv = feed_server(VULNDATA / "debian-security-tracker" / "data")
    updater = make_updater("debian-advisories", base_url=srv.url)
    first, _ = _fetch_twice(updater, tmp_path)
    ids = {r.id for r in updater.parse(first.path)}
    assert "DSA-5380-1" in ids and "DLA-3380-1" in ids


def test_osv_zip_export_online(tmp_path: Path, feed_server: Server) -> None:
    root = tmp_path / "srv" / "Go"
    root.mkdir(parents=True)
    with zipfile.ZipFile(root / "all.zip", "w") as zf:
        for name in ("GO-2022-0969.json", "GO-2020-0001.json"):
            zf.write(VULNDATA / "osv-go/data/osv" / name, name)
    srv = feed_server(tmp_path / "srv")
    updater = make_updater("osv-go", base_url=srv.url)
    first, _ = _fetch_twice(updater, tmp_path)
    assert {r.id for r in updater.parse(first.path)} == {"GO-2022-0969", "GO-2020-0001"}


def test_rubysec_archive_online(tmp_path: Path, feed_server: Server) -> None:
    srv_root = tmp_path / "srv"
    srv_root.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(VULNDATA / "rubysec/gems/RedCloth", "ruby-advisory-db-master/gems/RedCloth")
    (srv_root / "master.tar.gz").write_bytes(buf.getvalue())
    srv = feed_server(srv_root)
    updater = make_updater("rubysec", base_url=f"{srv.url}/master.tar.gz")
    first, _ = _fetch_twice(updater, tmp_path)
    assert {r.id for r in updater.parse(first.path)} == {"CVE-2012-6684", "CVE-2023-31606"}


@pytest.mark.parametrize(
    ("source", "filename", "src"),
    [
        (
            "cisa-kev",
            "feed.json",
            CLAIRCORE / "enricher/kev/testdata/known_exploited_vulnerabilities.json",
        ),
        ("epss", "scores.csv", CLAIRCORE / "enricher/epss/testdata/data.csv"),
        (
            "photon",
            "com.vmware.phsa-photon3.xml",
            CLAIRCORE / "photon/testdata/com.vmware.phsa-photon3.xml",
        ),
    ],
)
def test_single_file_sources_online(
    source: str, filename: str, src: Path, tmp_path: Path, feed_server: Server
) -> None:
    root = tmp_path / "srv"
    root.mkdir()
    shutil.copy(src, root / filename)
    srv = feed_server(root)
    if source == "photon":
        for n in ("4", "5"):
            (root / f"com.vmware.phsa-photon{n}.xml").write_text(
                '<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5"/>'
            )
        updater = make_updater(source, base_url=srv.url)
    else:
        updater = make_updater(source, base_url=f"{srv.url}/{filename}")
    first, _ = _fetch_twice(updater, tmp_path)
    assert list(updater.parse(first.path))


def test_nvd_api_pages(tmp_path: Path, feed_server: Server) -> None:
    root = tmp_path / "srv"
    root.mkdir()
    shutil.copy(CLAIRCORE / "enricher/cvss/testdata/feed.json", root / "cves")
    srv = feed_server(root)
    updater = make_updater("nvd", base_url=f"{srv.url}/cves")
    first = updater.fetch("", tmp_path / "w1")
    assert isinstance(first, Fetched)
    assert len(list(updater.parse(first.path))) == 3
    # same content again: unchanged by content digest (the API has no validators)
    assert isinstance(updater.fetch(first.fingerprint, tmp_path / "w2"), Unchanged)


def test_changed_upstream_is_fetched_again(tmp_path: Path, feed_server: Server) -> None:
    root = tmp_path / "srv"
    (root / "DSA").mkdir(parents=True)
    (root / "DLA").mkdir()
    (root / "DSA" / "list").write_text(
        "[29 Mar 2023] DSA-5380-1 xorg-server - security update\n\t{CVE-2023-1393}\n"
        "\t[bullseye] - xorg-server 2:1.20.11-1+deb11u6\n"
    )
    (root / "DLA" / "list").write_text("")
    srv = feed_server(root)
    updater = make_updater("debian-advisories", base_url=srv.url)
    first = updater.fetch("", tmp_path / "w1")
    assert isinstance(first, Fetched)
    with (root / "DLA" / "list").open("a") as fh:
        fh.write(
            "[01 Apr 2023] DLA-3378-1 duktape - security update\n"
            "\t[buster] - duktape 2.3.0-1+deb10u1\n"
        )
    second = updater.fetch(first.fingerprint, tmp_path / "w2")
    assert isinstance(second, Fetched)
    assert {r.id for r in updater.parse(second.path)} == {"DSA-5380-1", "DLA-3378-1"}


def test_http_error_is_a_fetch_error(tmp_path: Path, feed_server: Server) -> None:
    srv = feed_server(tmp_path)
    updater = make_updater("cisa-kev", base_url=f"{srv.url}/missing.json")
    with pytest.raises(FetchError, match=r"cisa-kev: .*HTTP 404"):
        updater.fetch("", tmp_path / "w")


def test_published_checksum_file_is_verified(tmp_path: Path, feed_server: Server) -> None:
    root = tmp_path / "srv"
    shutil.copytree(CLAIRCORE / "enricher/kev/testdata", root)
    (root / "SHA256SUMS").write_text("0" * 64 + "  known_exploited_vulnerabilities.json\n")
    updater = make_updater("cisa-kev", offline=root)
    with pytest.raises(ChecksumError, match=r"known_exploited_vulnerabilities\.json"):
        updater.fetch("", tmp_path / "w")


def test_offline_directory_fingerprint(tmp_path: Path) -> None:
    updater = make_updater("rubysec", offline=VULNDATA / "rubysec" / "gems" / "RedCloth")
    first, second = _fetch_twice(updater, tmp_path)
    assert first.path == VULNDATA / "rubysec" / "gems" / "RedCloth"
    assert second.fingerprint == first.fingerprint


def test_amazon_mirror_list_repomd_updateinfo(tmp_path: Path, feed_server: Server) -> None:
    root = tmp_path / "srv"
    (root / "repo" / "repodata").mkdir(parents=True)
    srv = feed_server(root)
    (root / "mirror.list").write_text(f"{srv.url}/repo/\n")
    data = (Path(__file__).parent / "data/amazon/2/updateinfo.xml").read_bytes()
    (root / "repo" / "repodata" / "abc-updateinfo.xml.gz").write_bytes(gzip.compress(data))
    (root / "repo" / "repodata" / "repomd.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<repomd xmlns="http://linux.duke.edu/metadata/repo">'
        '<data type="primary"><location href="repodata/p.xml.gz"/></data>'
        '<data type="updateinfo"><location href="repodata/abc-updateinfo.xml.gz"/></data>'
        "</repomd>"
    )
    updater = make_updater("amazon", mirrors={"2": f"{srv.url}/mirror.list"})
    first, _ = _fetch_twice(updater, tmp_path)
    assert {(r.id, r.package) for r in updater.parse(first.path)} == {
        ("ALAS2-2023-2287", "curl"),
        ("ALAS2-2023-2287", "libcurl"),
    }


def test_ubuntu_oval_bz2_online(tmp_path: Path, feed_server: Server) -> None:
    root = tmp_path / "srv"
    root.mkdir()
    data = (Path(__file__).parent / "data/ubuntu-oval/com.ubuntu.focal.cve.oval.xml").read_bytes()
    (root / "com.ubuntu.focal.cve.oval.xml.bz2").write_bytes(bz2.compress(data))
    srv = feed_server(root)
    updater = make_updater("ubuntu-oval", base_url=srv.url, releases=("focal",))
    first, _ = _fetch_twice(updater, tmp_path)
    assert {r.id for r in updater.parse(first.path)} == {"CVE-2020-10018", "CVE-2021-33323"}


def test_manual_source_has_no_upstream(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="no upstream"):
        make_updater("manual").fetch("", tmp_path)


def _serve_txtar(txtar: Path, root: Path) -> None:
    """Lay out the files of a txtar archive (``-- /path [header:value ...] --`` sections)."""
    current: Path | None = None
    chunks: dict[Path, list[str]] = {}
    for line in txtar.read_text().splitlines(keepends=True):
        if line.startswith("-- /") and line.rstrip().endswith("--"):
            current = root / line[4:].rstrip()[:-2].split()[0]
            chunks[current] = []
        elif current is not None:
            chunks[current].append(line)
    for path, lines in chunks.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines))


def test_redhat_vex_archive_changes_and_deletions(tmp_path: Path, feed_server: Server) -> None:
    testdata = CLAIRCORE / "rhel/vex/testdata"
    root = tmp_path / "srv"
    root.mkdir()
    _serve_txtar(testdata / "server.txtar", root)
    shutil.copy(testdata / "server/csaf_vex_2023-10-31.tar.zst", root)
    srv = feed_server(root)
    updater = make_updater("redhat-vex", base_url=srv.url)
    first, _ = _fetch_twice(updater, tmp_path)
    docs = sorted(p.relative_to(first.path).as_posix() for p in first.path.rglob("*.json"))
    # five documents from the archive, plus 2023-0118 changed after it (2023-0030 is listed
    # as changed but no longer served)
    assert docs == [
        "2023/cve-2023-0030.json",
        "2023/cve-2023-0044.json",
        "2023/cve-2023-0045.json",
        "2023/cve-2023-0049.json",
        "2023/cve-2023-0051.json",
        "2023/cve-2023-0118.json",
    ]
    served = (root / "2023/cve-2023-0044.json").read_bytes()
    assert (first.path / "2023/cve-2023-0044.json").read_bytes() == served  # the newer copy
    records = list(updater.parse(first.path))
    assert "CVE-2023-0118" in {r.id for r in records}
    assert "CVE-2023-0044" not in {r.id for r in records}  # Quarkus only: no rpm packages
    assert [p for p, code in srv.requests if code == 304] == [
        "/archive_latest.txt",
        "/changes.csv",
        "/deletions.csv",
    ]


def _tarball(dest: Path, members: dict[str, Path]) -> None:
    with tarfile.open(dest, "w:gz") as tf:
        for arcname, src in members.items():
            tf.add(src, arcname)


DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("source", "layout", "want"),
    [
        ("debian-tracker", {"tracker.json": DATA / "debian-tracker.json"}, "CVE-2023-38545"),
        (
            "oracle",
            {"com.oracle.elsa-all.xml.bz2": DATA / "oracle/com.oracle.elsa-2023.xml"},
            "ELSA-2023-5763",
        ),
        (
            "redhat-repo2cpe",
            {"repository-to-cpe.json": DATA / "redhat-repo2cpe/repository-to-cpe.json"},
            "rhel-9-for-x86_64-appstream-rpms",
        ),
        (
            "nodejs-wg",
            {
                "wg.tar.gz": {
                    "security-wg-main/vuln/npm/1.json": VULNDATA
                    / "nodejs-security-wg/vuln/npm/1.json"
                }
            },
            "NSWG-ECO-1",
        ),
        (
            "ubuntu-tracker",
            {
                "uct.tar.gz": {
                    "uct/active/CVE-2020-10018": VULNDATA
                    / "ubuntu-cve-tracker/active/CVE-2020-10018"
                }
            },
            "CVE-2020-10018",
        ),
    ],
)
def test_more_sources_online(
    source: str, layout: dict[str, Any], want: str, tmp_path: Path, feed_server: Server
) -> None:
    root = tmp_path / "srv"
    root.mkdir()
    ((name, content),) = layout.items()
    if isinstance(content, dict):
        _tarball(root / name, content)
    elif name.endswith(".bz2"):
        (root / name).write_bytes(bz2.compress(content.read_bytes()))
    else:
        shutil.copy(content, root / name)
    srv = feed_server(root)
    updater = make_updater(source, base_url=f"{srv.url}/{name}")
    first, _ = _fetch_twice(updater, tmp_path)
    assert want in {r.id for r in updater.parse(first.path)}


def test_suse_gzip_online(tmp_path: Path, feed_server: Server) -> None:
    root = tmp_path / "srv"
    root.mkdir()
    data = (DATA / "suse/suse.linux.enterprise.server.15.xml").read_bytes()
    for line in ("12", "15"):
        (root / f"suse.linux.enterprise.server.{line}.xml.gz").write_bytes(gzip.compress(data))
    srv = feed_server(root)
    updater = make_updater("suse", base_url=srv.url)
    first, _ = _fetch_twice(updater, tmp_path)
    assert {r.release for r in updater.parse(first.path)} == {"15.4", "15.5"}


def test_published_digest_beside_a_download(tmp_path: Path, feed_server: Server) -> None:
    from stockade.scanner.matcher.sources.base import Download
    from stockade.scanner.matcher.sources.kev import KevUpdater

    class WithDigest(KevUpdater):
        def downloads(self) -> list[Download]:
            return [Download(self.base_url, "kev.json", sha256_url=self.base_url + ".sha256")]

    root = tmp_path / "srv"
    root.mkdir()
    src = CLAIRCORE / "enricher/kev/testdata/known_exploited_vulnerabilities.json"
    shutil.copy(src, root / "kev.json")
    srv = feed_server(root)
    (root / "kev.json.sha256").write_text("0" * 64 + "  kev.json\n")
    with pytest.raises(ChecksumError, match=r"cisa-kev: kev\.json: checksum mismatch"):
        WithDigest(base_url=f"{srv.url}/kev.json").fetch("", tmp_path / "w1")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    (root / "kev.json.sha256").write_text(f"{digest}  kev.json\n")
    got = WithDigest(base_url=f"{srv.url}/kev.json").fetch("", tmp_path / "w2")
    assert isinstance(got, Fetched)


def test_nvd_pages_follow_start_index_and_send_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    feed = json.loads((CLAIRCORE / "enricher/cvss/testdata/feed.json").read_text())
    items = feed["vulnerabilities"]
    seen: list[tuple[int, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            start = int(query["startIndex"][0])
            seen.append((start, self.headers.get("apiKey", "")))
            page = {
                **feed,
                "startIndex": start,
                "resultsPerPage": 2,
                "vulnerabilities": items[start : start + 2],
            }
            body = json.dumps(page).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("STOCKADE_NVD_API_KEY", "k-123")
        updater = make_updater(
            "nvd", base_url=f"http://127.0.0.1:{httpd.server_address[1]}/cves", page_delay=0
        )
        got = updater.fetch("", tmp_path / "w")
        assert isinstance(got, Fetched)
        assert [r.id for r in updater.parse(got.path)] == [i["cve"]["id"] for i in items]
        assert seen == [(0, "k-123"), (2, "k-123")]
    finally:
        httpd.shutdown()
        httpd.server_close()
