"""The IndexerService gRPC server (``proto/stockade/scanner/v1/indexer.proto``), asyncio API,
mutual TLS with certificates from Central's CA.

Indexing is blocking work (file and network I/O, decompression), so each request runs the
:class:`Indexer` in a worker thread; at most ``max_concurrent`` images are indexed at once.
Image references are registry references only unless the server was started with
``allow_local_images`` (otherwise any client could make the server read its own files).

Indexer errors map to gRPC status codes: not found -> NOT_FOUND, refused credentials ->
PERMISSION_DENIED, registry down -> UNAVAILABLE, unsafe or corrupt content ->
FAILED_PRECONDITION, bad request -> INVALID_ARGUMENT. Details are the error's one sentence.
"""

from __future__ import annotations

import asyncio
import logging

import grpc

from stockade.core.errors import ConfigError, StockadeError
from stockade.model.index_report import IndexReport
from stockade.scanner.grpc_server import DEFAULT_CLIENT_OUS, TLSFiles
from stockade.scanner.grpc_server import start_server as start_grpc_server
from stockade.scanner.indexer.engine import Indexer
from stockade.scanner.indexer.errors import (
    BlobDigestError,
    ImageNotFoundError,
    ImageSourceError,
    LayerError,
    RegistryAuthError,
    RegistryUnavailableError,
)
from stockade.scanner.indexer.image import DEFAULT_PLATFORM, Platform
from stockade.scanner.indexer.registry import RegistryOptions, parse_reference
from stockade.scanner.indexer.sources import open_source
from stockade.scanner.indexer.store import IndexStore
from stockade.scanner.v1 import indexer_pb2 as pb
from stockade.scanner.v1 import indexer_pb2_grpc as pb_grpc
from stockade.scanner.wire import index_report_to_proto as to_proto

logger = logging.getLogger(__name__)


_STATUS: tuple[tuple[type[StockadeError], grpc.StatusCode], ...] = (
    (ImageNotFoundError, grpc.StatusCode.NOT_FOUND),
    (RegistryAuthError, grpc.StatusCode.PERMISSION_DENIED),
    (RegistryUnavailableError, grpc.StatusCode.UNAVAILABLE),
    (BlobDigestError, grpc.StatusCode.FAILED_PRECONDITION),
    (LayerError, grpc.StatusCode.FAILED_PRECONDITION),
    (ConfigError, grpc.StatusCode.INVALID_ARGUMENT),
    (ImageSourceError, grpc.StatusCode.INVALID_ARGUMENT),
)


def status_of(exc: StockadeError) -> grpc.StatusCode:
    for kind, code in _STATUS:
        if isinstance(exc, kind):
            return code
    return grpc.StatusCode.INTERNAL


class IndexerServicer(pb_grpc.IndexerServiceServicer):
    def __init__(
        self, store: IndexStore, *, allow_local_images: bool = False, max_concurrent: int = 2
    ) -> None:
        self.store = store
        self.allow_local_images = allow_local_images
        self._slots = asyncio.Semaphore(max_concurrent)

    def _index(self, request: pb.CreateIndexReportRequest, force: bool) -> IndexReport:
        image = request.image.strip()
        if not image:
            raise ConfigError("The request names no image.")
        local = image.startswith(("oci:", "docker-archive:"))
        if local and not self.allow_local_images:
            raise ConfigError("This Indexer indexes registry images only.")
        platform = Platform.parse(request.platform) if request.platform else DEFAULT_PLATFORM
        options = RegistryOptions()
        if not local:
            host = parse_reference(image).registry
            creds = {}
            if request.HasField("credentials") and request.credentials.username:
                creds[host] = (request.credentials.username, request.credentials.password)
            insecure = frozenset({host}) if request.insecure_registry else frozenset()
            options = RegistryOptions(insecure=insecure, credentials=creds)
        source = open_source(image, platform=platform, registry=options)
        try:
            return Indexer(self.store).index(source, force=force)
        finally:
            source.close()

    async def _run(
        self, request: pb.CreateIndexReportRequest, context: grpc.aio.ServicerContext, force: bool
    ) -> pb.IndexReport:
        async with self._slots:
            try:
                report = await asyncio.to_thread(self._index, request, force)
            except StockadeError as exc:
                await context.abort(status_of(exc), exc.message)
        return to_proto(report)

    async def CreateIndexReport(
        self, request: pb.CreateIndexReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.IndexReport:
        return await self._run(request, context, force=True)

    async def GetOrCreateIndexReport(
        self, request: pb.CreateIndexReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.IndexReport:
        return await self._run(request, context, force=False)

    async def GetIndexReport(
        self, request: pb.GetIndexReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.IndexReport:
        report = await asyncio.to_thread(self.store.stored_report, request.manifest_digest)
        if report is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"No index report for {request.manifest_digest[:80]}."
            )
        assert report is not None
        return to_proto(report)

    async def HasIndexReport(
        self, request: pb.HasIndexReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.HasIndexReportResponse:
        report = await asyncio.to_thread(self.store.stored_report, request.manifest_digest)
        return pb.HasIndexReportResponse(exists=report is not None)


async def start_server(
    servicer: IndexerServicer,
    listen: str,
    tls: TLSFiles | None,
    *,
    client_ous: frozenset[str] = DEFAULT_CLIENT_OUS,
) -> tuple[grpc.aio.Server, int]:
    """Start serving on ``listen`` (host:port; port 0 picks one), with the health service.
    Mutual TLS, and clients' certificates must carry one of ``client_ous``, unless ``tls`` is
    None, which only loopback addresses may use (tests, single-machine mode)."""
    return await start_grpc_server(
        lambda server: pb_grpc.add_IndexerServiceServicer_to_server(servicer, server),  # type: ignore[no-untyped-call]
        listen,
        tls,
        name="IndexerService",
        client_ous=client_ous,
    )
