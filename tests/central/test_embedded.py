"""The default: ``stockade central`` with no database URL starts the embedded PostgreSQL,
serves HTTPS with a certificate from its own CA, and stops everything on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.embedded, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_embedded_central_over_tls_and_graceful_stop(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKADE_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stockade.cli.main",
            "central",
            "--data-dir",
            str(tmp_path),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 90
        lines = []
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("  admin password"):
                break
        output = "".join(lines)
        assert f"listening on https://127.0.0.1:{port}" in output, output
        password = (tmp_path / "admin-password").read_text().strip()
        assert password not in output  # shown only through the private file
        ca = tmp_path / "ca.pem"
        base = f"https://127.0.0.1:{port}"
        with httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), timeout=10) as client:
            for _ in range(50):
                try:
                    client.get(f"{base}/v1/ping")
                    break
                except httpx.ConnectError:
                    time.sleep(0.2)
            assert client.get(f"{base}/v1/ping").json() == {"status": "ok"}
            assert client.get(f"{base}/v1/auth/status", auth=("admin", password)).status_code == 200
            assert client.get(f"{base}/v1/auth/status", auth=("admin", "x")).status_code == 401
            r = client.post(
                f"{base}/v1/apitokens/generate",
                auth=("admin", password),
                json={"name": "ci", "role": "Continuous Integration"},
            )
            token = r.json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            assert client.get(f"{base}/v1/deployments", headers=headers).status_code == 403
            assert client.get(f"{base}/readyz").status_code == 200
        pgdata = tmp_path / "postgres"
        assert (pgdata / "postmaster.pid").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert not (pgdata / "postmaster.pid").exists()  # embedded PostgreSQL stopped too
        rest = proc.stdout.read()
        assert "Traceback" not in output + rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
