"""API tokens. A token is 32 random bytes shown once at generation; Central keeps only its
SHA-256, so a database dump reveals no usable token."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from stockade.central.db.database import Database
from stockade.central.errors import NotFound

TOKEN_PREFIX = "stk_"  # noqa: S105  (a prefix, not a secret)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def looks_like_token(text: str) -> bool:
    return text.startswith(TOKEN_PREFIX) and 20 < len(text) < 200


@dataclass(frozen=True)
class TokenRecord:
    id: str
    name: str
    roles: list[str]
    issued_at: dt.datetime
    expires_at: dt.datetime
    revoked: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "roles": self.roles,
            "role": self.roles[0] if self.roles else "",
            "issuedAt": self.issued_at.isoformat().replace("+00:00", "Z"),
            "expiration": self.expires_at.isoformat().replace("+00:00", "Z"),
            "revoked": self.revoked,
        }


def _record(row: dict[str, Any]) -> TokenRecord:
    return TokenRecord(
        str(row["id"]),
        row["name"],
        list(row["roles"]),
        row["issued_at"],
        row["expires_at"],
        row["revoked"],
    )


class TokenStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, name: str, roles: list[str], expires_at: dt.datetime
    ) -> tuple[str, TokenRecord]:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = uuid.uuid4()
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO api_tokens (id, name, roles, token_hash, expires_at)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING *",
                (token_id, name, roles, hash_token(token), expires_at),
            )
            row = await cur.fetchone()
        assert row is not None
        return token, _record(dict(row))

    async def by_hash(self, digest: bytes) -> TokenRecord | None:
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM api_tokens WHERE token_hash = %s", (digest,))
            row = await cur.fetchone()
        return _record(dict(row)) if row else None

    async def list(self, revoked: bool | None) -> list[TokenRecord]:
        async with self.db.connection() as conn:
            if revoked is None:
                cur = await conn.execute("SELECT * FROM api_tokens ORDER BY issued_at, id")
            else:
                cur = await conn.execute(
                    "SELECT * FROM api_tokens WHERE revoked = %s ORDER BY issued_at, id",
                    (revoked,),
                )
            return [_record(dict(r)) for r in await cur.fetchall()]

    async def get(self, token_id: str) -> TokenRecord:
        try:
            key = uuid.UUID(token_id)
        except ValueError as exc:
            raise NotFound(f"API token {token_id!r} does not exist") from exc
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM api_tokens WHERE id = %s", (key,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"API token {token_id!r} does not exist")
        return _record(dict(row))

    async def revoke(self, token_id: str) -> TokenRecord:
        record = await self.get(token_id)
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE api_tokens SET revoked = true, revoked_at = now() WHERE id = %s",
                (uuid.UUID(record.id),),
            )
        return record
