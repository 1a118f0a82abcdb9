"""Versioned schema migrations, safe to run twice and from several Centrals at once.

Each ``migrations/NNNN_name.sql`` file is applied once, in its own transaction, in number
order; ``schema_migrations`` records what ran. The whole run holds a PostgreSQL advisory lock,
so a second Central starting at the same moment waits and then finds nothing left to do. The
caller may run more one-time work under the same lock (Central generates its secrets there).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources

import psycopg

logger = logging.getLogger(__name__)

# pg_advisory_lock key: "stockade" as a 63-bit integer, constant across versions.
MIGRATION_LOCK_KEY = 0x73746F636B616465
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations(package: str = "stockade.central.db.migrations") -> list[Migration]:
    found = []
    for entry in resources.files(package).iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text()))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration numbers in {package}")
    return found


async def migrate(
    conn: psycopg.AsyncConnection[object],
    migrations: list[Migration] | None = None,
    also_under_lock: Callable[[], Awaitable[None]] | None = None,
) -> list[int]:
    """Apply pending migrations; returns the versions applied by this call.

    ``conn`` must be in autocommit mode: each migration runs in its own transaction while
    the session-level advisory lock is held across all of them.
    """
    todo = available_migrations() if migrations is None else migrations
    applied_now: list[int] = []
    await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in await cur.fetchall()}  # type: ignore[index]
        for mig in todo:
            if mig.version in done:
                continue
            async with conn.transaction():
                await conn.execute(mig.sql.encode())
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (mig.version, mig.name),
                )
            logger.info("applied migration", extra={"version": mig.version, "migration": mig.name})
            applied_now.append(mig.version)
        if also_under_lock is not None:
            await also_under_lock()
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied_now


async def current_version(conn: psycopg.AsyncConnection[object]) -> int:
    cur = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    exists = await cur.fetchone()
    if not exists or not exists[0]:  # type: ignore[index]
        return 0
    cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
    row = await cur.fetchone()
    return int(row[0]) if row else 0  # type: ignore[index]
