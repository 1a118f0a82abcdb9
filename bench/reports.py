"""Vulnerability report generation on a large inventory.

    .venv/bin/python bench/reports.py [--images 500] [--cves-per-image 400] [--deployments-per-image 4]

Creates a database on the machine's PostgreSQL, applies Central's migrations, seeds (straight
in SQL) one cluster with N images of 20 components and ``cves-per-image`` findings each, each
image used by ``deployments-per-image`` deployments, and generates the report of a collection
holding the whole cluster (all findings, NVD CVSS and EPSS columns). Prints rows, seconds,
rows per second, the zip's size, and the peak of Python memory (tracemalloc) while generating
beside the CSV's uncompressed size: the rows stream through, only the zip is held.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import time
import tracemalloc
import uuid
import zipfile

import psycopg

from stockade.central.db.database import Database
from stockade.central.db.migrate import migrate
from stockade.central.reports.collections import parse_selectors
from stockade.central.reports.configs import parse_config
from stockade.central.reports.csvreport import generate

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

SEED = """
INSERT INTO clusters (id, name) VALUES ('00000000-0000-0000-0000-000000000001', 'bench');
INSERT INTO cves (id, severity, cvss, epss)
  SELECT 'CVE-2020-' || (100000 + n), (ARRAY['CRITICAL','IMPORTANT','MODERATE','LOW'])[1 + n % 4],
         (ARRAY[9.8,7.5,5.3,3.1])[1 + n % 4], (n % 1000) / 1000.0
  FROM generate_series(0, 19999) n;
INSERT INTO images (id, name, scanned_at)
  SELECT 'sha256:' || lpad(to_hex(n), 64, '0'), 'quay.io/bench/svc' || n || ':1.0', now()
  FROM generate_series(0, {images} - 1) n;
INSERT INTO image_components (image_id, idx, name, version)
  SELECT 'sha256:' || lpad(to_hex(n), 64, '0'), c, 'lib' || ((n + c) % 500), '1.' || c
  FROM generate_series(0, {images} - 1) n, generate_series(0, 19) c;
INSERT INTO image_cves (image_id, component_idx, cve_id, severity, cvss, nvd_cvss, fixed_by,
                        fixable)
  SELECT 'sha256:' || lpad(to_hex(n), 64, '0'), k % 20,
         'CVE-2020-' || (100000 + (n * 37 + k * 211) % 20000), 'MODERATE', 5.3, 5.5,
         CASE WHEN k % 3 = 0 THEN '9.9' ELSE '' END, k % 3 = 0
  FROM generate_series(0, {images} - 1) n, generate_series(0, {per} - 1) k
  ON CONFLICT DO NOTHING;
INSERT INTO deployments (id, cluster_id, namespace, name)
  SELECT gen_random_uuid(), '00000000-0000-0000-0000-000000000001', 'ns' || (n % 50),
         'svc' || n || '-' || d
  FROM generate_series(0, {images} - 1) n, generate_series(0, {deps} - 1) d;
INSERT INTO deployment_images (deployment_id, container, image_name, image_id)
  SELECT d.id, 'main', 'quay.io/bench/' || split_part(d.name, '-', 1) || ':1.0',
         'sha256:' || lpad(to_hex(substr(split_part(d.name, '-', 1), 4)::int), 64, '0')
  FROM deployments d;
ANALYZE;
"""

CONFIG = {
    "name": "bench",
    "resourceScope": {"collectionScope": {"collectionId": str(uuid.UUID(int=1))}},
    "vulnReportFilters": {"allVuln": True, "includeNvdCvss": True, "includeEpssProbability": True},
}
WHOLE_CLUSTER = [{"rules": [{"fieldName": "Cluster", "values": [{"value": "bench"}]}]}]


async def run(args: argparse.Namespace, url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await migrate(conn)
        started = time.perf_counter()
        seed = SEED.format(
            images=int(args.images),
            per=int(args.cves_per_image),
            deps=int(args.deployments_per_image),
        )
        await conn.execute(seed.encode())  # numbers only: several statements, no parameters
        print(f"seeded in {time.perf_counter() - started:.1f} s")
    db = Database(url, min_size=1, max_size=2, timeout=30)
    await db.open()
    try:
        cfg, selectors = parse_config(CONFIG), parse_selectors(WHOLE_CLUSTER)
        tracemalloc.start()
        started = time.perf_counter()
        report = await generate(
            db,
            cfg,
            selectors,
            last_sent_at=None,
            max_bytes=1 << 30,
            name="bench",
            as_of=dt.datetime.now(dt.UTC),
        )
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        await db.close()
    with zipfile.ZipFile(io.BytesIO(report.content)) as zf:
        csv_size = zf.infolist()[0].file_size
    mib = 1024 * 1024
    print(
        f"{report.rows} rows in {seconds:.2f} s ({report.rows / seconds:,.0f} rows/s);"
        f" CSV {csv_size / mib:.1f} MiB, zip {len(report.content) / mib:.1f} MiB;"
        f" peak Python memory while generating {peak / mib:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--cves-per-image", type=int, default=400)
    parser.add_argument("--deployments-per-image", type=int, default=4)
    args = parser.parse_args()
    name = f"stockade_bench_reports_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    try:
        asyncio.run(run(args, ADMIN_URL.rsplit("/", 1)[0] + "/" + name))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
