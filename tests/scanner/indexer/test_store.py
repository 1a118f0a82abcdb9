"""Layer cache and report store in Scanner DB (real PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from stockade.scanner.indexer.analysers import PACKAGE_ANALYSERS
from stockade.scanner.indexer.analysers.dpkg import DpkgAnalyser
from stockade.scanner.indexer.analysers.python import PythonAnalyser
from stockade.scanner.indexer.engine import Indexer
from stockade.scanner.indexer.errors import BlobDigestError, CorruptLayerError
from stockade.scanner.indexer.oci_layout import OCILayoutSource
from stockade.scanner.indexer.store import PostgresStore

from .imagebuilder import OS_RELEASE_DEBIAN, dpkg_status, make_layout

pytestmark = pytest.mark.integration

BASE = {"etc/os-release": OS_RELEASE_DEBIAN, "var/lib/dpkg/status": dpkg_status(("bash", "5.2"))}


def _two_images(tmp_path: Path) -> tuple[OCILayoutSource, OCILayoutSource]:
    one = make_layout(
        tmp_path / "one", [BASE, {"app/a.dist-info/METADATA": b"Name: a\nVersion: 1\n"}]
    )
    two = make_layout(
        tmp_path / "two", [BASE, {"app/b.dist-info/METADATA": b"Name: b\nVersion: 2\n"}]
    )
    return OCILayoutSource(one, "test"), OCILayoutSource(two, "test")


def test_shared_base_layer_is_read_once(tmp_path: Path, database_url: str) -> None:
    first, second = _two_images(tmp_path)
    store = PostgresStore(database_url)
    indexer = Indexer(store)
    r1 = indexer.index(first)
    assert indexer.layers_read == [layer.diff_id for layer in r1.layers]
    # a second Indexer (another process, same Scanner DB) reads only the new top layer
    indexer2 = Indexer(PostgresStore(database_url))
    r2 = indexer2.index(second)
    assert r1.layers[0].diff_id == r2.layers[0].diff_id
    assert indexer2.layers_read == [r2.layers[1].diff_id]
    assert {(p.name, p.version) for p in r2.packages} == {("bash", "5.2"), ("b", "2")}
    assert r2.distribution is not None and r2.distribution.did == "debian"
    # the stored report comes back without reading anything
    again = indexer2.index(second)
    assert indexer2.layers_read == []
    assert again == r2


def test_new_analyser_version_rereads_only_for_that_analyser(
    tmp_path: Path, database_url: str
) -> None:
    first, _ = _two_images(tmp_path)
    Indexer(PostgresStore(database_url)).index(first)

    class PythonV2(PythonAnalyser):
        version = PythonAnalyser.version + "-next"

    analysers = tuple(PythonV2() if a.name == "python" else a for a in PACKAGE_ANALYSERS)
    indexer = Indexer(PostgresStore(database_url), analysers=analysers)
    report = indexer.index(first)
    assert len(indexer.layers_read) == 2  # python results are missing for both layers
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT analyser, analyser_version, count(*) FROM indexer_layer_results "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    assert ("python", PythonAnalyser.version, 2) in rows and ("python", PythonV2.version, 2) in rows
    assert ("dpkg", DpkgAnalyser.version, 2) in rows  # not duplicated
    assert {p.analyser_version for p in report.packages if p.analyser == "python"} == {
        PythonV2.version
    }


def test_failed_index_stores_no_report(tmp_path: Path, database_url: str) -> None:
    first, _ = _two_images(tmp_path)
    blobs = sorted((first.root / "blobs" / "sha256").iterdir(), key=lambda p: p.stat().st_size)
    top = [b for b in blobs if b.read_bytes()[:2] == b"\x1f\x8b"]
    for b in top:
        data = b.read_bytes()
        b.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    store = PostgresStore(database_url)
    with pytest.raises((BlobDigestError, CorruptLayerError)):
        Indexer(store).index(first)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM indexer_reports").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM indexer_layer_results").fetchone() == (0,)


def test_migrations_are_idempotent(database_url: str) -> None:
    PostgresStore(database_url).close()
    store = PostgresStore(database_url)
    store.migrate()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM indexer_schema_migrations").fetchone() == (1,)


def test_concurrent_indexes_read_a_shared_layer_once(tmp_path: Path, database_url: str) -> None:
    """Two images with one base layer, indexed at the same moment in two threads (as Central
    does for concurrent scans): the base layer is fetched and read by one of them only."""
    import threading

    first, second = _two_images(tmp_path)
    barrier = threading.Barrier(2)
    read: list[list[str]] = [[], []]
    reports = [None, None]

    def run(i: int, source: OCILayoutSource) -> None:
        indexer = Indexer(PostgresStore(database_url))
        barrier.wait()
        reports[i] = indexer.index(source)
        read[i] = indexer.layers_read

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    base = reports[0].layers[0].diff_id
    assert base == reports[1].layers[0].diff_id
    assert sorted(read[0] + read[1]).count(base) == 1
    assert {p.name for p in reports[1].packages} == {"bash", "b"}
