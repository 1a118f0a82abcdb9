"""Fixtures for the vulnerability source tests."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stockade.model.vulnerability import Vulnerability


class FeedServer:
    """Serves files from a directory at 127.0.0.1 with ETag and Last-Modified validators."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, int]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = (server.root / self.path.split("?", 1)[0].lstrip("/")).resolve()
                if not path.is_file() or not path.is_relative_to(server.root.resolve()):
                    self._reply(404, b"")
                    return
                body = path.read_bytes()
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                modified = formatdate(path.stat().st_mtime, usegmt=True)
                if self.headers.get("If-None-Match") == etag:
                    self._reply(304, b"", etag, modified)
                    return
                self._reply(200, body, etag, modified)

            def _reply(self, code: int, body: bytes, etag: str = "", modified: str = "") -> None:
                server.requests.append((self.path, code))
                self.send_response(code)
                if etag:
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", modified)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if code == 200:
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


GOLDEN = Path(__file__).parent / "golden"


def _check_golden(name: str, records: list[Vulnerability]) -> None:
    """Compare records rendered to JSON with golden/<name>.json (STOCKADE_UPDATE_GOLDEN=1
    rewrites it)."""
    got: list[dict[str, object]] = []
    for rec in records:
        data = dict(rec.to_dict())
        for key in ("summary", "description"):  # upstream prose is not copied into the repo
            text = str(data[key])
            digest = hashlib.sha256(text.encode()).hexdigest()[:16]
            data[key] = f"<{len(text)} chars sha256:{digest}>" if text else ""
        # links are compared by digest: some point at package registries' own hosts, whose
        # names this repository does not carry
        data["links"] = [
            f"<link sha256:{hashlib.sha256(str(u).encode()).hexdigest()[:16]}>"
            for u in data.get("links") or []
        ]
        got.append(data)
    path = GOLDEN / f"{name}.json"
    if os.environ.get("STOCKADE_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    want = json.loads(path.read_text())
    assert got == want


@pytest.fixture
def check_golden() -> Callable[[str, list[Vulnerability]], None]:
    """Compare records with golden/<name>.json (STOCKADE_UPDATE_GOLDEN=1 rewrites it)."""
    return _check_golden


@pytest.fixture
def feed_server() -> Iterator[Callable[[Path], FeedServer]]:
    """Start loopback feed servers over directories; all are stopped after the test."""
    servers: list[FeedServer] = []

    def start(root: Path) -> FeedServer:
        srv = FeedServer(root)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.close()
