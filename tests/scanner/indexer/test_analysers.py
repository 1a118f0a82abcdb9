"""Every package analyser through the engine, on real package databases and binaries."""

from __future__ import annotations

import json
from pathlib import Path

from stockade.model.index_report import Ecosystem, IndexReport, PackageKind
from stockade.scanner.indexer.engine import Indexer
from stockade.scanner.indexer.oci_layout import OCILayoutSource

from .conftest import CLAIRCORE
from .imagebuilder import Exe, Tree, make_layout

FIXTURES = Path(__file__).parent / "formats" / "fixtures"


def _index(tmp_path: Path, *layers: Tree) -> IndexReport:
    return Indexer().index(OCILayoutSource(make_layout(tmp_path / "img", list(layers)), "test"))


def _by(report: IndexReport, eco: Ecosystem) -> dict[str, str]:
    return {p.name: p.version for p in report.packages if p.ecosystem is eco}


def _rpm_want(name: str) -> dict[str, str]:
    want = json.loads((FIXTURES / "rpm" / f"{name}.want.json").read_text())
    out = {}
    for p in want["packages"]:
        if p["name"] == "gpg-pubkey":
            continue
        epoch = f"{p['epoch']}:" if p["epoch"] is not None else ""
        out[p["name"]] = f"{epoch}{p['version']}-{p['release']}"
    return out


def test_rpm_sqlite_ndb_and_bdb(tmp_path: Path) -> None:
    rhel = (
        CLAIRCORE / "rhel" / "testdata" / "releasefiles" / "9" / "etc" / "os-release"
    ).read_bytes()
    for i, (where, fixture) in enumerate(
        [
            ("var/lib/rpm/rpmdb.sqlite", "rpmdb.sqlite"),
            ("usr/lib/sysimage/rpm/Packages.db", "Packages.db"),
            ("var/lib/rpm/Packages", "Packages-bdb-4096-1234"),
            ("var/lib/rpm/Packages", "Packages-bdb-4096-4321"),
        ]
    ):
        report = _index(
            tmp_path / str(i),
            {"etc/os-release": rhel, where: (FIXTURES / "rpm" / fixture).read_bytes()},
        )
        got = _by(report, Ecosystem.RPM)
        assert got == _rpm_want(fixture), fixture
        pkg = next(p for p in report.packages if p.ecosystem is Ecosystem.RPM)
        assert pkg.kind is PackageKind.OS
        assert pkg.purl.startswith(f"pkg:rpm/rhel/{pkg.name}@") and "distro=rhel-9.0" in pkg.purl
        assert pkg.source_name and pkg.source_version


def test_red_hat_content_manifest_repositories(tmp_path: Path) -> None:
    layer = {
        "var/lib/rpm/rpmdb.sqlite": (FIXTURES / "rpm" / "rpmdb.sqlite").read_bytes(),
        "root/buildinfo/content_manifests/foo-1.1-2.json": b'{"content_sets": ["content-set-1", "content-set-2"]}',
    }
    other = {"root/buildinfo/content_manifests/app.json": b'{"content_sets": ["app-repo"]}'}
    report = _index(tmp_path, layer, other)
    rpms = [p for p in report.packages if p.ecosystem is Ecosystem.RPM]
    assert rpms and all(p.repository_ids == ("content-set-1", "content-set-2") for p in rpms)


def test_go_binaries(tmp_path: Path) -> None:
    report = _index(
        tmp_path,
        {
            "usr/local/bin/hello": Exe((FIXTURES / "go" / "hello-linux-amd64").read_bytes()),
            "usr/local/bin/old": Exe((FIXTURES / "go" / "old-layout-linux-amd64").read_bytes()),
            "usr/share/doc/hello-copy": (
                FIXTURES / "go" / "hello-linux-amd64"
            ).read_bytes(),  # not executable
        },
    )
    go = [(p.name, p.version, p.path) for p in report.packages if p.ecosystem is Ecosystem.GOLANG]
    assert ("stdlib", "go1.19.8", "usr/local/bin/hello") in go
    assert ("example.org/stockade/hello", "(devel)", "usr/local/bin/hello") in go
    assert any(p == "usr/local/bin/old" for _, _, p in go)
    assert all(not p.startswith("usr/share/doc") for _, _, p in go)
    purls = {p.purl for p in report.packages}
    assert "pkg:golang/example.org/stockade/hello@%28devel%29" in purls


def test_rust_auditable_binary(tmp_path: Path) -> None:
    report = _index(
        tmp_path, {"usr/bin/app": Exe((FIXTURES / "rust" / "auditable-linux-amd64").read_bytes())}
    )
    got = _by(report, Ecosystem.CARGO)
    assert got == {
        "stockade-fixture": "0.3.1",
        "serde": "1.0.193",
        "regex": "1.10.2",
        "private-helper": "0.1.0",
        "regex-syntax": "0.8.2",
    }  # serde_derive is a build dependency, not shipped


