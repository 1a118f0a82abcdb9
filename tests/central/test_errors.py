"""The error shape, and Central's behaviour when its database is missing or goes away."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


async def test_malformed_json_names_the_problem(central) -> None:
    r = await central.admin(
        "POST",
        "/v1/apitokens/generate",
        content=b'{"name": "x", role',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    body = r.json()
    assert set(body) >= {"error", "code", "message"}
    assert body["code"] == 3 and "not valid JSON" in body["message"]
    r = await central.admin("POST", "/v1/apitokens/generate", json={"role": "Analyst"})
    assert r.status_code == 400 and "name is required" in r.json()["message"]


async def test_unknown_route_and_wrong_method_use_the_error_shape(central) -> None:
    r = await central.client.get("/v1/no-such-thing")
    assert r.status_code == 404
    assert r.json() == {
        "error": "no route GET /v1/no-such-thing",
        "code": 5,
        "message": "no route GET /v1/no-such-thing",
    }
    r = await central.admin("DELETE", "/v1/ping")
    assert r.status_code == 405 and r.json()["code"] == 12


async def test_public_routes_and_openapi(central) -> None:
    assert (await central.client.get("/v1/ping")).json() == {"status": "ok"}
    meta = (await central.client.get("/v1/metadata")).json()
    assert meta["version"] and "build" in meta
    assert "loginNotice" in (await central.client.get("/v1/config/public")).json()
    spec = (await central.client.get("/openapi.json")).json()
    assert "/v1/apitokens/generate" in spec["paths"] and "/v1/search" in spec["paths"]
    assert "Deployment Label" in spec["info"]["description"]
    docs = await central.client.get("/docs")
    assert "/docs/assets/swagger-ui-bundle.js" in docs.text
    assert (await central.client.get("/docs/assets/swagger-ui-bundle.js")).status_code == 200
    assert (await central.client.get("/readyz")).status_code == 200
    assert (await central.client.get("/metrics")).status_code == 401
    metrics = await central.admin("GET", "/metrics")
    assert "stockade_http_requests_total" in metrics.text
    assert "stockade_db_pool_size" in metrics.text


def test_unreachable_database_at_start_is_one_line_and_nonzero(tmp_path: Path) -> None:
    env = {**os.environ, "STOCKADE_DB_URL": "postgresql://stockade:s3cret@127.0.0.1:1/none"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stockade.cli.main",
            "central",
            "--data-dir",
            str(tmp_path),
            "--port",
            "18999",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 3
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith("error: cannot connect to Central DB at postgresql://stockade:***@")
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "s3cret" not in proc.stderr + proc.stdout


class TcpProxy:
    """A loopback TCP proxy we can cut and restore, to lose the database under Central."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.writers: list[asyncio.StreamWriter] = []

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        w.close()

    async def _handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        ur, uw = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers += [w, uw]
        for a, b in ((r, uw), (ur, w)):
            t = asyncio.create_task(self._pipe(a, b))
            self.tasks.add(t)
            t.add_done_callback(self.tasks.discard)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()
        for t in list(self.tasks):
            t.cancel()


async def test_database_lost_while_running_gives_503_then_recovers(
    start_central, make_database
) -> None:
    url = make_database()
    proxy = TcpProxy(5432)
    await proxy.start()
    proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    c = await start_central(proxied, db_timeout_seconds=1.0)
    assert (await c.admin("GET", "/v1/deployments")).status_code == 200
    token = await c.token_for("Analyst")

    await proxy.cut()
    r = await c.as_token(token, "GET", "/v1/deployments")
    assert r.status_code == 503
    assert r.json()["code"] == 14 and "Central DB" in r.json()["message"]
    assert (await c.client.get("/readyz")).status_code == 503
    assert (await c.client.get("/v1/ping")).status_code == 200  # liveness stays up

    await proxy.start()  # same port: the database is back
    for _ in range(40):
        r = await c.as_token(token, "GET", "/v1/deployments")
        if r.status_code == 200:
            break
        await asyncio.sleep(0.5)
    assert r.status_code == 200
    assert (await c.client.get("/readyz")).status_code == 200
    await proxy.cut()
