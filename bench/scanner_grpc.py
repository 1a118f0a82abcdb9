"""What running the Matcher as its own service costs: the same index reports matched in
process and through MatcherService (mutual TLS on loopback, RemoteScanner as Central uses it).

    .venv/bin/python bench/scanner_grpc.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
                                           [--sizes 100,300,1000,10000] [--runs 30]

Loads the shared OSV PyPI feed into a fresh Scanner DB, starts MatcherService in a thread,
then for each size matches a report of N PyPI packages (real names from the feed at old
versions, so many findings) ``--runs`` times after one warm-up: p50 / p99 ms in process and
over gRPC, the overhead, and the request and reply sizes. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import threading
import time
import uuid
from pathlib import Path

import psycopg

from stockade.core import pki
from stockade.model.index_report import Ecosystem, IndexReport, Package, PackageKind
from stockade.scanner.grpc_server import TLSFiles
from stockade.scanner.matcher.match import Matcher
from stockade.scanner.matcher.service import MatcherServicer, start_matcher
from stockade.scanner.matcher.sources import make_updater
from stockade.scanner.matcher.store import VulnerabilityStore
from stockade.scanner.remote import RemoteScanner
from stockade.scanner.wire import index_report_to_proto, vulnerability_report_to_proto

OSV_PYPI = Path(__file__).resolve().parents[1] / ".." / "shared" / "vulndata" / "osv-pypi"


def _report(n: int, names: list[str], rng: random.Random) -> IndexReport:
    pkgs = tuple(
        Package(
            name=name,
            version=f"0.{rng.randint(0, 9)}.{rng.randint(0, 9)}",
            kind=PackageKind.LANGUAGE,
            ecosystem=Ecosystem.PYPI,
            purl=f"pkg:pypi/{name}",
            path=f"usr/lib/python3/dist-packages/{name}.dist-info/METADATA",
            analyser="python",
            analyser_version="1",
            layer="sha256:" + "e" * 64,
        )
        for name in (names[i % len(names)] for i in range(n))
    )
    return IndexReport(manifest_digest="sha256:" + "f" * 64, packages=pkgs)


def _serve(
    servicer: MatcherServicer, tls: TLSFiles, ready: list[int], stop: threading.Event
) -> None:
    async def run() -> None:
        server, port = await start_matcher(servicer, "127.0.0.1:0", tls)
        ready.append(port)
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await server.stop(None)

    asyncio.run(run())


def _ms(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s) * 1000, s[min(len(s) - 1, int(len(s) * 0.99))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--sizes", default="100,300,1000,10000")
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()

    name = f"stockade_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = args.admin_url.rsplit("/", 1)[0] + "/" + name
    stop = threading.Event()
    try:
        store = VulnerabilityStore(url)
        store.migrate()
        t0 = time.perf_counter()
        run = store.update(make_updater("osv-pypi", offline=OSV_PYPI))
        print(f"osv-pypi loaded: {run.records} records in {time.perf_counter() - t0:.1f} s")
        local = Matcher(store.records())
        names = sorted({r.package for r in store.records()})

        ca = pki.create_ca("bench CA")
        leaf = pki.issue(ca, "matcher", ip_addresses=["127.0.0.1"], organizational_unit="SCANNER")
        client = pki.issue(ca, "central", organizational_unit="CENTRAL", server=False)
        servicer = MatcherServicer(store)
        ready: list[int] = []
        thread = threading.Thread(
            target=_serve,
            args=(servicer, TLSFiles(leaf.cert_pem, leaf.key_pem, ca.cert_pem), ready, stop),
            daemon=True,
        )
        thread.start()
        while not ready:
            time.sleep(0.05)
        remote = RemoteScanner(
            "127.0.0.1:1",
            f"127.0.0.1:{ready[0]}",
            TLSFiles(client.cert_pem, client.key_pem, ca.cert_pem),
        )
        rng = random.Random(7)
        print(
            f"{'packages':>9} {'findings':>9} {'req KB':>8} {'reply KB':>9} "
            f"{'local p50':>10} {'p99':>7} {'gRPC p50':>9} {'p99':>7} {'overhead p50':>13}"
        )
        for n in (int(x) for x in args.sizes.split(",")):
            report = _report(n, names, rng)
            expected = local.match(report)
            assert remote.match(report) == expected  # warm-up, and the same answer
            lt, rt = [], []
            for _ in range(args.runs):
                t = time.perf_counter()
                local.match(report)
                lt.append(time.perf_counter() - t)
                t = time.perf_counter()
                remote.match(report)
                rt.append(time.perf_counter() - t)
            lp50, lp99 = _ms(lt)
            rp50, rp99 = _ms(rt)
            req = index_report_to_proto(report).ByteSize() / 1024
            rep = vulnerability_report_to_proto(expected).ByteSize() / 1024
            print(
                f"{n:>9} {len(expected.findings):>9} {req:>8.0f} {rep:>9.0f} "
                f"{lp50:>8.1f}ms {lp99:>5.1f}ms {rp50:>7.1f}ms {rp99:>5.1f}ms "
                f"{rp50 - lp50:>11.1f}ms"
            )
        remote.close()
    finally:
        stop.set()
        time.sleep(0.3)
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
