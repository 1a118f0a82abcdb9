"""Who is calling, and the providers that can tell.

An :class:`AuthProvider` looks at a request's credentials and returns an
:class:`Identity`, ``None`` when the credentials are not its kind, or raises
:class:`Unauthenticated` when they are its kind but wrong. Providers are tried in order;
single sign-on (OIDC) and machine-to-machine token exchange plug in as more providers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from stockade.central.auth.model import Access, RoleSet


@dataclass(frozen=True)
class Credentials:
    authorization: str | None  # the Authorization header, as sent
    source: str  # client address, for rate limiting and the audit log


@dataclass(frozen=True)
class Identity:
    principal: str  # "admin", "token:<name>", later "oidc:<sub>"
    display_name: str
    auth_method: str  # "basic", "token", ...
    provider: str
    roles: RoleSet
    expires: dt.datetime | None = None
    token_id: str | None = None

    def can(self, resource: str, needed: Access) -> bool:
        return self.roles.access(resource) >= needed


class AuthProvider(Protocol):
    name: str
    type: str

    async def authenticate(self, creds: Credentials) -> Identity | None: ...
