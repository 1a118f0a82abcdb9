"""Alerts active per day (GET /v1/alerts/summary/daily) with many alerts.

    .venv/bin/python bench/alert_trends.py [ALERTS]   (default 100000)

Creates a database on the machine's PostgreSQL, starts Central in this process, inserts
ALERTS alerts in SQL (first seen over the last 90 days, a third resolved within the last 20,
7 categories each plus one shared), and requests the route 12 times per grouping through the
ASGI app (server time, no network). Prints the median and the slowest. Not part of the tests.
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from stockade.central.app import create_app
from stockade.central.config import load_config
from stockade.central.runtime import Central

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def main() -> None:
    name = f"stockade_c2bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        d = Path(tempfile.mkdtemp())
        central = await Central.start(
            load_config({"data_dir": d, "db_url": url, "tls": False}, environ={})
        )
        with psycopg.connect(url) as c:
            c.execute(
                """INSERT INTO alerts (id, policy_id, policy, policy_name, severity, categories,
              lifecycle_stage, state, violations, first_occurred, resolved_at)
              SELECT gen_random_uuid(), 'p' || (i %% 80), '{}'::jsonb, 'policy ' || (i %% 80),
                (ARRAY['LOW_SEVERITY','MEDIUM_SEVERITY','HIGH_SEVERITY','CRITICAL_SEVERITY'])[1 + i %% 4],
                ARRAY[(ARRAY['A','B','C','D','E','F','G'])[1 + i %% 7], 'Z'], 'DEPLOY',
                CASE WHEN i %% 3 = 0 THEN 'RESOLVED' ELSE 'ACTIVE' END, '[]'::jsonb,
                now() - (i %% 90) * interval '1 day' - (i %% 24) * interval '1 hour',
                CASE WHEN i %% 3 = 0 THEN now() - (i %% 20) * interval '1 day' END
              FROM generate_series(1, %s) i""",
                (N,),
            )
            c.execute("ANALYZE alerts")
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(central)), base_url="http://x"
        )
        pw = (d / "admin-password").read_text().strip()
        h = {"Authorization": "Basic " + base64.b64encode(f"admin:{pw}".encode()).decode()}
        for group in ("SEVERITY", "CATEGORY"):
            times = []
            for _ in range(12):
                t = time.perf_counter()
                r = await client.get(f"/v1/alerts/summary/daily?groupBy={group}", headers=h)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
            times.sort()
            print(
                f"{N} alerts, groupBy={group}: median {statistics.median(times):.0f} ms, max {times[-1]:.0f} ms"
            )
        await client.aclose()
        await central.stop()
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f'DROP DATABASE IF EXISTS "{name}_scanner" WITH (FORCE)')


asyncio.run(main())
