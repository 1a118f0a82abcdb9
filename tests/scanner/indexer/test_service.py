"""IndexerService over gRPC with mutual TLS from a Stockade CA, on loopback."""

from __future__ import annotations

import filecmp
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from stockade.core import pki
from stockade.scanner.indexer.service import IndexerServicer, TLSFiles, start_server
from stockade.scanner.indexer.store import MemoryStore
from stockade.scanner.v1 import indexer_pb2 as pb
from stockade.scanner.v1 import indexer_pb2_grpc as pb_grpc

from .conftest import REPO
from .imagebuilder import OS_RELEASE_DEBIAN, dpkg_status, make_layout


@pytest.fixture(scope="module")
def ca() -> pki.KeyPair:
    return pki.create_ca("Test Central CA")


@pytest.fixture
async def server(ca: pki.KeyPair) -> AsyncIterator[tuple[int, MemoryStore]]:
    leaf = pki.issue(ca, "scanner", ip_addresses=["127.0.0.1"], organizational_unit="SCANNER")
    store = MemoryStore()
    srv, port = await start_server(
        IndexerServicer(store, allow_local_images=True),
        "127.0.0.1:0",
        TLSFiles(cert=leaf.cert_pem, key=leaf.key_pem, ca=ca.cert_pem),
    )
    yield port, store
    await srv.stop(None)


def _channel(port: int, ca: pki.KeyPair, client: pki.KeyPair | None) -> grpc.aio.Channel:
    creds = grpc.ssl_channel_credentials(
        root_certificates=ca.cert_pem,
        private_key=client.key_pem if client else None,
        certificate_chain=client.cert_pem if client else None,
    )
    return grpc.aio.secure_channel(f"127.0.0.1:{port}", creds)


async def test_create_get_has(
    server: tuple[int, MemoryStore], ca: pki.KeyPair, tmp_path: Path
) -> None:
    port, _ = server
    root = make_layout(
        tmp_path / "img",
        [
            {
                "etc/os-release": OS_RELEASE_DEBIAN,
                "var/lib/dpkg/status": dpkg_status(("bash", "5.2")),
            }
        ],
        config_extra={"config": {"Labels": {"a": "b"}}},
    )
    client = pki.issue(ca, "central", organizational_unit="CENTRAL", server=False)
    async with _channel(port, ca, client) as channel:
        stub = pb_grpc.IndexerServiceStub(channel)
        report = await stub.CreateIndexReport(pb.CreateIndexReportRequest(image=f"oci:{root}:test"))
        assert [(p.name, p.version, p.ecosystem) for p in report.packages] == [
            ("bash", "5.2", "deb")
        ]
        assert report.distributions[0].version_codename == "bookworm"
        assert [(x.key, x.value) for x in report.metadata.labels] == [("a", "b")]
        digest = report.manifest_digest
        has = await stub.HasIndexReport(pb.HasIndexReportRequest(manifest_digest=digest))
        assert has.exists
        got = await stub.GetIndexReport(pb.GetIndexReportRequest(manifest_digest=digest))
        assert got.packages == report.packages
        again = await stub.GetOrCreateIndexReport(
            pb.CreateIndexReportRequest(image=f"oci:{root}:test")
        )
        assert again.manifest_digest == digest
        missing = "sha256:" + "0" * 64
        assert not (
            await stub.HasIndexReport(pb.HasIndexReportRequest(manifest_digest=missing))
        ).exists
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetIndexReport(pb.GetIndexReportRequest(manifest_digest=missing))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateIndexReport(
                pb.CreateIndexReportRequest(image=f"oci:{tmp_path / 'none'}")
            )
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert "is not an OCI image layout" in (info.value.details() or "")


async def test_client_without_certificate_is_refused(
    server: tuple[int, MemoryStore], ca: pki.KeyPair
) -> None:
    port, _ = server
    async with _channel(port, ca, None) as channel:
        stub = pb_grpc.IndexerServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.HasIndexReport(pb.HasIndexReportRequest(manifest_digest="x"), timeout=5)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    stranger = pki.issue(pki.create_ca("Other CA"), "intruder", server=False)
    async with _channel(port, ca, stranger) as channel:
        stub = pb_grpc.IndexerServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.HasIndexReport(pb.HasIndexReportRequest(manifest_digest="x"), timeout=5)


async def test_local_images_need_permission(ca: pki.KeyPair, tmp_path: Path) -> None:
    srv, port = await start_server(IndexerServicer(MemoryStore()), "127.0.0.1:0", None)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.IndexerServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.CreateIndexReport(pb.CreateIndexReportRequest(image=f"oci:{tmp_path}"))
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        await srv.stop(None)


def test_generated_code_matches_the_proto(tmp_path: Path) -> None:
    subprocess.run(["bash", str(REPO / "scripts" / "gen-proto.sh"), str(tmp_path)], check=True)
    for name in ("indexer_pb2.py", "indexer_pb2.pyi", "indexer_pb2_grpc.py"):
        generated = tmp_path / "stockade" / "scanner" / "v1" / name
        committed = REPO / "src" / "stockade" / "scanner" / "v1" / name
        assert filecmp.cmp(generated, committed, shallow=False), f"{name}: run scripts/gen-proto.sh"
