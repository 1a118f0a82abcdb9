"""The identity providers Central has today: the built-in admin user over HTTP basic, and API
tokens over ``Authorization: Bearer``. Later providers (OIDC, token exchange) implement the
same :class:`AuthProvider` protocol and are appended to the authenticator's list."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import time

from stockade.central.auth.identity import AuthProvider, Credentials, Identity
from stockade.central.auth.model import ADMIN_ROLE, RoleSet
from stockade.central.auth.passwords import VerifiedCache
from stockade.central.auth.ratelimit import FailureLimiter
from stockade.central.errors import TooManyRequests, Unauthenticated
from stockade.central.store.access import AccessStore
from stockade.central.store.tokens import TokenStore, hash_token, looks_like_token

ADMIN_USER = "admin"
TOKEN_CACHE_SECONDS = 5.0


def _split(header: str) -> tuple[str, str]:
    scheme, _, value = header.strip().partition(" ")
    return scheme.lower(), value.strip()


class BasicAdminProvider:
    name = "basic"
    type = "basic"

    def __init__(self, password_hash: str, access: AccessStore) -> None:
        self._hash = password_hash
        self._access = access
        self._verified = VerifiedCache()
        self._identity: tuple[Identity, float] | None = None

    async def authenticate(self, creds: Credentials) -> Identity | None:
        if not creds.authorization:
            return None
        scheme, value = _split(creds.authorization)
        if scheme != "basic":
            return None
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise Unauthenticated("malformed basic authorization header") from exc
        if not sep or user != ADMIN_USER or not self._verified.verify(self._hash, password):
            raise Unauthenticated("wrong username or password")
        cached = self._identity
        now = time.monotonic()
        if cached is not None and now - cached[1] < TOKEN_CACHE_SECONDS:
            return cached[0]  # one identity (and its resolved permissions) for a few seconds
        roles = await self._access.resolve([ADMIN_ROLE])
        ident = Identity(ADMIN_USER, ADMIN_USER, "basic", self.name, RoleSet(roles))
        self._identity = (ident, now)
        return ident


class TokenProvider:
    name = "api-token"
    type = "token"

    def __init__(self, tokens: TokenStore, access: AccessStore) -> None:
        self._tokens = tokens
        self._access = access
        # hash -> (identity or None for unknown/revoked/expired, cached at)
        self._cache: dict[bytes, tuple[Identity | None, float]] = {}

    def forget(self, token_id: str) -> None:
        """Drop a token from the cache at once (revocation in this process)."""
        for key, (ident, _) in list(self._cache.items()):
            if ident is not None and ident.token_id == token_id:
                del self._cache[key]

    async def authenticate(self, creds: Credentials) -> Identity | None:
        if not creds.authorization:
            return None
        scheme, value = _split(creds.authorization)
        if scheme != "bearer":
            return None
        if not looks_like_token(value):
            raise Unauthenticated("the bearer token is not a Stockade API token")
        digest = hash_token(value)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and now - hit[1] < TOKEN_CACHE_SECONDS:
            ident = hit[0]
        else:
            ident = await self._load(digest)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (ident, now)
        if ident is None:
            raise Unauthenticated("the API token is unknown or revoked")
        if ident.expires is not None and ident.expires <= dt.datetime.now(dt.UTC):
            raise Unauthenticated("the API token has expired")
        return ident

    async def _load(self, digest: bytes) -> Identity | None:
        record = await self._tokens.by_hash(digest)
        if record is None or record.revoked:
            return None
        roles = await self._access.resolve(record.roles)
        return Identity(
            f"token:{record.name}",
            record.name,
            "token",
            self.name,
            RoleSet(roles),
            expires=record.expires_at,
            token_id=record.id,
        )


class Authenticator:
    """Tries each provider in turn; counts failures per source and refuses a source that
    fails too often (before any provider does expensive work)."""

    def __init__(self, providers: list[AuthProvider], limiter: FailureLimiter) -> None:
        self.providers = providers
        self.limiter = limiter

    async def authenticate(self, creds: Credentials) -> Identity:
        if self.limiter.blocked(creds.source):
            raise TooManyRequests(
                "too many failed logins from this address; try again in "
                f"{self.limiter.retry_after(creds.source)} seconds"
            )
        try:
            for provider in self.providers:
                ident = await provider.authenticate(creds)
                if ident is not None:
                    return ident
        except Unauthenticated:
            self.limiter.record_failure(creds.source)
            raise
        if creds.authorization:
            self.limiter.record_failure(creds.source)
            raise Unauthenticated("unsupported authorization scheme")
        raise Unauthenticated("credentials are required")
