"""Layer reading: compression, whiteouts across layers, limits and unsafe entries."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import pytest

from stockade.scanner.indexer.engine import Indexer
from stockade.scanner.indexer.errors import (
    CorruptLayerError,
    LayerLimitError,
    UnsafeLayerError,
)
from stockade.scanner.indexer.layer import Limits, read_layer, resolve_symlinks
from stockade.scanner.indexer.oci_layout import OCILayoutSource
from stockade.scanner.indexer.store import MemoryStore

from .conftest import CLAIRCORE
from .imagebuilder import OS_RELEASE_DEBIAN, Link, compress, dpkg_status, make_layout, tar_bytes


def _want_all(path: str, info: object) -> bool:
    return True


@pytest.mark.parametrize("kind", ["gzip", "zstd", "tar"])
def test_each_compression_reads_the_same_files(kind: str) -> None:
    raw = tar_bytes({"etc/": None, "etc/os-release": OS_RELEASE_DEBIAN, "x/y": b"1"})
    blob = compress(raw, kind)
    import hashlib

    got = read_layer(
        io.BytesIO(blob),
        lambda p, i: p == "etc/os-release",
        diff_id="sha256:" + hashlib.sha256(raw).hexdigest(),
        where="t",
    )
    assert got.files == {"etc/os-release": OS_RELEASE_DEBIAN}  # x/y not kept


def test_wrong_diff_id_is_rejected() -> None:
    blob = compress(tar_bytes({"a": b"1"}), "gzip")
    with pytest.raises(CorruptLayerError, match="diff_id"):
        read_layer(io.BytesIO(blob), _want_all, diff_id="sha256:" + "0" * 64, where="t")


def test_claircore_whiteout_layers_are_recognised() -> None:
    wd = CLAIRCORE / "whiteout" / "testdata"
    plain = read_layer((wd / "whiteout.layer").open("rb"), _want_all, diff_id="", where="t")
    assert plain.whiteouts == ["etc/profile"]
    adv = read_layer((wd / "whiteout_advanced.layer").open("rb"), _want_all, diff_id="", where="t")
    assert sorted(adv.whiteouts) == ["a/a_file.txt", "a_root_file.txt", "b"]
    opq = read_layer((wd / "whiteout_opaque.layer").open("rb"), _want_all, diff_id="", where="t")
    assert opq.opaque_dirs == ["a"]  # b/not.a.wh..wh..opq is an ordinary file
    assert opq.whiteouts == []


def _index(tmp_path: Path, layers: list, **kw: object):  # type: ignore[no-untyped-def]
    src = OCILayoutSource(make_layout(tmp_path / "img", layers, **kw), "test")  # type: ignore[arg-type]
    store = MemoryStore()
    return Indexer(store), src, store


def test_whiteouts_and_opaque_dirs_apply_across_layers(tmp_path: Path) -> None:
    base = {
        "etc/os-release": OS_RELEASE_DEBIAN,
        "var/lib/dpkg/status": dpkg_status(("bash", "5.2"), ("coreutils", "9.1")),
        "app/a/node_modules/left-pad/package.json": b'{"name":"left-pad","version":"1.0.0"}',
        "app/b/node_modules/gone/package.json": b'{"name":"gone","version":"2.0.0"}',
        "srv/x.dist-info/METADATA": b"Name: kept\nVersion: 1\n",
    }
    top = {
        "app/b/.wh..wh..opq": b"",  # opaque: hides app/b from lower layers
        "srv/.wh.x.dist-info": b"",  # whiteout of a directory
        "var/lib/dpkg/status": dpkg_status(("bash", "5.2"), ("coreutils", "9.2"), ("curl", "8")),
    }
    indexer, src, _ = _index(tmp_path, [base, top])
    report = indexer.index(src)
    names = {(p.name, p.version): p for p in report.packages}
    assert set(names) == {
        ("bash", "5.2"),
        ("coreutils", "9.2"),
        ("curl", "8"),
        ("left-pad", "1.0.0"),
    }
    l0, l1 = (layer.diff_id for layer in report.layers)
    assert names[("bash", "5.2")].layer == l0  # unchanged across the rewrite: first layer
    assert names[("coreutils", "9.2")].layer == l1
    assert names[("curl", "8")].layer == l1
    assert report.distribution is not None and report.distribution.version_id == "12"


def test_os_release_symlink_is_followed_and_a_loop_is_an_error(tmp_path: Path) -> None:
    layer = {
        "usr/lib/os-release": OS_RELEASE_DEBIAN,
        "etc/os-release": Link("../usr/lib/os-release"),
    }
    indexer, src, _ = _index(tmp_path / "ok", [layer])
    assert indexer.index(src).distribution.did == "debian"  # type: ignore[union-attr]

    loop = {
        "etc/os-release": Link("loop-a"),
        "etc/loop-a": Link("loop-b"),
        "etc/loop-b": Link("os-release"),
    }
    indexer, src, store = _index(tmp_path / "loop", [loop])
    with pytest.raises(UnsafeLayerError, match=r"Image oci:.*layer sha256:[0-9a-f]{64}.*loop"):
        indexer.index(src)
    assert store.reports == {}


def test_symlink_out_of_the_root_is_not_followed() -> None:
    links = {"etc/os-release": "../../../../etc/passwd"}
    assert resolve_symlinks("etc/os-release", links, Limits(), "t") is None
    assert (
        resolve_symlinks("etc/os-release", {"etc/os-release": "/usr/lib/os-release"}, Limits(), "t")
        == "usr/lib/os-release"
    )


@pytest.mark.parametrize(
    "name",
    ["../escape", "a/../../escape", "/etc/passwd"],
)
def test_escaping_entry_names_fail_naming_image_and_layer(tmp_path: Path, name: str) -> None:
    indexer, src, store = _index(tmp_path, [{name: b"x"}])
    with pytest.raises(UnsafeLayerError, match=r"Image oci:.* layer sha256:[0-9a-f]{64}"):
        indexer.index(src)
    assert store.reports == {} and store.layers == {}


def test_hard_link_out_of_the_layer_is_rejected() -> None:
    blob = tar_bytes({"a": Link("../../etc/shadow", hard=True)})
    with pytest.raises(UnsafeLayerError):
        read_layer(io.BytesIO(blob), _want_all, diff_id="", where="t")


def test_truncated_gzip_fails_naming_image_and_layer(tmp_path: Path) -> None:
    root = make_layout(
        tmp_path / "img", [{"var/lib/dpkg/status": os.urandom(200_000).hex().encode()}]
    )
    blob = max((root / "blobs" / "sha256").iterdir(), key=lambda p: p.stat().st_size)
    blob.write_bytes(blob.read_bytes()[: blob.stat().st_size // 2])
    store = MemoryStore()
    with pytest.raises(Exception, match=r"Image oci:.*layer sha256:[0-9a-f]{64}") as info:
        Indexer(store).index(OCILayoutSource(root, "test"))
    # the blob digest or the gzip stream gives it away, whichever is met first
    assert "truncated" in str(info.value) or "does not match" in str(info.value)
    assert store.reports == {} and store.layers == {}


def test_truncated_gzip_stream_itself_is_detected() -> None:
    blob = gzip.compress(tar_bytes({"f": os.urandom(100_000)}))
    with pytest.raises(CorruptLayerError, match="truncated"):
        read_layer(io.BytesIO(blob[:-2000]), _want_all, diff_id="", where="t")


def test_decompression_bomb_is_stopped_early() -> None:
    raw = tar_bytes({"zeros": bytes(64 << 20)})
    blob = gzip.compress(raw, compresslevel=9)  # ~1000x
    limits = Limits(max_ratio=50.0, ratio_floor=1 << 20)
    with pytest.raises(LayerLimitError, match="decompression bomb"):
        read_layer(io.BytesIO(blob), _want_all, diff_id="", where="t", limits=limits)


@pytest.mark.parametrize(
    ("limits", "match"),
    [
        (Limits(max_entries=3), "entries"),
        (Limits(max_path_length=20), "longer than"),
        (Limits(max_layer_bytes=100), "larger than"),
        (Limits(max_file_bytes=10), "larger than"),
        (Limits(max_uncompressed_bytes=4096), "unpacks to more"),
    ],
)
def test_hard_limits(limits: Limits, match: str) -> None:
    tree = {f"dir/file-{i}-with-a-longish-name": b"x" * 100 for i in range(5)}
    blob = gzip.compress(tar_bytes(tree))
    with pytest.raises(LayerLimitError, match=match):
        read_layer(io.BytesIO(blob), _want_all, diff_id="", where="t", limits=limits)


def test_not_a_tar_is_corrupt() -> None:
    with pytest.raises(CorruptLayerError):
        read_layer(io.BytesIO(gzip.compress(b"hello" * 1000)), _want_all, diff_id="", where="t")


def test_bad_inputs_leave_no_files_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is extracted: neither a failed nor a good index writes a file anywhere."""
    import tempfile

    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    monkeypatch.setenv("TMPDIR", str(private))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    cases: list[list] = [  # type: ignore[type-arg]
        [{"../evil": b"x"}],
        [{"etc/os-release": Link("a"), "etc/a": Link("os-release")}],
        [{"var/lib/dpkg/status": dpkg_status(("bash", "5"))}],
    ]
    for i, layers in enumerate(cases):
        root = make_layout(tmp_path / f"img{i}", layers)
        before = sorted(p.relative_to(root) for p in root.rglob("*"))
        try:
            Indexer(MemoryStore()).index(OCILayoutSource(root, "test"))
        except UnsafeLayerError:
            pass
        assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    assert list(private.iterdir()) == []
    assert list(work.iterdir()) == []


def test_wanted_hard_link_to_an_unwanted_file_is_resolved(tmp_path: Path) -> None:
    status = dpkg_status(("bash", "5.2"))
    layer = {
        "usr/share/backup/status-copy": status,  # nobody asks for this path...
        "var/lib/dpkg/status": Link("usr/share/backup/status-copy", hard=True),  # ...but this
    }
    indexer, src, _ = _index(tmp_path, [layer])
    report = indexer.index(src)
    assert [(p.name, p.version, p.path) for p in report.packages] == [
        ("bash", "5.2", "var/lib/dpkg/status")
    ]
