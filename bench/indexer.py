"""Indexer benchmark: Stockade vs syft on the same inputs, in the same run.

    .venv/bin/python bench/indexer.py [--images test,large] [--sources oci,archive,registry]
                                      [--repeat 1] [--no-syft]

Images: ``test`` (tools/build-test-image.sh, two layers) and ``large`` (bench/
build-large-image.sh: a JDK, Python, Node.js with Debian's node modules, jars; >= 700 MB),
both built once under .cache/indexer/ keyed by the build script's hash. Sources: the OCI
layout, the docker-archive, and a real registry on loopback (tools/local-registry.sh).

For each image and source it prints, each as a fresh process:
  * stockade cold: ``stockade scanner index`` with an empty Scanner DB (wall time, peak RSS);
  * syft: ``syft scan`` on the same input (wall time, peak RSS) and the ratio Stockade/syft;
and, in-process, stockade warm: ``Indexer.index`` again with every layer and the report in
Scanner DB (wall time). Goals: cold <= 1.0x syft, RSS <= syft, warm <= 50 ms.
PostgreSQL at 127.0.0.1:5432 (or STOCKADE_BENCH_PG_ADMIN_URL) is used for Scanner DB.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "tools"
BIN = ROOT / ".venv" / "bin"
ADMIN = os.environ.get(
    "STOCKADE_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

BUILDERS = {
    "test": (SHARED / "build-test-image.sh", "test"),
    "large": (ROOT / "bench" / "build-large-image.sh", "large"),
}


def build(name: str) -> Path:
    script, _ = BUILDERS[name]
    digest = hashlib.sha256(script.read_bytes()).hexdigest()[:12]
    out = ROOT / ".cache" / "indexer" / f"{name}-image-{digest}"
    if not (out / "image.tar").exists():
        print(f"building the {name} image (once) ...", flush=True)
        subprocess.run(["bash", str(script), str(out)], check=True)
    return out


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """(wall seconds, peak RSS in MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[0]} failed: {err[-500:]}")
    return wall, usage.ru_maxrss // 1024


def fresh_db() -> str:
    name = f"stockade_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_db(url: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def warm_ms(ref: str, db_url: str, insecure: str | None) -> float:
    from stockade.scanner.indexer.engine import Indexer
    from stockade.scanner.indexer.registry import RegistryOptions
    from stockade.scanner.indexer.sources import open_source
    from stockade.scanner.indexer.store import PostgresStore

    store = PostgresStore(db_url)
    opts = RegistryOptions(insecure=frozenset({insecure} if insecure else set()))
    best = float("inf")
    for _ in range(5):
        src = open_source(ref, registry=opts)
        start = time.perf_counter()
        indexer = Indexer(store)
        indexer.index(src)
        best = min(best, time.perf_counter() - start)
        src.close()
        assert indexer.layers_read == []
    store.close()
    return best * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", default="test,large")
    ap.add_argument("--sources", default="oci,archive,registry")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-syft", action="store_true")
    args = ap.parse_args()
    syft = shutil.which("syft", path=str(BIN)) or shutil.which("syft")
    sources = args.sources.split(",")
    registry_dir = Path(tempfile.mkdtemp(prefix="stockade-bench-registry-"))
    registry_addr = None
    if "registry" in sources:
        registry_addr = (
            subprocess.run(
                [
                    "bash",
                    str(SHARED / "local-registry.sh"),
                    "start",
                    str(registry_dir),
                    str(free_port()),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
    print(
        f"{'image':<6} {'source':<9} {'stockade cold':>14} {'RSS':>7} {'syft':>8} {'RSS':>7} "
        f"{'ratio':>6} {'RSS ratio':>9} {'warm':>9}"
    )
    try:
        for image in args.images.split(","):
            out = build(image)
            tag = BUILDERS[image][1]
            refs = {
                "oci": (f"oci:{out / 'oci'}:{tag}", f"oci-dir:{out / 'oci'}"),
                "archive": (
                    f"docker-archive:{out / 'image.tar'}",
                    f"docker-archive:{out / 'image.tar'}",
                ),
            }
            if registry_addr:
                subprocess.run(
                    [
                        "bash",
                        str(SHARED / "local-registry.sh"),
                        "push",
                        str(registry_dir),
                        f"{out / 'oci'}:{tag}",
                        f"bench/{image}:latest",
                    ],
                    check=True,
                    capture_output=True,
                )
                refs["registry"] = (
                    f"{registry_addr}/bench/{image}:latest",
                    f"registry:{registry_addr}/bench/{image}:latest",
                )
            for source in sources:
                ours_ref, syft_ref = refs[source]
                insecure = registry_addr if source == "registry" else None
                cold: list[tuple[float, int]] = []
                db = ""
                for _ in range(args.repeat):
                    if db:
                        drop_db(db)
                    db = fresh_db()
                    cmd = [
                        str(BIN / "stockade"),
                        "scanner",
                        "index",
                        ours_ref,
                        "-o",
                        "json",
                        "--db-url",
                        db,
                    ]
                    if insecure:
                        cmd += ["--insecure-registry", insecure]
                    cold.append(run_measured(cmd))
                c_wall, c_rss = min(cold)
                warm = warm_ms(ours_ref, db, insecure)
                drop_db(db)
                s_wall, s_rss = float("nan"), 0
                if syft and not args.no_syft:
                    runs = [
                        run_measured(
                            [syft, "scan", syft_ref, "-q", "-o", "syft-json"],
                            {
                                "SYFT_CHECK_FOR_APP_UPDATE": "false",
                                "SYFT_REGISTRY_INSECURE_USE_HTTP": "true",
                            },
                        )
                        for _ in range(args.repeat)
                    ]
                    s_wall, s_rss = min(runs)
                ratio = c_wall / s_wall if s_rss else float("nan")
                rss_ratio = c_rss / s_rss if s_rss else float("nan")
                print(
                    f"{image:<6} {source:<9} {c_wall:>13.2f}s {c_rss:>5}Mi {s_wall:>7.2f}s "
                    f"{s_rss:>5}Mi {ratio:>6.2f} {rss_ratio:>9.2f} {warm:>7.1f}ms",
                    flush=True,
                )
    finally:
        if registry_addr:
            subprocess.run(
                ["bash", str(SHARED / "local-registry.sh"), "stop", str(registry_dir)], check=False
            )
        shutil.rmtree(registry_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
