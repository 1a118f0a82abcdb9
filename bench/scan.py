"""Central image scanning throughput: 20 images sharing base layers, scanned concurrently.

    .venv/bin/python bench/scan.py [--images 20] [--concurrency 20]

On loopback: a real registry (Debian's docker-registry) holding 20 variants of the shared
test image (../shared/tools/build-test-image.sh; each variant adds one small layer of its own
on the same two base layers), and Central (one process, TLS, the machine's PostgreSQL with
the real OSV PyPI advisories loaded). All 20 are scanned at once through the API, cold (empty
layer cache) and then warm (force rescan: every layer cached). Prints images/min, Central's
peak RSS, and where the time went (index, match, store, detect) from Central's own metrics.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared"
ADMIN_URL = os.environ.get(
    "STOCKADE_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_image() -> Path:
    script = SHARED / "tools" / "build-test-image.sh"
    tag = hashlib.sha256(script.read_bytes()).hexdigest()[:12]
    out = ROOT / ".cache" / "indexer" / f"test-image-{tag}"
    if not (out / "image.tar").exists():
        subprocess.run(["bash", str(script), str(out)], check=True)
    return out / "oci"


def _blob(layout: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest.split(":")[1]
    path.write_bytes(data)
    return digest


def make_variant(base: Path, out: Path, n: int) -> None:
    """Copy of ``base`` with one extra layer: a small Python package of its own."""
    shutil.copytree(base, out)
    index = json.loads((out / "index.json").read_text())
    desc = index["manifests"][0]
    manifest = json.loads((out / "blobs" / "sha256" / desc["digest"].split(":")[1]).read_bytes())
    config = json.loads(
        (out / "blobs" / "sha256" / manifest["config"]["digest"].split(":")[1]).read_bytes()
    )
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        meta = (f"Metadata-Version: 2.1\nName: bench-variant-{n}\nVersion: 1.{n}.0\n").encode()
        for name, data in (
            (f"usr/lib/python3/dist-packages/bench_variant_{n}-1.{n}.0.dist-info/METADATA", meta),
            (f"opt/variant-{n}.txt", f"variant {n}\n".encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    gz = gzip.compress(raw, mtime=0)
    layer_digest = _blob(out, gz)
    config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(raw).hexdigest())
    config.setdefault("history", []).append({"created_by": f"COPY variant-{n} /opt/"})
    config_bytes = json.dumps(config).encode()
    manifest["config"] = {
        **manifest["config"],
        "digest": _blob(out, config_bytes),
        "size": len(config_bytes),
    }
    manifest["layers"].append(
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": layer_digest,
            "size": len(gz),
        }
    )
    manifest_bytes = json.dumps(manifest).encode()
    index["manifests"] = [
        {
            **desc,
            "digest": _blob(out, manifest_bytes),
            "size": len(manifest_bytes),
            "annotations": {"org.opencontainers.image.ref.name": "bench"},
        }
    ]
    (out / "index.json").write_text(json.dumps(index))


def metrics(
    base: str, verify: ssl.SSLContext, auth: dict[str, str]
) -> dict[str, tuple[float, int]]:
    text = httpx.get(f"{base}/metrics", verify=verify, headers=auth).text
    out = {}
    for phase in ("index", "match", "store", "detect"):
        s = re.search(rf'stockade_scan_phase_seconds_sum{{phase="{phase}"}} ([\d.e+-]+)', text)
        c = re.search(rf'stockade_scan_phase_seconds_count{{phase="{phase}"}} ([\d.e+-]+)', text)
        out[phase] = (float(s.group(1)) if s else 0.0, int(float(c.group(1))) if c else 0)
    return out


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def scan_all(
    base: str, verify: ssl.SSLContext, token: str, images: list[str], concurrency: int, force: bool
) -> float:
    sem = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(verify=verify, timeout=1800) as client:

        async def one(name: str) -> None:
            async with sem:
                r = await client.post(
                    f"{base}/v1/images/scan",
                    headers=headers,
                    json={"imageName": name, "force": force},
                )
                r.raise_for_status()

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in images))
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=20)
    args = ap.parse_args()
    subprocess.run(["bash", str(ROOT / "scripts" / "system-deps.sh")], check=True)
    tmp = Path(tempfile.mkdtemp(prefix="stockade-bench-scan-"))
    db = f"stockade_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    db_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + db
    registry_dir = tmp / "registry"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        base_layout = test_image()
        reg_script = SHARED / "tools" / "local-registry.sh"
        address = (
            subprocess.run(
                ["bash", str(reg_script), "start", str(registry_dir), str(free_port())],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        images = []
        for n in range(args.images):
            layout = tmp / f"variant-{n}"
            make_variant(base_layout, layout, n)
            subprocess.run(
                [
                    "bash",
                    str(reg_script),
                    "push",
                    str(registry_dir),
                    f"{layout}:bench",
                    f"bench/app-{n}:1.0",
                ],
                check=True,
                capture_output=True,
            )
            images.append(f"{address}/bench/app-{n}:1.0")

        from stockade.central.scanning import ensure_scanner_database
        from stockade.scanner.matcher.sources import make_updater
        from stockade.scanner.matcher.store import VulnerabilityStore

        store = VulnerabilityStore(ensure_scanner_database(db_url))
        store.migrate()
        store.update(make_updater("osv-pypi", offline=SHARED / "vulndata" / "osv-pypi"))

        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKADE_")}
        data = tmp / "central"
        central = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stockade.cli.main",
                "central",
                "--data-dir",
                str(data),
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
        procs.append(central)
        base = f"https://127.0.0.1:{port}"
        for _ in range(600):
            try:
                verify = ssl.create_default_context(cafile=str(data / "ca.pem"))
                httpx.get(f"{base}/v1/ping", verify=verify)
                break
            except (OSError, httpx.TransportError):
                time.sleep(0.2)
        password = (data / "admin-password").read_text().strip()
        auth = {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}
        httpx.post(
            f"{base}/v1/imageintegrations",
            verify=verify,
            headers=auth,
            json={
                "name": "bench",
                "type": "docker",
                "docker": {"endpoint": address, "insecure": True},
            },
        ).raise_for_status()
        token = httpx.post(
            f"{base}/v1/apitokens/generate",
            verify=verify,
            headers=auth,
            json={"name": "bench", "role": "Continuous Integration"},
        ).json()["token"]

        rows = []
        for label, force in (("cold", False), ("warm", True)):
            before = metrics(base, verify, auth)
            wall = asyncio.run(scan_all(base, verify, token, images, args.concurrency, force))
            after = metrics(base, verify, auth)
            phases = {p: after[p][0] - before[p][0] for p in after}
            rows.append((label, wall, phases))
        rss = peak_rss_mb(central.pid)
        print(
            f"\n{args.images} images sharing 2 base layers, {args.concurrency} concurrent "
            f"scans through Central's API, {os.cpu_count()} cores\n"
        )
        print(
            f"{'run':<6}{'wall s':>9}{'images/min':>12}  time in phase, summed over scans "
            "(index / match / store / detect)"
        )
        for label, wall, phases in rows:
            total = sum(phases.values()) or 1.0
            parts = " / ".join(
                f"{phases[p]:.1f}s ({phases[p] / total:.0%})"
                for p in ("index", "match", "store", "detect")
            )
            print(f"{label:<6}{wall:>9.1f}{args.images / wall * 60:>12.1f}  {parts}")
        print(f"\nCentral peak RSS: {rss:.0f} MB")
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(
            ["bash", str(SHARED / "tools" / "local-registry.sh"), "stop", str(registry_dir)],
            check=False,
        )
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'DROP DATABASE IF EXISTS "{db}_scanner" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
