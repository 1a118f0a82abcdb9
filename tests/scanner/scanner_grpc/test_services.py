"""Index an OCI layout through the IndexerService and match it through the MatcherService,
both real servers on loopback with mutual TLS, called by the RemoteScanner Central uses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from stockade.model.index_report import Ecosystem, IndexReport, Package, PackageKind
from stockade.scanner.grpc_server import TLSFiles
from stockade.scanner.indexer.engine import Indexer
from stockade.scanner.indexer.registry import RegistryOptions
from stockade.scanner.indexer.service import IndexerServicer, start_server
from stockade.scanner.indexer.sources import open_source
from stockade.scanner.indexer.store import MemoryStore
from stockade.scanner.matcher.match import Matcher, ReportStatus
from stockade.scanner.matcher.service import (
    DATA_HEALTH,
    SERVICE_NAME,
    MatcherServicer,
    start_matcher,
)
from stockade.scanner.remote import IndexerReports, RemoteScanner, RemoteScannerError
from stockade.scanner.v1 import indexer_pb2 as ipb
from stockade.scanner.v1 import indexer_pb2_grpc as ipb_grpc
from stockade.scanner.v1 import matcher_pb2 as mpb
from stockade.scanner.v1 import matcher_pb2_grpc as mpb_grpc
from stockade.scanner.wire import index_report_to_proto, vulnerability_report_from_proto

from .conftest import MatcherHandle, Pki, channel, imagebuilder, loaded_store

SITE = "usr/lib/python3/dist-packages"


def python_image(root: Path) -> Path:
    def dist(name: str, version: str) -> dict[str, bytes]:
        return {
            f"{SITE}/{name}-{version}.dist-info/METADATA": (
                f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
            )
        }

    return imagebuilder.make_layout(
        root,
        [
            {
                "etc/os-release": imagebuilder.OS_RELEASE_DEBIAN,
                "var/lib/dpkg/status": imagebuilder.dpkg_status(("bash", "5.2.15-2")),
            },
            {**dist("requests", "2.25.1"), **dist("Jinja2", "2.11.2"), **dist("urllib3", "1.26.4")},
        ],
        config_extra={"config": {"Labels": {"team": "payments"}, "User": "app"}},
    )


def remote(indexer: int, matcher: int, tls: TLSFiles) -> RemoteScanner:
    return RemoteScanner(f"127.0.0.1:{indexer}", f"127.0.0.1:{matcher}", tls, timeout=30)


async def test_index_then_match_equals_the_in_process_result(
    indexer: int, loaded_matcher: MatcherHandle, certs: Pki, tmp_path: Path
) -> None:
    layout = python_image(tmp_path / "img")
    ref = f"oci:{layout}:test"
    with remote(indexer, loaded_matcher.port, certs.central) as scanner:
        report = await asyncio.to_thread(scanner.index, ref, RegistryOptions())
        vulns = await asyncio.to_thread(scanner.match, report)
        again = await asyncio.to_thread(scanner.report, report.manifest_digest)
        missing = await asyncio.to_thread(scanner.report, "sha256:" + "0" * 64)
        has = await asyncio.to_thread(scanner.has_report, report.manifest_digest)
        status = await asyncio.to_thread(scanner.data_status)

    # the index report crosses the wire whole: equal to indexing in this process
    source = open_source(ref)
    try:
        local = Indexer(MemoryStore()).index(source)
    finally:
        source.close()
    assert report == local
    assert again == local and has and missing is None
    assert report.metadata.label("team") == "payments" and report.metadata.user == "app"
    assert {(p.name, p.version) for p in report.packages} >= {
        ("bash", "5.2.15-2"),
        ("requests", "2.25.1"),
        ("Jinja2", "2.11.2"),
        ("urllib3", "1.26.4"),
    }

    # so is the vulnerability report: equal to matching in this process on the same records
    expected = Matcher(loaded_matcher.servicer.store.records()).match(local)
    assert vulns == expected
    assert vulns.status is ReportStatus.OK
    found = {(f.package, f.id) for f in vulns.findings}
    assert ("requests", "PYSEC-2023-74") in found
    assert ("Jinja2", "PYSEC-2021-66") in found or ("jinja2", "PYSEC-2021-66") in found
    assert {"PYSEC-2021-108", "PYSEC-2023-192", "PYSEC-2023-212"} <= {
        f.id for f in vulns.findings if f.package.lower() == "urllib3"
    }
    # Debian bookworm has no data in this store: said, not passed off as clean
    assert any("no vulnerability data for debian bookworm" in n for n in vulns.notes)
    assert [s.name for s in status] == ["osv-pypi"] and status[0].record_count > 0


async def test_client_from_another_ca_is_refused(
    indexer: int, loaded_matcher: MatcherHandle, stranger: TLSFiles
) -> None:
    for port in (indexer, loaded_matcher.port):
        async with channel(port, stranger) as ch:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await mpb_grpc.MatcherServiceStub(ch).GetMetadata(
                    mpb.GetMetadataRequest(), timeout=5
                )
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    with (
        remote(indexer, loaded_matcher.port, stranger) as scanner,
        pytest.raises(RemoteScannerError, match="cannot be reached"),
    ):
        await asyncio.to_thread(scanner.data_status)


async def test_client_with_another_organizational_unit_is_refused(
    indexer: int, loaded_matcher: MatcherHandle, certs: Pki, tmp_path: Path
) -> None:
    layout = python_image(tmp_path / "img")
    async with channel(indexer, certs.sensor) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await ipb_grpc.IndexerServiceStub(ch).CreateIndexReport(
                ipb.CreateIndexReportRequest(image=f"oci:{layout}:test"), timeout=5
            )
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        health = await health_pb2_grpc.HealthStub(ch).Check(
            health_pb2.HealthCheckRequest(service="stockade.scanner.v1.IndexerService"), timeout=5
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
    async with channel(loaded_matcher.port, certs.sensor) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await mpb_grpc.MatcherServiceStub(ch).GetMetadata(mpb.GetMetadataRequest(), timeout=5)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # the health service needs a certificate from the CA, but not Central's OU
        health = await health_pb2_grpc.HealthStub(ch).Check(
            health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
    with remote(indexer, loaded_matcher.port, certs.sensor) as scanner:
        with pytest.raises(RemoteScannerError, match="refused this client's certificate"):
            await asyncio.to_thread(scanner.index, f"oci:{layout}:test", RegistryOptions())
        with pytest.raises(RemoteScannerError, match="refused this client's certificate"):
            await asyncio.to_thread(scanner.data_status)


async def test_empty_store_says_no_vulnerability_data(
    indexer: int, empty_matcher: MatcherHandle, certs: Pki, tmp_path: Path
) -> None:
    async with channel(empty_matcher.port, certs.central) as ch:
        meta = await mpb_grpc.MatcherServiceStub(ch).GetMetadata(mpb.GetMetadataRequest())
        assert not meta.has_vulnerability_data
        assert meta.status_message == "no vulnerability data"
        assert meta.record_count == 0 and not meta.sources
        hstub = health_pb2_grpc.HealthStub(ch)
        data = await hstub.Check(health_pb2.HealthCheckRequest(service=DATA_HEALTH))
        assert data.status == health_pb2.HealthCheckResponse.NOT_SERVING
        alive = await hstub.Check(health_pb2.HealthCheckRequest(service=""))
        assert alive.status == health_pb2.HealthCheckResponse.SERVING
    layout = python_image(tmp_path / "img")
    with remote(indexer, empty_matcher.port, certs.central) as scanner:
        report = await asyncio.to_thread(scanner.index, f"oci:{layout}:test", RegistryOptions())
        vulns = await asyncio.to_thread(scanner.match, report)
        meta2 = await asyncio.to_thread(scanner.metadata)
    assert vulns.status is ReportStatus.NO_VULNERABILITY_DATA
    assert vulns.findings == () and vulns.notes
    assert meta2.status_message == "no vulnerability data" and not meta2.has_vulnerability_data


async def test_index_errors_keep_the_servers_sentence(
    indexer: int, empty_matcher: MatcherHandle, certs: Pki, tmp_path: Path
) -> None:
    with (
        remote(indexer, empty_matcher.port, certs.central) as scanner,
        pytest.raises(RemoteScannerError, match="is not an OCI image layout") as info,
    ):
        await asyncio.to_thread(scanner.index, f"oci:{tmp_path / 'none'}", RegistryOptions())
    assert info.value.code == grpc.StatusCode.NOT_FOUND
    assert info.value.exit_code == 3


async def test_unreachable_service_is_one_sentence(certs: Pki) -> None:
    with (
        RemoteScanner("127.0.0.1:1", "127.0.0.1:1", certs.central, timeout=3) as scanner,
        pytest.raises(RemoteScannerError) as info,
    ):
        await asyncio.to_thread(scanner.data_status)
    assert str(info.value) == "The Scanner Matcher at 127.0.0.1:1 cannot be reached (UNAVAILABLE)."


async def test_matcher_fetches_the_report_from_the_indexer(
    certs: Pki, database_url: str, tmp_path: Path
) -> None:
    # the Indexer accepts the Matcher's certificate (OU SCANNER) besides Central's
    idx_server, idx_port = await start_server(
        IndexerServicer(MemoryStore(), allow_local_images=True),
        "127.0.0.1:0",
        certs.server,
        client_ous=frozenset({"CENTRAL", "SCANNER"}),
    )
    reports = IndexerReports(f"127.0.0.1:{idx_port}", certs.server, timeout=10)
    store = loaded_store(database_url, tmp_path)
    servicer = MatcherServicer(store, reports.get)
    m_server, m_port = await start_matcher(servicer, "127.0.0.1:0", certs.server)
    try:
        layout = python_image(tmp_path / "img")
        with remote(idx_port, m_port, certs.central) as scanner:
            report = await asyncio.to_thread(scanner.index, f"oci:{layout}:test", RegistryOptions())
            given = await asyncio.to_thread(scanner.match, report)
        async with channel(m_port, certs.central) as ch:
            stub = mpb_grpc.MatcherServiceStub(ch)
            by_digest = await stub.GetVulnerabilities(
                mpb.GetVulnerabilitiesRequest(manifest_digest=report.manifest_digest)
            )
            assert vulnerability_report_from_proto(by_digest) == given
            assert "PYSEC-2023-74" in {f.advisory.id for f in by_digest.findings}
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.GetVulnerabilities(
                    mpb.GetVulnerabilitiesRequest(manifest_digest="sha256:" + "0" * 64)
                )
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.GetVulnerabilities(mpb.GetVulnerabilitiesRequest())
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        await reports.close()
        await m_server.stop(None)
        await idx_server.stop(None)


async def test_matcher_without_indexer_needs_the_report(
    loaded_matcher: MatcherHandle, certs: Pki
) -> None:
    async with channel(loaded_matcher.port, certs.central) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await mpb_grpc.MatcherServiceStub(ch).GetVulnerabilities(
                mpb.GetVulnerabilitiesRequest(manifest_digest="sha256:" + "0" * 64)
            )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no Indexer" in (info.value.details() or "")


async def test_for_central_issues_its_client_certificate_from_the_ca(
    indexer: int, loaded_matcher: MatcherHandle, certs: Pki
) -> None:
    with RemoteScanner.for_central(
        f"127.0.0.1:{indexer}", f"127.0.0.1:{loaded_matcher.port}", certs.ca, timeout=10
    ) as scanner:
        states = await asyncio.to_thread(scanner.data_status)
        has = await asyncio.to_thread(scanner.has_report, "sha256:" + "0" * 64)
    assert [s.name for s in states] == ["osv-pypi"] and not has


async def test_report_larger_than_grpc_default_limit(
    loaded_matcher: MatcherHandle, certs: Pki
) -> None:
    # 20,000 packages with long paths: about 6 MB on the wire, past gRPC's 4 MiB default
    pkgs = tuple(
        Package(
            name=f"pkg{i}",
            version="1.0.0",
            kind=PackageKind.LANGUAGE,
            ecosystem=Ecosystem.PYPI,
            purl=f"pkg:pypi/pkg{i}@1.0.0",
            path=f"opt/app/venv/lib/python3.11/site-packages/pkg{i}-1.0.0.dist-info/METADATA"
            + "/x" * 60,
            analyser="python",
            analyser_version="1",
            layer="sha256:" + "c" * 64,
        )
        for i in range(20_000)
    )
    pkgs += (
        Package(
            name="requests",
            version="2.25.1",
            kind=PackageKind.LANGUAGE,
            ecosystem=Ecosystem.PYPI,
            purl="pkg:pypi/requests@2.25.1",
            path="requests-2.25.1.dist-info/METADATA",
            analyser="python",
            analyser_version="1",
        ),
    )
    big = IndexReport(manifest_digest="sha256:" + "d" * 64, packages=pkgs)
    assert index_report_to_proto(big).ByteSize() > 4 * 1024 * 1024
    with RemoteScanner("127.0.0.1:1", f"127.0.0.1:{loaded_matcher.port}", certs.central) as s:
        vulns = await asyncio.to_thread(s.match, big)
    assert {f.package for f in vulns.findings} == {"requests"}
    assert "PYSEC-2023-74" in {f.id for f in vulns.findings}
