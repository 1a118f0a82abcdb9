"""API tokens: generate (shown once), list, get, revoke."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from stockade.central.api.deps import CentralDep, reader, writer
from stockade.central.auth.identity import Identity
from stockade.central.auth.model import RESOURCES, Role
from stockade.central.errors import BadRequest, Forbidden

router = APIRouter(tags=["API tokens"])

MAX_LIFETIME = dt.timedelta(days=366)
DEFAULT_LIFETIME = dt.timedelta(days=90)


class GenerateTokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=256)
    role: str | None = None
    roles: list[str] | None = None
    expiration: dt.datetime | None = None


def _grantable(ident: Identity, role: Role) -> bool:
    """A caller may hand out a role only if it grants nothing the caller lacks."""
    return all(role.permission_set.access(r) <= ident.roles.access(r) for r in RESOURCES)


@router.post("/v1/apitokens/generate", summary="Generate an API token (shown only in this answer)")
async def generate(
    body: GenerateTokenRequest, c: CentralDep, ident: Identity = writer("Integration")
) -> dict[str, Any]:
    names = list(dict.fromkeys([*([body.role] if body.role else []), *(body.roles or [])]))
    if not names:
        raise BadRequest("a token needs a role: give role or roles")
    roles = await c.access.roles()
    for name in names:
        if name not in roles:
            raise BadRequest(f"role {name!r} does not exist")
        if not _grantable(ident, roles[name]):
            raise Forbidden(f"role {name!r} grants more than the caller holds")
    now = dt.datetime.now(dt.UTC)
    expires = body.expiration or now + DEFAULT_LIFETIME
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)
    if expires <= now:
        raise BadRequest("expiration must be in the future")
    if expires > now + MAX_LIFETIME:
        raise BadRequest("expiration may be at most one year ahead")
    token, record = await c.tokens.create(body.name, names, expires)
    return {"token": token, "metadata": record.to_json()}


@router.get("/v1/apitokens", summary="List API tokens", dependencies=[reader("Integration")])
async def list_tokens(c: CentralDep, revoked: bool | None = None) -> dict[str, Any]:
    return {"tokens": [t.to_json() for t in await c.tokens.list(revoked)]}


@router.get("/v1/apitokens/generate/allowed-roles", summary="Roles the caller may give a new token")
async def allowed_roles(c: CentralDep, ident: Identity = writer("Integration")) -> dict[str, Any]:
    roles = await c.access.roles()
    return {"roleNames": sorted(n for n, r in roles.items() if _grantable(ident, r))}


@router.get(
    "/v1/apitokens/{token_id}",
    summary="One API token's metadata",
    dependencies=[reader("Integration")],
)
async def get_token(token_id: str, c: CentralDep) -> dict[str, Any]:
    return (await c.tokens.get(token_id)).to_json()


@router.patch(
    "/v1/apitokens/revoke/{token_id}",
    summary="Revoke an API token",
    dependencies=[writer("Integration")],
)
async def revoke(token_id: str, c: CentralDep) -> dict[str, Any]:
    record = await c.tokens.revoke(token_id)
    c.token_provider.forget(record.id)
    return {}
