"""Real IndexerService and MatcherService on loopback ports in the test process, with
certificates from a Stockade CA (stockade.core.pki)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from stockade.core import pki
from stockade.scanner.grpc_server import TLSFiles
from stockade.scanner.indexer.service import IndexerServicer, start_server
from stockade.scanner.indexer.store import MemoryStore
from stockade.scanner.matcher.service import MatcherServicer, start_matcher
from stockade.scanner.matcher.sources import make_updater
from stockade.scanner.matcher.store import VulnerabilityStore

REPO = Path(__file__).resolve().parents[3]
VULNDATA = REPO / ".." / "shared" / "vulndata"
#: the OSV PyPI advisories loaded into the test store (a small, real subset)
PYPI_PACKAGES = ("requests", "jinja2", "urllib3")

# the Indexer suite's builder of small exact OCI layouts (tests/scanner is not a package)
_spec = importlib.util.spec_from_file_location(
    "indexer_imagebuilder", REPO / "tests" / "scanner" / "indexer" / "imagebuilder.py"
)
assert _spec and _spec.loader
imagebuilder = importlib.util.module_from_spec(_spec)
sys.modules["indexer_imagebuilder"] = imagebuilder  # dataclasses look their module up
_spec.loader.exec_module(imagebuilder)


@dataclass(frozen=True)
class Pki:
    ca: pki.KeyPair
    server: TLSFiles  # the services' certificate (OU SCANNER), key and the CA
    central: TLSFiles  # a client certificate with OU CENTRAL
    sensor: TLSFiles  # same CA, OU SENSOR: not allowed to call the Scanner


def _files(leaf: pki.KeyPair, ca: pki.KeyPair) -> TLSFiles:
    return TLSFiles(cert=leaf.cert_pem, key=leaf.key_pem, ca=ca.cert_pem)


@pytest.fixture(scope="session")
def certs() -> Pki:
    ca = pki.create_ca("Test Central CA")
    scanner = pki.issue(
        ca,
        "scanner",
        dns_names=["localhost"],
        ip_addresses=["127.0.0.1"],
        organizational_unit="SCANNER",
    )
    return Pki(
        ca=ca,
        server=_files(scanner, ca),
        central=_files(pki.issue(ca, "central", organizational_unit="CENTRAL", server=False), ca),
        sensor=_files(pki.issue(ca, "sensor", organizational_unit="SENSOR", server=False), ca),
    )


@pytest.fixture(scope="session")
def stranger(certs: Pki) -> TLSFiles:
    other = pki.create_ca("Another CA")
    leaf = pki.issue(other, "central", organizational_unit="CENTRAL", server=False)
    return TLSFiles(cert=leaf.cert_pem, key=leaf.key_pem, ca=certs.ca.cert_pem)


@pytest.fixture
async def indexer(certs: Pki) -> AsyncIterator[int]:
    server, port = await start_server(
        IndexerServicer(MemoryStore(), allow_local_images=True), "127.0.0.1:0", certs.server
    )
    yield port
    await server.stop(None)


def pypi_subset(tmp: Path) -> Path:
    out = tmp / "osv-pypi"
    for name in PYPI_PACKAGES:
        shutil.copytree(VULNDATA / "osv-pypi" / "vulns" / name, out / name)
    return out


def loaded_store(db_url: str, tmp: Path) -> VulnerabilityStore:
    store = VulnerabilityStore(db_url)
    store.migrate()
    run = store.update(make_updater("osv-pypi", offline=pypi_subset(tmp)))
    assert run.status == "updated", run
    return store


@dataclass
class MatcherHandle:
    port: int
    servicer: MatcherServicer


async def start_matcher_on(
    store: VulnerabilityStore, tls: TLSFiles
) -> tuple[grpc.aio.Server, MatcherHandle]:
    servicer = MatcherServicer(store)
    server, port = await start_matcher(servicer, "127.0.0.1:0", tls)
    return server, MatcherHandle(port, servicer)


@pytest.fixture
async def loaded_matcher(
    certs: Pki, database_url: str, tmp_path: Path
) -> AsyncIterator[MatcherHandle]:
    store = loaded_store(database_url, tmp_path)
    server, handle = await start_matcher_on(store, certs.server)
    yield handle
    await server.stop(None)


@pytest.fixture
async def empty_matcher(certs: Pki, database_url: str) -> AsyncIterator[MatcherHandle]:
    store = VulnerabilityStore(database_url)
    store.migrate()
    server, handle = await start_matcher_on(store, certs.server)
    yield handle
    await server.stop(None)


def channel(port: int, tls: TLSFiles | None) -> grpc.aio.Channel:
    creds = grpc.ssl_channel_credentials(
        root_certificates=tls.ca if tls else None,
        private_key=tls.key if tls else None,
        certificate_chain=tls.cert if tls else None,
    )
    return grpc.aio.secure_channel(f"127.0.0.1:{port}", creds)
