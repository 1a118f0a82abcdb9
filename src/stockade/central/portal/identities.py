"""Who a portal session speaks for: the admin (opened with the password) or an API token
(opened with the token), with the roles that principal holds right now."""

from __future__ import annotations

from stockade.central.auth.identity import Identity
from stockade.central.auth.model import ADMIN_ROLE, RoleSet
from stockade.central.auth.providers import ADMIN_USER
from stockade.central.portal.sessions import Session
from stockade.central.runtime import Central

AUTH_METHOD = "session"  # how the audit log names a portal form post
PROVIDER = "portal-session"


async def session_identity(c: Central, session: Session) -> Identity | None:
    """The session's identity, or None for a session no principal can hold any more."""
    if session.token_id is None:
        if session.principal != ADMIN_USER:  # password sessions are the admin's only
            return None
        roles = await c.access.resolve([ADMIN_ROLE])
        return Identity(ADMIN_USER, ADMIN_USER, AUTH_METHOD, PROVIDER, RoleSet(roles))
    # the token's roles as the session lookup read them: a role change applies at once
    roles = await c.access.resolve(list(session.token_roles))
    return Identity(
        session.principal,
        session.principal.removeprefix("token:"),
        AUTH_METHOD,
        PROVIDER,
        RoleSet(roles),
        expires=session.expires_at,
        token_id=session.token_id,
    )
