"""Central API throughput: authenticated requests against a bare ASGI server, same stack.

    .venv/bin/python bench/central_api.py [--seconds 10] [--connections 16]

Starts, on loopback: Central (TLS, one process, the machine's PostgreSQL, 2,000 seeded
deployments) and a bare ASGI hello-world under the same uvicorn/uvloop/httptools/TLS stack;
drives each with wrk from a second process; prints requests/s, p50 and p99 per target and the
ratio of each authenticated target to the bare server. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get(
    "STOCKADE_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, verify: str, timeout: float = 60) -> None:
    import ssl

    ctx = ssl.create_default_context(cafile=verify)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, verify=ctx, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


def seed(db_url: str, deployments: int = 2000) -> None:
    with psycopg.connect(db_url) as conn:
        cid = uuid.uuid4()
        conn.execute("INSERT INTO clusters (id, name) VALUES (%s, 'bench')", (cid,))
        with conn.cursor().copy(
            "COPY deployments (id, cluster_id, namespace, name, labels, replicas) FROM STDIN"
        ) as copy:
            for i in range(deployments):
                copy.write_row(
                    (
                        uuid.uuid4(),
                        cid,
                        f"ns-{i % 20}",
                        f"dep-{i}",
                        json.dumps({"app": f"dep-{i}"}),
                        i % 7,
                    )
                )


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses\n{out}")
    return {"rps": rps, "p50": pct("50"), "p99": pct("99")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "system-deps.sh")], check=True)

    db = f"stockade_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    db_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + db
    tmp = Path(tempfile.mkdtemp(prefix="stockade-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKADE_")}
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "stockade.cli.main",
                    "central",
                    "--data-dir",
                    str(tmp),
                    "--db-url",
                    db_url,
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
            )
        )
        central = f"https://127.0.0.1:{port}"
        for _ in range(300):
            if (tmp / "ca.pem").exists():
                break
            time.sleep(0.1)
        ca = str(tmp / "ca.pem")
        wait_http(f"{central}/v1/ping", ca)
        seed(db_url)
        password = (tmp / "admin-password").read_text().strip()
        import ssl

        ctx = ssl.create_default_context(cafile=ca)
        token = httpx.post(
            f"{central}/v1/apitokens/generate",
            auth=("admin", password),
            json={"name": "bench", "role": "Analyst"},
            verify=ctx,
        ).json()["token"]

        # The bare peer gets a certificate from the same CA, on the same stack.
        from stockade.core import pki

        bare_port = free_port()
        bare_dir = tmp / "bare"
        bare_dir.mkdir()
        # reuse Central's serving chain: same key type and size, same TLS cost
        ca_pair = _central_ca(db_url, tmp)
        leaf = pki.issue(ca_pair, "bare", dns_names=["localhost"], ip_addresses=["127.0.0.1"])
        (bare_dir / "cert.pem").write_bytes(leaf.cert_pem + ca_pair.cert_pem)
        (bare_dir / "key.pem").write_bytes(leaf.key_pem)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "_hello_asgi:app",
                    "--app-dir",
                    str(ROOT / "bench"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(bare_port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                    "--ssl-certfile",
                    str(bare_dir / "cert.pem"),
                    "--ssl-keyfile",
                    str(bare_dir / "key.pem"),
                ],
            )
        )
        bare = f"https://127.0.0.1:{bare_port}"
        wait_http(f"{bare}/", ca)

        bearer = {"Authorization": f"Bearer {token}"}
        basic = {
            "Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
        }
        targets = [
            ("bare ASGI hello-world", f"{bare}/", {}),
            ("GET /v1/ping (token sent)", f"{central}/v1/ping", bearer),
            ("GET /v1/mypermissions (token)", f"{central}/v1/mypermissions", bearer),
            ("GET /v1/mypermissions (admin basic)", f"{central}/v1/mypermissions", basic),
            (
                "GET /v1/deployments?query=... (token)",
                f"{central}/v1/deployments?query=Namespace:ns-3%2BReplicas:%3E2&pagination.limit=20",
                bearer,
            ),
        ]
        for _, url, headers in targets:  # warm up connections, caches, plans
            wrk(url, 2, args.connections, headers)
        results = [
            (name, wrk(url, args.seconds, args.connections, headers))
            for name, url, headers in targets
        ]
        base_rps = results[0][1]["rps"]
        print(
            f"\nwrk -t1 -c{args.connections} -d{args.seconds}s over TLS on loopback, "
            f"{os.cpu_count()} cores\n"
        )
        print(f"{'target':<42}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs bare':>9}")
        for name, r in results:
            print(
                f"{name:<42}{r['rps']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}"
                f"{r['rps'] / base_rps:>9.2f}"
            )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            # the Scanner DB Central creates beside its own
            conn.execute(f'DROP DATABASE IF EXISTS "{db}_scanner" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


def _central_ca(db_url: str, data_dir: Path):  # type: ignore[no-untyped-def]
    """Central's CA, opened with its master key (the bench runs as Central's operator)."""
    from stockade.central import crypto
    from stockade.core import pki

    key = base64.b64decode((data_dir / "master.key").read_bytes().strip())
    with psycopg.connect(db_url) as conn:
        rows = dict(
            (name, crypto.unseal(key, name, crypto.Sealed(bytes(n), bytes(c))))
            for name, n, c in conn.execute(
                "SELECT name, nonce, ciphertext FROM central_secrets"
                " WHERE name IN ('ca.pem', 'ca-key.pem')"
            ).fetchall()
        )
    return pki.KeyPair(rows["ca.pem"], rows["ca-key.pem"])


if __name__ == "__main__":
    main()
