"""What the Scanner's gRPC services share: mutual TLS, the client-certificate check and the
standard health service.

Every service loads its certificate, key and the CA its clients must chain to from files
(:class:`TLSFiles`), and requires a client certificate at the TLS layer. On top of that, each
call's client certificate must carry an organizational unit the service accepts
(``CENTRAL`` by default; certificates come from ``stockade.core.pki.issue(...,
organizational_unit=...)``): a certificate from the right CA issued to another component (a
Sensor, say) is refused with PERMISSION_DENIED. The health service
(``grpc.health.v1.Health``) is exempt from the OU check so a probe can use the service's own
certificate, but it still needs one from the CA.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from stockade.core.errors import ConfigError

logger = logging.getLogger(__name__)

#: organizational units of the client certificates the Scanner's services accept by default
DEFAULT_CLIENT_OUS: frozenset[str] = frozenset({"CENTRAL"})
HEALTH_PREFIX = "/grpc.health.v1.Health/"
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
#: an index report of a large image (tens of thousands of packages) runs past gRPC's 4 MiB
MAX_MESSAGE = 64 * 1024 * 1024
_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    ("grpc.max_send_message_length", MAX_MESSAGE),
]


@dataclass(frozen=True)
class TLSFiles:
    """PEM bytes: this service's certificate and key, and the CA its clients must chain to."""

    cert: bytes
    key: bytes
    ca: bytes

    @classmethod
    def load(cls, cert: str | Path, key: str | Path, ca: str | Path) -> TLSFiles:
        """Read the three PEM files; a missing or unreadable one is a ConfigError."""
        out: list[bytes] = []
        for what, path in (("certificate", cert), ("key", key), ("CA", ca)):
            try:
                out.append(Path(path).read_bytes())
            except OSError as exc:
                raise ConfigError(f"Cannot read the TLS {what} file {path}.") from exc
        return cls(cert=out[0], key=out[1], ca=out[2])


def peer_organizational_units(context: grpc.aio.ServicerContext) -> list[str]:
    """The OU values of the calling client's certificate (empty when there is none)."""
    auth = context.auth_context() or {}
    pems: list[bytes] = list(auth.get("x509_pem_cert", []))
    if not pems:
        return []
    try:
        cert = x509.load_pem_x509_certificate(pems[0])
    except ValueError:
        return []
    return [
        str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    ]


_Behaviour = Callable[[object, grpc.aio.ServicerContext], Awaitable[object]]


class ClientUnitInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses (PERMISSION_DENIED) calls whose client certificate has no allowed OU."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = frozenset(allowed)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or method.startswith(HEALTH_PREFIX):
            return handler
        if handler.unary_unary is None:
            # every Scanner RPC is unary; refuse any other kind rather than let it through
            async def refuse(request: object, context: grpc.aio.ServicerContext) -> None:
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Streaming is not served.")

            return grpc.unary_unary_rpc_method_handler(refuse)
        inner: _Behaviour = handler.unary_unary
        allowed = self.allowed

        async def guarded(request: object, context: grpc.aio.ServicerContext) -> object:
            units = peer_organizational_units(context)
            if not allowed.intersection(units):
                logger.warning("refused %s: client certificate OU %s not allowed", method, units)
                await context.abort(
                    grpc.StatusCode.PERMISSION_DENIED,
                    "The client certificate's organizational unit is not allowed to call "
                    "this service.",
                )
            return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


async def start_server(
    register: Callable[[grpc.aio.Server], None],
    listen: str,
    tls: TLSFiles | None,
    *,
    name: str,
    client_ous: Iterable[str] = DEFAULT_CLIENT_OUS,
    health_servicer: health.aio.HealthServicer | None = None,
) -> tuple[grpc.aio.Server, int]:
    """Start a gRPC server on ``listen`` (host:port; port 0 picks one) with the services
    ``register`` adds, plus the health service (``health_servicer``, or one reporting
    SERVING). Mutual TLS with the OU check unless ``tls`` is None, which only loopback
    addresses may use (tests, single-machine mode)."""
    host = listen.rsplit(":", 1)[0].strip("[]")
    if tls is None:
        if host not in _LOOPBACK:
            raise ConfigError(f"The {name} serves without TLS on loopback addresses only.")
        server = grpc.aio.server(options=_OPTIONS)
    else:
        server = grpc.aio.server(interceptors=[ClientUnitInterceptor(client_ous)], options=_OPTIONS)
    register(server)
    if health_servicer is None:
        health_servicer = health.aio.HealthServicer()
        for service in ("", f"stockade.scanner.v1.{name}"):
            await health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    try:
        if tls is None:
            port = server.add_insecure_port(listen)
        else:
            creds = grpc.ssl_server_credentials(
                [(tls.key, tls.cert)], root_certificates=tls.ca, require_client_auth=True
            )
            port = server.add_secure_port(listen, creds)
    except RuntimeError as exc:
        raise ConfigError(f"The {name} cannot listen on {listen}.") from exc
    await server.start()
    logger.info("%s listening on port %d", name, port)
    return server, port


async def serve_until_signalled(server: grpc.aio.Server, *, grace: float = 10.0) -> None:
    """Serve until SIGTERM or SIGINT, then stop taking calls and give the ones under way
    ``grace`` seconds to finish (a Kubernetes rollout sends SIGTERM)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    logger.info("stopping (signal); calls under way get %.0f s", grace)
    await server.stop(grace)
