"""Java archive reader: fixtures built with jar/zip (make_fixtures.sh), ClairCore's jar data,
and hostile archives built in the test."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path

import pytest

from stockade.scanner.indexer.format_errors import FormatLimitError, JavaArchiveError
from stockade.scanner.indexer.javaarchive import (
    JavaArtifact,
    JavaLimits,
    Manifest,
    identify,
    parse_filename,
    parse_manifest,
    parse_properties,
    read_java_archive,
)

from ._paths import CLAIRCORE, FIXTURES

JAVA = FIXTURES / "java"
ARCHIVES = sorted(p.name for p in JAVA.iterdir() if not p.name.endswith(".json"))
CC_JAR = CLAIRCORE / "java" / "jar" / "testdata"


@pytest.mark.parametrize("name", ARCHIVES)
def test_archive_matches_golden(name: str) -> None:
    # The expectations are written by hand from how make_fixtures.sh builds each archive.
    want = json.loads((JAVA / f"{name}.want.json").read_text())
    got = [dataclasses.asdict(a) for a in read_java_archive(JAVA / name)]
    assert got == want


def test_bytes_source_and_explicit_path() -> None:
    data = (JAVA / "shop.war").read_bytes()
    got = read_java_archive(data, "opt/app/shop.war")
    assert got[0].path == "opt/app/shop.war!/WEB-INF/lib/commons-text-1.9.jar"
    with (JAVA / "shop.war").open("rb") as fh:
        assert len(read_java_archive(fh, "shop.war")) == 3


def test_claircore_inner_jar_nested_two_levels() -> None:
    got = read_java_archive(CC_JAR / "inner" / "inner.jar")
    assert [(a.artifact_id, a.version, a.path) for a in got] == [
        ("jackson-annotations", "2.13.0", "inner.jar!/BOOT-INF/lib/jackson-annotations-2.13.0.jar"),
        ("log4j-api", "2.14", "inner.jar!/BOOT-INF/lib/log4j-api-2.14.jar"),
        ("log4j", "2.14.0",
         "inner.jar!/BOOT-INF/lib/log4j-api-2.14.jar!/META-INF/inner-jar/log4j-2.14.0.jar"),
    ]  # fmt: skip


def test_claircore_pom_properties() -> None:
    files = sorted((CC_JAR / "properties").iterdir())
    assert len(files) > 40
    for f in files:
        props = parse_properties(f.read_text())
        if f.name == "cassandra-driver-core-3.11.0-shaded.jar":
            # The shaded driver's first pom.properties belongs to a dependency it carries.
            assert (props["artifactId"], props["version"]) == ("jctools-core", "2.1.1")
            continue
        assert f"{props['artifactId']}-{props['version']}.jar" == f.name
        assert props["groupId"]


# Manifests in ClairCore's data that carry no version of their own, and file names without
# one: these archives are identified from the file name or not at all.
NO_ARTIFACT = {"fqltool.jar", "stress.jar"}


def test_claircore_manifests_identify_the_version_in_the_file_name() -> None:
    files = sorted((CC_JAR / "manifest").glob("*.jar"))
    assert len(files) > 60
    for f in files:
        manifest = parse_manifest(f.read_text(errors="replace"))
        got = identify(f.name, manifest, [])
        if f.name in NO_ARTIFACT:
            assert got == [], f.name
            continue
        name_version = parse_filename(f.name)
        assert name_version is not None, f.name
        assert len(got) == 1, f.name
        assert (got[0].artifact_id, got[0].version) == name_version, f.name


def test_manifest_version_preference() -> None:
    guava = parse_manifest((CC_JAR / "manifest" / "guava-27.0-jre.jar").read_text())
    assert guava.get("bundle-version") == "27.0.0.jre"
    assert identify("guava-27.0-jre.jar", guava, [])[0].version == "27.0-jre"
    jna = parse_manifest((CC_JAR / "manifest" / "jna-5.6.0.jar").read_text())
    assert identify("renamed.jar", jna, []) == [
        JavaArtifact("", "com.sun.jna", "5.6.0", "renamed.jar", "manifest")
    ]


def test_manifest_parsing_rules() -> None:
    asm = parse_manifest((CC_JAR / "manifest" / "asm-7.1.jar").read_text())
    # Continuation lines join without their leading space.
    assert asm.get("Implementation-Title") == (
        "ASM, a very small and fast Java bytecode manipulation framework"
    )
    individual = parse_manifest((CC_JAR / "manifestSection" / "individual").read_text())
    assert individual.main == parse_manifest((CC_JAR / "manifestSection" / "individual.want")
                                             .read_text()).main  # fmt: skip
    assert individual.sections == ({"Name": "foo/bar/", "Sealed": "false"},)
    for f in (CC_JAR / "malformed-manifests").iterdir():
        assert isinstance(parse_manifest(f.read_text()), Manifest)
    assert parse_manifest("").main == {}


def test_properties_parsing_rules() -> None:
    text = "# c\n! c\nversion = 1.0\\\n  .1\ngroupId:org.example\nartifactId org-thing\nflag\n"
    assert parse_properties(text) == {
        "version": "1.0.1",
        "groupId": "org.example",
        "artifactId": "org-thing",
        "flag": "",
    }


@pytest.mark.parametrize(
    ("filename", "want"),
    [
        ("commons-text-1.9.jar", ("commons-text", "1.9")),
        ("guava-31.1-jre.jar", ("guava", "31.1-jre")),
        ("netty-all-4.1.58.Final.jar", ("netty-all", "4.1.58.Final")),
        ("lib/x/log4j-core-2.17.1.jar", ("log4j-core", "2.17.1")),
        ("fqltool.jar", None),
        ("app.war", None),
    ],
)
def test_parse_filename(filename: str, want: tuple[str, str] | None) -> None:
    assert parse_filename(filename) == want


# --- hostile archives ---------------------------------------------------------------------


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    data = _zip({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n"})
    for level in range(6):
        data = _zip({f"lib/level-{level}.0.jar": data})
    with pytest.raises(FormatLimitError, match="deeper"):
        read_java_archive(data, "deep.jar")
    # Within the limit every level is reported.
    got = read_java_archive(data, "deep.jar", limits=JavaLimits(max_depth=8))
    assert [a.version for a in got] == ["5.0", "4.0", "3.0", "2.0", "1.0", "0.0"]


def test_decompression_bomb_is_refused() -> None:
    bomb = _zip({"META-INF/MANIFEST.MF": b"A" * (8 << 20)})
    with pytest.raises(FormatLimitError):
        read_java_archive(bomb, "bomb.jar")
    nested = _zip({"lib/big-1.0.jar": b"\0" * (4 << 20)})
    with pytest.raises(FormatLimitError):
        read_java_archive(nested, "x.jar", limits=JavaLimits(max_nested_bytes=1 << 20))
    many = _zip(
        {f"lib/l{i}-1.0.jar": _zip({"a": b"\0" * 300_000}, zipfile.ZIP_STORED) for i in range(8)}
    )
    with pytest.raises(FormatLimitError, match="total"):
        read_java_archive(many, "x.jar", limits=JavaLimits(max_total_bytes=1 << 20))


def test_too_many_entries_is_refused() -> None:
    data = _zip({f"f{i}": b"" for i in range(50)}, zipfile.ZIP_STORED)
    with pytest.raises(FormatLimitError):
        read_java_archive(data, "x.jar", limits=JavaLimits(max_entries=10))


@pytest.mark.parametrize(
    "data",
    [b"", b"not a zip at all", b"PK\x03\x04" + b"\0" * 40, (JAVA / "shop.war").read_bytes()[:900]],
)
def test_broken_archives_raise_java_archive_error(data: bytes) -> None:
    with pytest.raises(JavaArchiveError):
        read_java_archive(data, "broken.jar")


def test_broken_nested_archive_is_skipped_and_named(caplog: pytest.LogCaptureFixture) -> None:
    good = (JAVA / "commons-text-1.9.jar").read_bytes()
    data = _zip({"WEB-INF/lib/bad-1.0.jar": b"garbage", "WEB-INF/lib/commons-text-1.9.jar": good})
    got = read_java_archive(data, "app.war")
    assert [a.path for a in got] == ["app.war!/WEB-INF/lib/commons-text-1.9.jar"]
    assert "app.war!/WEB-INF/lib/bad-1.0.jar" in caplog.text
    with pytest.raises(JavaArchiveError, match=r"app\.war!/WEB-INF/lib/bad-1\.0\.jar"):
        read_java_archive(data, "app.war", strict=True)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(JavaArchiveError):
        read_java_archive(tmp_path / "nope.jar")


def test_member_name_cut_to_nothing_by_a_nul_byte() -> None:
    # zipfile truncates names at NUL; an empty name made ZipInfo.is_dir() raise IndexError.
    data = bytearray(_zip({"Xlib/a-1.0.jar": _zip({"x": b"1"}), "META-INF/MANIFEST.MF": b""}))
    for at in [i for i in range(len(data)) if data[i : i + 14] == b"Xlib/a-1.0.jar"]:
        data[at] = 0
    assert read_java_archive(bytes(data), "nul.jar", strict=True) == []
