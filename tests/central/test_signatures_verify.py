"""Signature verification against registries that misbehave: one that is gone, one that
accepts connections and never answers, and one that answers a byte at a time. Each way the
image is "not verified" with a reason, per integration; a slow registry cannot hold a scan past
the budget, nor the worker thread much beyond it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from stockade.central import signatures
from stockade.central.store.signatures import KeyEntry, SignatureIntegration
from stockade.core.errors import StockadeError
from stockade.scanner.indexer.registry import RegistryOptions

DIGEST = "sha256:" + "ab" * 32
PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
INTEGRATIONS = [
    SignatureIntegration(f"io.stackrox.signatureintegration.{n}", n, (KeyEntry("k", PEM),))
    for n in ("a", "b")
]


@pytest.fixture
def silent_registry() -> Iterator[socket.socket]:
    """Listens on loopback; connections wait in the backlog and are never answered."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    try:
        yield srv
    finally:
        srv.close()


class Dripping(ThreadingHTTPServer):
    daemon_threads = True
    stop = threading.Event()
    hung_up: list[float]


class DripHandler(BaseHTTPRequestHandler):
    """/v2/ at once; any manifest as a 100 kB body sent one byte every 50 ms."""

    protocol_version = "HTTP/1.1"
    server: Dripping

    def do_GET(self) -> None:
        if self.path == "/v2/":
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        for _ in range(2000):  # bounded: 100 s at most
            if self.server.stop.wait(0.05):
                return
            try:
                self.wfile.write(b" ")
                self.wfile.flush()
            except OSError:
                self.server.hung_up.append(time.monotonic())
                return

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def dripping_registry() -> Iterator[Dripping]:
    srv = Dripping(("127.0.0.1", 0), DripHandler)
    srv.stop = threading.Event()
    srv.hung_up = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stop.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def test_a_registry_that_is_gone_gives_a_generic_error_per_integration() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{s.getsockname()[1]}"  # closed again: nothing listens
    v = signatures.verify_image(
        f"{host}/a/b:latest", [DIGEST], INTEGRATIONS, RegistryOptions(attempts=1, timeout=2)
    )
    assert v.verified_by == ()
    assert [r["status"] for r in v.results] == ["GENERIC_ERROR", "GENERIC_ERROR"]
    assert all("could not be asked for signatures" in r["description"] for r in v.results)


async def test_a_silent_registry_cannot_hold_the_scan_past_the_budget(
    silent_registry: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signatures, "VERIFY_BUDGET_SECONDS", 1.0)
    host = f"127.0.0.1:{silent_registry.getsockname()[1]}"
    started = time.monotonic()
    v = await signatures.bounded_verify(
        f"{host}/a/b:latest",
        [DIGEST],
        INTEGRATIONS,
        RegistryOptions(insecure=frozenset([host]), timeout=30),
        index_digest=True,
    )
    assert time.monotonic() - started < 5
    assert [r["status"] for r in v.results] == ["GENERIC_ERROR", "GENERIC_ERROR"]
    assert "longer than 1 s" in v.results[0]["description"]
    silent_registry.close()  # the worker thread's connection is reset and it ends


async def test_a_dripping_registry_cannot_keep_the_worker_thread(
    dripping_registry: Dripping, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signatures, "VERIFY_BUDGET_SECONDS", 1.0)
    ended = threading.Event()
    real_verify = signatures.verify_image

    def verify_and_note_the_end(*args: Any, **kw: Any) -> signatures.Verification:
        try:
            return real_verify(*args, **kw)
        finally:
            ended.set()

    monkeypatch.setattr(signatures, "verify_image", verify_and_note_the_end)
    host = f"127.0.0.1:{dripping_registry.server_address[1]}"
    started = time.monotonic()
    v = await signatures.bounded_verify(
        f"{host}/a/b:latest",
        [DIGEST],
        INTEGRATIONS,
        RegistryOptions(insecure=frozenset([host]), timeout=30),
        index_digest=True,
    )
    assert [r["status"] for r in v.results] == ["GENERIC_ERROR", "GENERIC_ERROR"]
    # the thread stops reading at the deadline and hangs up, well before the body would end
    assert ended.wait(5)
    assert time.monotonic() - started < 4
    deadline = time.monotonic() + 5
    while not dripping_registry.hung_up and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dripping_registry.hung_up


def test_the_integration_test_stops_reading_at_its_deadline(dripping_registry: Dripping) -> None:
    host = f"127.0.0.1:{dripping_registry.server_address[1]}"
    started = time.monotonic()
    with pytest.raises(StockadeError, match="time allowed"):
        signatures.try_integration(
            f"{host}/a/b:latest",
            INTEGRATIONS[0],
            RegistryOptions(insecure=frozenset([host]), timeout=30),
            deadline=time.monotonic() + 1,
        )
    assert time.monotonic() - started < 4
