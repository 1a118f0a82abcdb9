"""A client of the Indexer and Matcher run as their own services (gRPC, mutual TLS).

:class:`RemoteScanner` has the methods of Central's ``ScannerBackend`` protocol (``index``,
``match``, ``report``, ``data_status``), with the same types in and out, so Central can use
services run apart exactly as it uses the in-process ``LocalScanner``. The calls are blocking
(Central runs its backend in worker threads); each opens no connection of its own: one channel
per service is kept for the scanner's life.

Failures raise :class:`RemoteScannerError` (exit code 3) with one sentence: the server's own
sentence for a refused request (image not found, bad reference), or which service could not be
reached. A stored report that does not exist is ``None`` from :meth:`RemoteScanner.report`,
not an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import grpc

from stockade.core import pki
from stockade.core.errors import StockadeError
from stockade.model.index_report import IndexReport
from stockade.scanner.grpc_server import MAX_MESSAGE, TLSFiles
from stockade.scanner.indexer.registry import RegistryOptions, parse_reference
from stockade.scanner.matcher.match import VulnerabilityReport
from stockade.scanner.matcher.store import SourceState
from stockade.scanner.v1 import indexer_pb2 as ipb
from stockade.scanner.v1 import indexer_pb2_grpc as ipb_grpc
from stockade.scanner.v1 import matcher_pb2 as mpb
from stockade.scanner.v1 import matcher_pb2_grpc as mpb_grpc
from stockade.scanner.wire import (
    index_report_from_proto,
    index_report_to_proto,
    source_state_from_proto,
    vulnerability_report_from_proto,
)

logger = logging.getLogger(__name__)

_LOCAL_PREFIXES = ("oci:", "docker-archive:")
STATUS_TIMEOUT = 5.0  # seconds a data-status question may take


class RemoteScannerError(StockadeError):
    """The remote Indexer or Matcher refused the request or could not be reached."""

    exit_code = 3

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class MatcherMetadata:
    has_vulnerability_data: bool
    status_message: str
    record_count: int
    sources: tuple[SourceState, ...]
    update_errors: tuple[str, ...]


_TRANSPORT = ("failed to connect", "socket closed", "deadline exceeded", "connection", "ssl")


def _error(service: str, endpoint: str, exc: grpc.RpcError) -> RemoteScannerError:
    code: grpc.StatusCode = exc.code()
    details = (exc.details() or "").strip()
    transport = code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) and (
        not details or details.lower().startswith(_TRANSPORT)
    )
    if transport:
        # gRPC's own text (addresses, TLS errors) stays in the log, not in the sentence
        logger.warning("Scanner %s at %s: %s", service, endpoint, details[:300])
        message = f"The Scanner {service} at {endpoint} cannot be reached ({code.name})."
    elif code is grpc.StatusCode.PERMISSION_DENIED and "organizational unit" in details:
        message = f"The Scanner {service} at {endpoint} refused this client's certificate."
    else:
        # the server's own sentence (image not found, registry down, bad request)
        message = details[:300] or f"The Scanner {service} failed ({code.name})."
    return RemoteScannerError(message, code)


def _channel(endpoint: str, tls: TLSFiles | None, server_name: str | None) -> grpc.Channel:
    options: list[tuple[str, object]] = [
        ("grpc.max_receive_message_length", MAX_MESSAGE),
        ("grpc.max_send_message_length", MAX_MESSAGE),
    ]
    if tls is None:
        return grpc.insecure_channel(endpoint, options=options)
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    creds = grpc.ssl_channel_credentials(
        root_certificates=tls.ca, private_key=tls.key, certificate_chain=tls.cert
    )
    return grpc.secure_channel(endpoint, creds, options=options)


class RemoteScanner:
    """Indexer and Matcher over gRPC. ``tls`` is this client's certificate and key (OU
    CENTRAL) and the CA the services' certificates chain to; None only for plain-text
    loopback services. ``server_name`` overrides the name checked in the services'
    certificates (when the endpoints are addresses the certificates do not name)."""

    def __init__(
        self,
        indexer_endpoint: str,
        matcher_endpoint: str,
        tls: TLSFiles | None,
        *,
        server_name: str | None = None,
        timeout: float = 600.0,
        platform: str = "",
    ) -> None:
        self.indexer_endpoint = indexer_endpoint
        self.matcher_endpoint = matcher_endpoint
        self.timeout = timeout
        self.platform = platform
        self._indexer_channel = _channel(indexer_endpoint, tls, server_name)
        self._matcher_channel = _channel(matcher_endpoint, tls, server_name)
        self._indexer = ipb_grpc.IndexerServiceStub(self._indexer_channel)  # type: ignore[no-untyped-call]
        self._matcher = mpb_grpc.MatcherServiceStub(self._matcher_channel)  # type: ignore[no-untyped-call]

    @classmethod
    def for_central(
        cls, indexer_endpoint: str, matcher_endpoint: str, ca: pki.KeyPair, **kwargs: Any
    ) -> RemoteScanner:
        """A client for Central: a client certificate (OU CENTRAL) issued now by Central's own
        CA, which also signed the services' certificates."""
        leaf = pki.issue(
            ca,
            "central",
            organizational_unit="CENTRAL",
            server=False,
        )
        tls = TLSFiles(cert=leaf.cert_pem, key=leaf.key_pem, ca=ca.cert_pem)
        return cls(indexer_endpoint, matcher_endpoint, tls, **kwargs)

    def close(self) -> None:
        self._indexer_channel.close()
        self._matcher_channel.close()

    def __enter__(self) -> RemoteScanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ScannerBackend ------------------------------------------------------------------------
    def index(self, reference: str, options: RegistryOptions) -> IndexReport:
        """The image's index report (a stored one when current, else indexed now)."""
        request = ipb.CreateIndexReportRequest(image=reference, platform=self.platform)
        if not reference.startswith(_LOCAL_PREFIXES):
            host = parse_reference(reference).registry
            request.insecure_registry = host in options.insecure
            if host in options.credentials:
                user, password = options.credentials[host]
                request.credentials.CopyFrom(
                    ipb.RegistryCredentials(username=user, password=password)
                )
        try:
            msg = self._indexer.GetOrCreateIndexReport(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise _error("Indexer", self.indexer_endpoint, exc) from exc
        return index_report_from_proto(msg)

    def match(self, report: IndexReport) -> VulnerabilityReport:
        request = mpb.GetVulnerabilitiesRequest(
            manifest_digest=report.manifest_digest, contents=index_report_to_proto(report)
        )
        try:
            msg = self._matcher.GetVulnerabilities(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise _error("Matcher", self.matcher_endpoint, exc) from exc
        return vulnerability_report_from_proto(msg)

    def report(self, manifest_digest: str) -> IndexReport | None:
        request = ipb.GetIndexReportRequest(manifest_digest=manifest_digest)
        try:
            msg = self._indexer.GetIndexReport(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            if exc.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise _error("Indexer", self.indexer_endpoint, exc) from exc
        return index_report_from_proto(msg)

    def data_status(self) -> list[SourceState]:
        # asked by readiness and status pages: a Matcher that does not answer soon is down
        return list(self.metadata(timeout=min(self.timeout, STATUS_TIMEOUT)).sources)

    # -- more ----------------------------------------------------------------------------------
    def has_report(self, manifest_digest: str) -> bool:
        request = ipb.HasIndexReportRequest(manifest_digest=manifest_digest)
        try:
            return bool(self._indexer.HasIndexReport(request, timeout=self.timeout).exists)
        except grpc.RpcError as exc:
            raise _error("Indexer", self.indexer_endpoint, exc) from exc

    def metadata(self, timeout: float | None = None) -> MatcherMetadata:
        try:
            msg = self._matcher.GetMetadata(
                mpb.GetMetadataRequest(), timeout=timeout or self.timeout
            )
        except grpc.RpcError as exc:
            raise _error("Matcher", self.matcher_endpoint, exc) from exc
        return MatcherMetadata(
            has_vulnerability_data=msg.has_vulnerability_data,
            status_message=msg.status_message,
            record_count=msg.record_count,
            sources=tuple(source_state_from_proto(s) for s in msg.sources),
            update_errors=tuple(msg.update_errors),
        )


class IndexerReports:
    """An asyncio client of IndexerService's GetIndexReport, for a Matcher asked to match a
    report it was given only the digest of (the Matcher's own certificate as the client's:
    the Indexer must accept its OU, e.g. ``--client-ou CENTRAL --client-ou SCANNER``)."""

    def __init__(
        self,
        endpoint: str,
        tls: TLSFiles | None,
        *,
        server_name: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        options: list[tuple[str, object]] = [("grpc.max_receive_message_length", MAX_MESSAGE)]
        if tls is None:
            self._channel = grpc.aio.insecure_channel(endpoint, options=options)
        else:
            if server_name:
                options.append(("grpc.ssl_target_name_override", server_name))
            creds = grpc.ssl_channel_credentials(
                root_certificates=tls.ca, private_key=tls.key, certificate_chain=tls.cert
            )
            self._channel = grpc.aio.secure_channel(endpoint, creds, options=options)
        self._stub = ipb_grpc.IndexerServiceStub(self._channel)  # type: ignore[no-untyped-call]

    async def get(self, manifest_digest: str) -> IndexReport | None:
        """The stored report, None when the Indexer has none; RemoteScannerError otherwise."""
        request = ipb.GetIndexReportRequest(manifest_digest=manifest_digest)
        try:
            msg = await self._stub.GetIndexReport(request, timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise _error("Indexer", self.endpoint, exc) from exc
        return index_report_from_proto(msg)

    async def close(self) -> None:
        await self._channel.close()
