"""Portal sessions kept in Central DB: the cookie holds a random token, the table holds its
SHA-256 with the principal, a per-session CSRF token and the expiry times.

A session opened with an API token also names the token (migration 0012): each lookup reads
the token's roles afresh, and a revoked or expired token ends the session there and then."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from stockade.central.db.database import Database

COOKIE = "stockade_session"
LOGIN_CSRF_COOKIE = "stockade_login_csrf"
IDLE_TIMEOUT = dt.timedelta(hours=1)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)


@dataclass(frozen=True)
class Session:
    principal: str
    csrf_token: str
    created_at: dt.datetime
    expires_at: dt.datetime
    token_id: str | None = None  # the API token the session was opened with
    token_roles: tuple[str, ...] = ()  # that token's roles, as of this lookup


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


# One statement: touch the session and read its token's state (one round trip per page).
_LOOKUP = """
WITH s AS (
    UPDATE portal_sessions SET last_seen = now()
    WHERE token_hash = %s AND expires_at > now() AND last_seen > now() - %s
    RETURNING principal, csrf_token, created_at, expires_at, token_id
)
SELECT s.*, t.roles AS token_roles,
       (t.id IS NOT NULL AND NOT t.revoked AND t.expires_at > now()) AS token_live
FROM s LEFT JOIN api_tokens t ON t.id = s.token_id
"""


class SessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        principal: str,
        source: str,
        token_id: str | None = None,
        token_expires: dt.datetime | None = None,
    ) -> tuple[str, Session]:
        token = new_token()
        now = dt.datetime.now(dt.UTC)
        expires = now + ABSOLUTE_TIMEOUT
        if token_expires is not None:  # a token session never outlives its token
            expires = min(expires, token_expires)
        session = Session(principal, new_token(), now, expires, token_id)
        async with self._db.connection() as conn:
            # expired sessions of anyone are swept on each login; nothing else needs them
            await conn.execute("DELETE FROM portal_sessions WHERE expires_at <= now()")
            await conn.execute(
                "INSERT INTO portal_sessions (token_hash, principal, csrf_token, source,"
                " created_at, last_seen, expires_at, token_id)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    _hash(token),
                    principal,
                    session.csrf_token,
                    source,
                    now,
                    now,
                    session.expires_at,
                    uuid.UUID(token_id) if token_id else None,
                ),
            )
        return token, session

    async def lookup(self, token: str) -> Session | None:
        """The live session for a cookie value (touching its idle timer), or None. A session
        whose API token was revoked or has expired is deleted here and is None."""
        if not token or len(token) > 200:
            return None
        async with self._db.connection() as conn:
            cur = await conn.execute(_LOOKUP, (_hash(token), IDLE_TIMEOUT))
            row = await cur.fetchone()
            if row is not None and row["token_id"] is not None and not row["token_live"]:
                await conn.execute(
                    "DELETE FROM portal_sessions WHERE token_hash = %s", (_hash(token),)
                )
                return None
        if row is None:
            return None
        return Session(
            row["principal"],
            row["csrf_token"],
            row["created_at"],
            row["expires_at"],
            str(row["token_id"]) if row["token_id"] else None,
            tuple(row["token_roles"] or ()),
        )

    async def end(self, token: str) -> bool:
        async with self._db.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM portal_sessions WHERE token_hash = %s RETURNING principal",
                (_hash(token),),
            )
            return await cur.fetchone() is not None
