"""Registry source: a real registry on loopback (anonymous and basic auth), and a scripted
loopback server for what a real registry will not do on demand (bearer tokens, 429, 500)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from stockade.scanner.indexer.engine import Indexer
from stockade.scanner.indexer.errors import (
    BlobDigestError,
    ImageNotFoundError,
    RegistryAuthError,
    RegistryUnavailableError,
)
from stockade.scanner.indexer.registry import RegistryOptions, parse_reference
from stockade.scanner.indexer.sources import open_source
from stockade.scanner.indexer.store import MemoryStore

from .conftest import BuiltImage, Registry
from .imagebuilder import OS_RELEASE_DEBIAN, make_layout
from .test_sources import WANT_LANGUAGE


def _insecure(addr: str, **kw: object) -> RegistryOptions:
    return RegistryOptions(insecure=frozenset({addr}), backoff=0.01, **kw)  # type: ignore[arg-type]


def test_reference_parsing() -> None:
    r = parse_reference("127.0.0.1:5000/a/b:1.0")
    assert (r.registry, r.repository, r.tag) == ("127.0.0.1:5000", "a/b", "1.0")
    r = parse_reference("reg.example/x@sha256:" + "a" * 64)
    assert (r.tag, r.digest) == ("", "sha256:" + "a" * 64)
    assert parse_reference("localhost/x").tag == "latest"
    with pytest.raises(Exception, match="names no registry host"):
        parse_reference("debian:12")


def test_real_registry_anonymous(registry: Registry, test_image: BuiltImage) -> None:
    ref = f"{registry.address}/stockade/test:latest"
    report = Indexer().index(open_source(ref, registry=_insecure(registry.address)))
    lang = {(p.ecosystem, p.name, p.version) for p in report.packages if p.kind == "language"}
    assert lang == WANT_LANGUAGE
    index = json.loads((test_image.oci / "index.json").read_text())
    assert report.manifest_digest == index["manifests"][0]["digest"]


def test_plain_http_needs_permission(registry: Registry) -> None:
    ref = f"{registry.address}/stockade/test:latest"
    with pytest.raises(RegistryUnavailableError, match="--insecure-registry"):
        Indexer().index(open_source(ref, registry=RegistryOptions(backoff=0.01, attempts=1)))


def test_real_registry_missing_tag_is_404(registry: Registry) -> None:
    store = MemoryStore()
    ref = f"{registry.address}/stockade/test:nope"
    with pytest.raises(ImageNotFoundError, match=r"Image 127\.0\.0\.1:\d+/stockade/test:nope.*404"):
        Indexer(store).index(open_source(ref, registry=_insecure(registry.address)))
    assert store.reports == {}


def test_real_registry_basic_auth(auth_registry: Registry) -> None:
    ref = f"{auth_registry.address}/private/test:latest"
    ok = _insecure(
        auth_registry.address, credentials={auth_registry.address: ("alice", "wonderland")}
    )
    report = Indexer().index(open_source(ref, registry=ok))
    assert len(report.packages) > 50
    for creds in ({}, {auth_registry.address: ("alice", "wrong-password")}):
        store = MemoryStore()
        with pytest.raises(RegistryAuthError, match=r"401") as info:
            Indexer(store).index(
                open_source(ref, registry=_insecure(auth_registry.address, credentials=creds))
            )
        assert "wrong-password" not in str(info.value)
        assert store.reports == {}


class _Scripted(BaseHTTPRequestHandler):
    """Serves one OCI layout; behaviour per test via class attributes."""

    layout: Path
    bearer: bool = False
    claim: str = ""
    faults: dict[str, list[int]] = {}
    seen: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.seen.append(self.path)
        port = self.server.server_address[1]
        if self.path.startswith("/token"):
            ok = "scope=repository%3Aapp%3Apull" in self.path
            self._send(200 if ok else 400, json.dumps({"token": "t0ken-abc"}).encode())
            return
        if self.bearer and self.headers.get("Authorization") != "Bearer t0ken-abc":
            self._send(
                401,
                b"{}",
                {
                    "WWW-Authenticate": f'Bearer realm="http://127.0.0.1:{port}/token",service="test"'
                },
            )
            return
        if self.path == "/v2/":
            self._send(200, b"{}")
            return
        for key, statuses in self.faults.items():
            if key in self.path and statuses:
                self._send(statuses.pop(0), b"busy", {"Retry-After": "0"})
                return
        parts = self.path.split("/")
        if "manifests" in parts:
            index = json.loads((self.layout / "index.json").read_text())
            digest = index["manifests"][0]["digest"]
            if parts[-1] not in ("latest", digest):
                self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
                return
            body = (self.layout / "blobs" / "sha256" / digest[7:]).read_bytes()
            headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
            headers["Docker-Content-Digest"] = self.claim or digest
            self._send(200, body, headers)
            return
        if "blobs" in parts:
            path = self.layout / "blobs" / "sha256" / parts[-1].removeprefix("sha256:")
            if path.exists():
                self._send(200, path.read_bytes())
            else:
                self._send(404)
            return
        self._send(404)


def _manifest(layout: Path) -> dict[str, Any]:
    index = json.loads((layout / "index.json").read_text())
    blob = layout / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]
    return dict(json.loads(blob.read_text()))


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[tuple[str, type[_Scripted]]]:
    layout = make_layout(
        tmp_path / "img",
        [
            {"etc/os-release": OS_RELEASE_DEBIAN},
            {"srv/x.dist-info/METADATA": b"Name: x\nVersion: 1\n"},
        ],
    )
    handler = type(
        "H",
        (_Scripted,),
        {"layout": layout, "faults": {}, "seen": [], "bearer": False, "claim": ""},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_bearer_token_challenge(scripted: tuple[str, type[_Scripted]]) -> None:
    addr, handler = scripted
    handler.bearer = True
    report = Indexer().index(open_source(f"{addr}/app:latest", registry=_insecure(addr)))
    assert [(p.name, p.version) for p in report.packages] == [("x", "1")]
    assert any(p.startswith("/token") for p in handler.seen)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_errors_are_retried(scripted: tuple[str, type[_Scripted]], status: int) -> None:
    addr, handler = scripted
    handler.faults = {"/manifests/": [status, status], "/blobs/sha256:": [status]}
    report = Indexer().index(open_source(f"{addr}/app:latest", registry=_insecure(addr)))
    assert report.distribution is not None


@pytest.mark.parametrize("status", [429, 500])
def test_persistent_errors_name_the_image_and_layer(
    scripted: tuple[str, type[_Scripted]], status: int
) -> None:
    addr, handler = scripted
    layout = handler.layout
    manifest = _manifest(layout)
    layer = manifest["layers"][1]["digest"]
    handler.faults = {layer: [status] * 10}
    store = MemoryStore()
    with pytest.raises(
        RegistryUnavailableError,
        match=rf"Image {addr}/app:latest: the registry answered {status} for layer {layer}",
    ):
        Indexer(store).index(
            open_source(f"{addr}/app:latest", registry=_insecure(addr, attempts=3))
        )
    assert store.reports == {}


def test_404_for_a_layer_names_it(scripted: tuple[str, type[_Scripted]]) -> None:
    addr, handler = scripted
    layout = handler.layout
    manifest = _manifest(layout)
    layer = manifest["layers"][0]["digest"]
    (layout / "blobs" / "sha256" / layer[7:]).unlink()
    with pytest.raises(ImageNotFoundError, match=rf"layer {layer}.*404"):
        Indexer().index(open_source(f"{addr}/app:latest", registry=_insecure(addr)))


def test_manifest_not_matching_the_announced_digest(scripted: tuple[str, type[_Scripted]]) -> None:
    addr, handler = scripted
    handler.claim = "sha256:" + "1" * 64
    store = MemoryStore()
    with pytest.raises(BlobDigestError, match=rf"Image {addr}/app:latest: the manifest does not"):
        Indexer(store).index(open_source(f"{addr}/app:latest", registry=_insecure(addr)))
    assert store.reports == {}
