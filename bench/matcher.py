"""Matcher benchmark: load every shared feed, then match index reports warm.

    .venv/bin/python bench/matcher.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
                                      [--sizes 100,300,1000,10000] [--runs 30]

1. Loads every shared feed (../shared/vulndata, ../shared/claircore-testdata) into a fresh
   Scanner DB through the sources' offline mode: wall time per source, records, and the
   process's peak RSS.
2. Builds the in-memory ``Matcher`` from the store (time, peak RSS).
3. Matches synthetic index reports of N packages (a Debian bullseye image whose OS packages
   and PyPI/Go/npm/RubyGems packages are real names from the feeds, at old versions so many
   match), ``--runs`` times each after one warm-up: p50 / p99 ms per report, µs per package,
   and how time grows with size (ratio of µs per package to the smallest size).

Goal from the issue: a 300-package report in <= 100 ms p50 warm with every feed loaded, and
growth no worse than linear. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
import uuid
from pathlib import Path

import psycopg

from stockade.model.index_report import (
    Distribution,
    Ecosystem,
    IndexReport,
    Package,
    PackageKind,
)
from stockade.scanner.matcher.match import Matcher
from stockade.scanner.matcher.sources import make_updater
from stockade.scanner.matcher.store import VulnerabilityStore

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
V = SHARED / "vulndata"
C = SHARED / "claircore-testdata"
FEEDS = {
    "alpine": V / "alpine-secdb",
    "debian-advisories": V / "debian-security-tracker" / "data",
    "ubuntu-tracker": V / "ubuntu-cve-tracker" / "active",
    "redhat-vex": C / "rhel" / "vex" / "testdata",
    "photon": C / "photon" / "testdata",
    "osv-pypi": V / "osv-pypi" / "vulns",
    "osv-go": V / "osv-go" / "data" / "osv",
    "nodejs-wg": V / "nodejs-security-wg" / "vuln",
    "rubysec": V / "rubysec",
    "nvd": C / "enricher" / "cvss" / "testdata",
    "cisa-kev": C / "enricher" / "kev" / "testdata",
    "epss": C / "enricher" / "epss" / "testdata",
}
LANG = {
    "PyPI": Ecosystem.PYPI,
    "Go": Ecosystem.GOLANG,
    "npm": Ecosystem.NPM,
    "RubyGems": Ecosystem.GEM,
}
OLD = {"PyPI": "0.9", "Go": "v0.1.0", "npm": "0.1.0", "RubyGems": "0.1.0"}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _report(n: int, names: dict[str, list[str]], rng: random.Random) -> IndexReport:
    packages: list[Package] = []
    deb = names["debian"]
    for i in range(n):
        if i % 2 == 0:
            src = rng.choice(deb)
            packages.append(
                Package(
                    name=f"{src}-bin{i}",
                    version="0.1-1",
                    kind=PackageKind.OS,
                    ecosystem=Ecosystem.DEB,
                    purl="",
                    path="",
                    analyser="bench",
                    analyser_version="1",
                    source_name=src,
                    source_version="0.1-1",
                )
            )
        else:
            eco = rng.choice(list(LANG))
            packages.append(
                Package(
                    name=rng.choice(names[eco]),
                    version=OLD[eco],
                    kind=PackageKind.LANGUAGE,
                    ecosystem=LANG[eco],
                    purl="",
                    path="",
                    analyser="bench",
                    analyser_version="1",
                )
            )
    bullseye = Distribution(
        did="debian", name="Debian GNU/Linux", version_id="11", version_codename="bullseye"
    )
    return IndexReport(
        manifest_digest=f"sha256:bench{n}", distributions=(bullseye,), packages=tuple(packages)
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--sizes", default="100,300,1000,10000")
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    db = f"stockade_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    url = args.admin_url.rsplit("/", 1)[0] + f"/{db}"
    try:
        store = VulnerabilityStore(url)
        store.migrate()
        print("== load (offline, every shared feed)")
        total_t = time.perf_counter()
        for name, path in FEEDS.items():
            t = time.perf_counter()
            run = store.update(make_updater(name, offline=path))
            print(
                f"  {name:<18} {run.status:<8} {run.records:>7} rows  "
                f"{time.perf_counter() - t:6.2f} s"
            )
        load_s = time.perf_counter() - total_t
        rows = store.count()
        print(f"  total: {rows} rows in {load_s:.1f} s; peak RSS {_rss_mb():.0f} MB")

        t = time.perf_counter()
        matcher = Matcher(store.records())
        print(
            f"== warm matcher built from the store in {time.perf_counter() - t:.1f} s, "
            f"{matcher.count} records; peak RSS {_rss_mb():.0f} MB"
        )

        names: dict[str, list[str]] = {
            "debian": sorted(
                {r.package for r in store.records("debian-advisories") if r.release == "bullseye"}
            )
        }
        for eco in LANG:
            names[eco] = sorted({k[1] for k in matcher._lang if k[0] == eco})
        rng = random.Random(1)
        print("== match (warm)")
        base = None
        for n in (int(s) for s in args.sizes.split(",")):
            report = _report(n, names, rng)
            runs = max(5, args.runs if n <= 1000 else args.runs // 3)
            matcher.match(report)
            times = []
            findings = 0
            for _ in range(runs):
                t = time.perf_counter()
                out = matcher.match(report)
                times.append((time.perf_counter() - t) * 1000)
                findings = len(out.findings)
            times.sort()
            p50 = statistics.median(times)
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            per_pkg = p50 * 1000 / n
            base = base or per_pkg
            print(
                f"  {n:>6} packages: p50 {p50:8.2f} ms  p99 {p99:8.2f} ms  "
                f"{per_pkg:6.1f} µs/package (x{per_pkg / base:.2f} of the smallest)  "
                f"{findings} findings"
            )
        print(f"  peak RSS {_rss_mb():.0f} MB")
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


if __name__ == "__main__":
    main()
