"""Format parser throughput against the reference tools, in the same run.

    .venv/bin/python bench/formats.py [--packages N]

- rpm: an N-package database (default 1000; the fixture's real headers repeated) in SQLite
  (written through Python's sqlite3 into a copy of the rpm-made fixture) and Berkeley DB hash
  (db5.3_load), read by ``read_rpmdb`` and by ``rpm -qa`` (Debian's rpm, bdb_ro for BDB).
- Go: the build info of the Go toolchain's own ``go`` binary, by ``read_go_buildinfo`` and by
  ``go version -m``.

The peers are separate processes, so their figures include process start-up; the ratio says
how our in-process parse compares with what a user would otherwise run.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from stockade.scanner.indexer.gobinary import read_go_buildinfo
from stockade.scanner.indexer.rpmdb import read_rpmdb
from stockade.scanner.indexer.rpmdb.sqlite import iter_sqlite_blobs

FIXTURES = Path(__file__).parents[1] / "tests" / "scanner" / "indexer" / "formats" / "fixtures"


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, capture_output=True, check=True)


def best_of(fn: Callable[[], object], runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def row(label: str, ours: float, peer: float, peer_name: str) -> None:
    print(
        f"{label:<34} stockade {ours * 1000:8.1f} ms   {peer_name:<16} {peer * 1000:8.1f} ms"
        f"   ratio {ours / peer:5.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=1000)
    n = parser.parse_args().packages
    blobs = list(iter_sqlite_blobs(FIXTURES / "rpm" / "rpmdb.sqlite"))
    with tempfile.TemporaryDirectory() as tmp:
        sq = Path(tmp) / "sqlite"
        sq.mkdir()
        shutil.copy(FIXTURES / "rpm" / "rpmdb.sqlite", sq / "rpmdb.sqlite")
        with sqlite3.connect(sq / "rpmdb.sqlite") as conn:
            conn.execute("DELETE FROM Packages")
            conn.executemany(
                "INSERT INTO Packages(blob) VALUES (?)",
                [(blobs[i % len(blobs)],) for i in range(n)],
            )
        conn.close()
        bdb = Path(tmp) / "bdb"
        bdb.mkdir()
        lines = ["VERSION=3", "format=bytevalue", "type=hash", "db_pagesize=4096", "HEADER=END"]
        for i in range(n):
            lines += [" " + struct.pack("<I", i + 1).hex(), " " + blobs[i % len(blobs)].hex()]
        lines.append("DATA=END")
        (Path(tmp) / "dump").write_text("\n".join(lines) + "\n")
        subprocess.run(
            ["db5.3_load", "-f", str(Path(tmp) / "dump"), str(bdb / "Packages")], check=True
        )
        for label, path, backend in (
            (f"rpmdb.sqlite, {n} packages", sq / "rpmdb.sqlite", "sqlite"),
            (f"BDB Packages, {n} packages", bdb / "Packages", "bdb_ro"),
        ):
            assert len(read_rpmdb(path)) == n
            ours = best_of(lambda p=path: read_rpmdb(p))
            ours_nf = best_of(lambda p=path: read_rpmdb(p, with_files=False))
            cmd = ["rpm", "--define", f"_db_backend {backend}", "--dbpath", str(path.parent)]
            peer = best_of(lambda c=cmd: run([*c, "-qa"]))
            peer_files = best_of(lambda c=cmd: run([*c, "-qal"]))
            row(label + " +files", ours, peer_files, "rpm -qal")
            row(label, ours_nf, peer, "rpm -qa")
    go = Path(shutil.which("go") or "/usr/bin/go").resolve()
    ours = best_of(lambda: read_go_buildinfo(go), 20)
    peer = best_of(lambda: run(["go", "version", "-m", str(go)]))
    row(f"Go build info ({go.stat().st_size >> 20} MiB binary)", ours, peer, "go version -m")


if __name__ == "__main__":
    main()
