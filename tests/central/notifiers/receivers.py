"""Real servers on loopback that notifiers deliver to: HTTP (plain or TLS), syslog over
TCP (plain or TLS) and UDP, and SMTP (aiosmtpd, with STARTTLS and authentication)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from stockade.core import pki


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TLSFiles:
    ca_pem: str
    server_ctx: ssl.SSLContext


def make_tls() -> TLSFiles:
    """A CA and a server certificate for 127.0.0.1/localhost, from Stockade's own PKI."""
    ca = pki.create_ca("notifier test CA")
    leaf = pki.issue(ca, "localhost", dns_names=["localhost"], ip_addresses=["127.0.0.1"])
    tmp = Path(tempfile.mkdtemp(prefix="notifier-tls-"))
    (tmp / "cert.pem").write_bytes(leaf.cert_pem + ca.cert_pem)
    (tmp / "key.pem").write_bytes(leaf.key_pem)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return TLSFiles(ca.cert_pem.decode(), ctx)


# --- HTTP


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """A minimal HTTP/1.1 server on asyncio: records each request and answers with
    ``status(request)`` (200 by default). Stop and start again on the same port to play a
    receiver that is down for a while."""

    port: int = field(default_factory=free_port)
    tls: ssl.SSLContext | None = None
    status: Callable[[HttpRequest], int] = lambda _r: 200
    answer: bytes = b'{"text":"Success","code":0}'
    requests: list[HttpRequest] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def start(self) -> HttpReceiver:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, ssl=self.tls, reuse_address=True
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            req = HttpRequest(method, path, headers, body)
            code = self.status(req)
            if 200 <= code < 300:
                self.requests.append(req)
            payload = self.answer if code < 300 else b"{}"
            writer.write(
                f"HTTP/1.1 {code} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


# --- syslog


_FRAME = re.compile(rb"^(\d+) ")


@dataclass
class SyslogReceiver:
    """TCP (octet-counted frames, optionally TLS) or UDP; keeps each message's bytes."""

    transport: str = "tcp"
    tls: ssl.SSLContext | None = None
    port: int = field(default_factory=free_port)
    messages: list[bytes] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _udp: asyncio.DatagramTransport | None = None

    async def start(self) -> SyslogReceiver:
        if self.transport == "udp":
            loop = asyncio.get_running_loop()
            receiver = self

            class Proto(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr: Any) -> None:
                    receiver.messages.append(data)

            self._udp, _ = await loop.create_datagram_endpoint(
                Proto, local_addr=("127.0.0.1", self.port)
            )
        else:
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, ssl=self.tls, reuse_address=True
            )
        return self

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = b""
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                buf += chunk
                while True:
                    m = _FRAME.match(buf)
                    if not m or len(buf) < m.end() + int(m.group(1)):
                        break
                    n = int(m.group(1))
                    self.messages.append(buf[m.end() : m.end() + n])
                    buf = buf[m.end() + n :]
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


# --- SMTP


class _Collect:
    def __init__(self, sink: list[tuple[str, list[str], Message]]) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sink.append(
            (
                envelope.mail_from,
                list(envelope.rcpt_tos),
                message_from_bytes(envelope.content, policy=email_policy.default),
            )
        )
        return "250 Message accepted for delivery"


@dataclass
class SmtpReceiver:
    """aiosmtpd in its own thread; with ``tls`` it offers STARTTLS and requires it and
    authentication (``user``/``password``) before mail."""

    tls: ssl.SSLContext | None = None
    user: str = "alerts"
    password: str = "s3cret-smtp-pw"
    port: int = field(default_factory=free_port)
    mails: list[tuple[str, list[str], Message]] = field(default_factory=list)
    _controller: Controller | None = None

    def start(self) -> SmtpReceiver:
        def check(
            server: Any, session: Any, envelope: Any, mechanism: str, auth: Any
        ) -> AuthResult:
            ok = (
                isinstance(auth, LoginPassword)
                and auth.login.decode() == self.user
                and auth.password.decode() == self.password
            )
            return AuthResult(success=ok, handled=False)

        kwargs: dict[str, Any] = {}
        if self.tls is not None:
            kwargs = {
                "tls_context": self.tls,
                "require_starttls": True,
                "authenticator": check,
                "auth_required": True,
            }
        self._controller = Controller(
            _Collect(self.mails), hostname="127.0.0.1", port=self.port, **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
