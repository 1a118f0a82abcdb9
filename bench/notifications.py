"""Notification queue: what enqueueing costs a caller, and how fast the worker drains.

    .venv/bin/python bench/notifications.py [--count 500] [--receiver-ms 0]

Starts Central in-process on a fresh database of the machine's PostgreSQL and a loopback
HTTP receiver (answering after --receiver-ms); creates a generic webhook notifier; enqueues
--count alerts one by one (the way detection does) and reports the enqueue latency (p50,
p99), then the time until the receiver has every one, deliveries per second, and whether any
arrived twice. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "central" / "notifiers"))

from receivers import HttpReceiver  # noqa: E402

from stockade.central.config import load_config  # noqa: E402
from stockade.central.runtime import Central  # noqa: E402

ADMIN_URL = os.environ.get(
    "STOCKADE_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def alert(i: int) -> dict:
    return {
        "id": str(uuid.UUID(int=i)),
        "policy": {"id": "p", "name": "Privileged Container", "severity": "HIGH_SEVERITY"},
        "lifecycleStage": "DEPLOY",
        "deployment": {"name": f"web-{i}", "namespace": "shop", "clusterName": "bench"},
        "violations": [{"message": "Container 'web' is privileged"}],
        "time": "2026-01-02T03:04:05Z",
    }


async def main(count: int, receiver_ms: float) -> None:
    name = f"stockade_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    receiver = HttpReceiver()
    if receiver_ms:
        inner = receiver._handle

        async def delayed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(receiver_ms / 1000)
            await inner(reader, writer)

        receiver._handle = delayed  # type: ignore[method-assign]
    await receiver.start()
    central = None
    try:
        cfg = load_config(
            {
                "data_dir": Path(tempfile.mkdtemp(prefix="bench-notif-")),
                "db_url": db_url,
                "tls": False,
                "notifier_allow_local_endpoints": True,
                "notifier_poll_seconds": 0.5,
            },
            environ={},
        )
        central = await Central.start(cfg)
        n = await central.notifications.store.create(
            {"name": "bench", "type": "generic", "generic": {"endpoint": receiver.url + "/x"}}
        )
        latencies = []
        t0 = time.perf_counter()
        for i in range(count):
            t = time.perf_counter()
            await central.notifications.enqueue([n.id], f"alert:{i}", alert(i))
            latencies.append((time.perf_counter() - t) * 1000)
        enqueued = time.perf_counter() - t0
        while len(receiver.requests) < count:
            await asyncio.sleep(0.01)
        drained = time.perf_counter() - t0
        await asyncio.sleep(0.5)
        keys = [r.headers["idempotency-key"] for r in receiver.requests]
        latencies.sort()
        print(f"notifications: {count}, receiver answers after {receiver_ms:g} ms")
        print(
            f"enqueue latency: p50 {statistics.median(latencies):.2f} ms,"
            f" p99 {latencies[int(len(latencies) * 0.99) - 1]:.2f} ms"
            f" ({count / enqueued:.0f}/s from one caller)"
        )
        print(
            f"all delivered {drained:.2f} s after the first enqueue ({count / drained:.0f}/s),"
            f" {drained - enqueued:.2f} s after the last"
        )
        print(f"received: {len(keys)}, distinct: {len(set(keys))}")
    finally:
        if central is not None:
            await central.stop()
        await receiver.stop()
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            # the Scanner DB Central creates beside its own
            conn.execute(f'DROP DATABASE IF EXISTS "{name}_scanner" WITH (FORCE)')


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--receiver-ms", type=float, default=0.0)
    args = ap.parse_args()
    asyncio.run(main(args.count, args.receiver_ms))
