"""Signature verification against registries that misbehave: one that is gone and one that
accepts connections and never answers. Either way the image is "not verified" with a reason,
per integration, and a slow registry cannot hold a scan past the budget."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from stockade.central import signatures
from stockade.central.store.signatures import KeyEntry, SignatureIntegration
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
