"""Portal sessions kept in Central DB: the cookie holds a random token, the table holds its
SHA-256 with the principal, a per-session CSRF token and the expiry times."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
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


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class SessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, principal: str, source: str) -> tuple[str, Session]:
        token = new_token()
        now = dt.datetime.now(dt.UTC)
        session = Session(principal, new_token(), now, now + ABSOLUTE_TIMEOUT)
        async with self._db.connection() as conn:
            # expired sessions of anyone are swept on each login; nothing else needs them
            await conn.execute("DELETE FROM portal_sessions WHERE expires_at <= now()")
            await conn.execute(
                "INSERT INTO portal_sessions (token_hash, principal, csrf_token, source,"
                " created_at, last_seen, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (_hash(token), principal, session.csrf_token, source, now, now, session.expires_at),
            )
        return token, session

    async def lookup(self, token: str) -> Session | None:
        """The live session for a cookie value (touching its idle timer), or None."""
        if not token or len(token) > 200:
            return None
        async with self._db.connection() as conn:
            cur = await conn.execute(
                "UPDATE portal_sessions SET last_seen = now() WHERE token_hash = %s"
                " AND expires_at > now() AND last_seen > now() - %s"
                " RETURNING principal, csrf_token, created_at, expires_at",
                (_hash(token), IDLE_TIMEOUT),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        return Session(row["principal"], row["csrf_token"], row["created_at"], row["expires_at"])

    async def end(self, token: str) -> bool:
        async with self._db.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM portal_sessions WHERE token_hash = %s RETURNING principal",
                (_hash(token),),
            )
            return await cur.fetchone() is not None
