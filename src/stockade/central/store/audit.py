"""The audit log: one row for every mutating API call (who, what, when, outcome)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stockade.central.db.database import Database


@dataclass(frozen=True)
class AuditEntry:
    principal: str
    auth_method: str
    method: str
    path: str
    status: int
    source: str
    request_id: str


class AuditStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, entry: AuditEntry) -> None:
        async with self.db.connection() as conn:
            await conn.execute(
                "INSERT INTO audit_log (principal, auth_method, method, path, status, source,"
                " request_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    entry.principal,
                    entry.auth_method,
                    entry.method,
                    entry.path,
                    entry.status,
                    entry.source,
                    entry.request_id,
                ),
            )

    async def recent(self, limit: int, offset: int) -> list[dict[str, Any]]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM audit_log ORDER BY at DESC, id DESC LIMIT %s OFFSET %s",
                (limit, offset),
            )
            return [dict(r) for r in await cur.fetchall()]