def test_java_archives(tmp_path: Path) -> None:
    report = _index(tmp_path, {"opt/store.ear": (FIXTURES / "java" / "store.ear").read_bytes()})
    java = {(p.name, p.version, p.path) for p in report.packages if p.ecosystem is Ecosystem.MAVEN}
    assert (
        "jackson-databind",
        "2.9.10.8",
        "opt/store.ear!/shop.war!/WEB-INF/lib/jackson-databind-2.9.10.8.jar",
    ) in java
    assert {n for n, _, _ in java} >= {
        "payments-service",
        "guava",
        "snakeyaml",
        "commons-text",
        "log4j-api",
    }
    purls = {p.purl for p in report.packages}
    assert "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.10.8" in purls


def test_apk_dpkg_ruby_dotnet_npm_lock(tmp_path: Path) -> None:
    apk = b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n\nP:libcrypto3\nV:3.1.4-r0\nA:x86_64\no:openssl\n\n"
    dpkg = (
        b"Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl (3.0.11-1)\n"
        b"Version: 3.0.11-1~deb12u2\n\nPackage: removed\nStatus: deinstall ok config-files\nVersion: 1\n"
        b"\nPackage: npm\nStatus: install ok unpacked\nVersion: 9.2.0~ds1-1\n"
    )
    gemspec = (
        b'Gem::Specification.new do |s|\n  s.name = "rack".freeze\n  s.version = "2.2.3"\nend\n'
    )
    deps = json.dumps(
        {
            "libraries": {
                "App/1.0.0": {"type": "project"},
                "Newtonsoft.Json/12.0.1": {"type": "package"},
            }
        }
    ).encode()
    lock = json.dumps(
        {
            "lockfileVersion": 3,
            "packages": {
                "": {"name": "x"},
                "node_modules/@scope/a": {"version": "1.0.0"},
                "node_modules/b": {"version": "2.0.0"},
            },
        }
    ).encode()
    report = _index(
        tmp_path,
        {
            "lib/apk/db/installed": apk,
            "var/lib/dpkg/status": dpkg,
            "usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.3.gemspec": gemspec,
            "app/App.deps.json": deps,
            "srv/package-lock.json": lock,
            "usr/share/nodejs/debian-mod/package.json": b'{"name": "debian-mod", "version": "3.1.0"}',
            "usr/share/nodejs/debian-mod/lib/package.json": b'{"type": "module"}',
        },
    )
    apks = {p.name: p for p in report.packages if p.ecosystem is Ecosystem.APK}
    assert apks["libcrypto3"].source_name == "openssl"
    debs = {p.name: p for p in report.packages if p.ecosystem is Ecosystem.DEB}
    assert set(debs) == {"libssl3", "npm"}  # unpacked but unconfigured is still on disk
    assert (debs["libssl3"].source_name, debs["libssl3"].source_version) == ("openssl", "3.0.11-1")
    assert _by(report, Ecosystem.GEM) == {"rack": "2.2.3"}
    assert _by(report, Ecosystem.NUGET) == {"App": "1.0.0", "Newtonsoft.Json": "12.0.1"}
    assert _by(report, Ecosystem.NPM) == {"@scope/a": "1.0.0", "b": "2.0.0", "debian-mod": "3.1.0"}
    assert "pkg:npm/%40scope/a@1.0.0" in {p.purl for p in report.packages}


def test_binary_replaced_by_a_non_go_binary_drops_its_modules(tmp_path: Path) -> None:
    go = (FIXTURES / "go" / "hello-linux-amd64").read_bytes()
    plain_elf = b"\x7fELF" + bytes(4096)
    report = _index(tmp_path, {"usr/bin/hello": Exe(go)}, {"usr/bin/hello": Exe(plain_elf)})
    assert [p for p in report.packages if p.ecosystem is Ecosystem.GOLANG] == []


def test_red_hat_catalog_images_by_name_or_labels() -> None:
    from stockade.model.index_report import ImageMetadata
    from stockade.scanner.indexer.analysers.redhat import is_red_hat_image

    plain = ImageMetadata()
    labelled = ImageMetadata(
        labels=(("vendor", "Red Hat, Inc."), ("com.redhat.component", "ubi9-container"))
    )
    assert is_red_hat_image(plain, "registry.access.redhat.com/ubi9/ubi:9.3")
    assert is_red_hat_image(plain, "registry.redhat.io/rhel9/postgresql-15@sha256:" + "0" * 64)
    assert is_red_hat_image(labelled, "quay.io/someone/rebuilt:1")
    assert not is_red_hat_image(plain, "quay.io/redhat/not-the-catalog:1")
    assert not is_red_hat_image(ImageMetadata(labels=(("vendor", "Red Hat, Inc."),)), "x/y:1")
