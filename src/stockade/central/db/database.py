"""Central's connection pool.

Every store call goes through :meth:`Database.connection`, which turns "the database cannot
be reached" (refused connection, pool exhausted waiting for a connection, connection dropped
mid-query) into :class:`DatabaseUnavailable` — the API answers 503 and the pool reconnects by
itself when the server is back, so Central recovers without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from stockade.central.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

Conn = psycopg.AsyncConnection[dict[str, Any]]

STATEMENT_TIMEOUT_MS = 15_000


class Database:
    def __init__(
        self, url: str, *, min_size: int = 2, max_size: int = 10, timeout: float = 5.0
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            open=False,
            kwargs={
                "row_factory": dict_row,
                "connect_timeout": max(1, int(timeout)),
                # bounds every statement, user-supplied search regexes included; no JIT:
                # compiling costs more (~50 ms on a scoped CVE list) than Central's short
                # queries ever gain from it
                "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c jit=off",
            },
            # No check on checkout: it would cost a round trip per request. A connection that
            # broke while idle fails its query, the pool drops it, the request answers 503
            # and the next one gets a fresh connection.
            reconnect_timeout=0,  # keep trying for ever; a failed attempt does not close the pool
            name="central",
        )

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """A pooled connection inside a transaction (committed on success)."""
        try:
            async with self.pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise DatabaseUnavailable("Central DB is not reachable right now") from exc
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable("Central DB is not reachable right now") from exc

    @asynccontextmanager
    async def try_advisory_lock(self, key: int) -> AsyncIterator[bool]:
        """Try the session advisory lock ``key`` without waiting; yields whether it was taken
        and releases it on exit. The lock lives on a pooled connection in autocommit mode, so
        a long run under it never leaves that connection idle in a transaction."""
        async with self.connection() as conn:
            await conn.set_autocommit(True)
            try:
                cur = await conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (key,))
                row = await cur.fetchone()
                taken = bool(row and row["ok"])
                try:
                    yield taken
                finally:
                    if taken and not conn.broken:
                        await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            finally:
                if not conn.broken and not conn.closed:  # back to the pool as it came out
                    await conn.set_autocommit(False)

    def stats(self) -> dict[str, int]:
        return dict(self.pool.get_stats())
