"""Roles, permission sets and access scopes (resource ``Access``)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from stockade.central.api.deps import CentralDep, reader, writer
from stockade.central.auth.model import access_map_to_json, rules_from_json, rules_to_json
from stockade.central.errors import BadRequest, NotFound

router = APIRouter(tags=["Access control"])
READ = [reader("Access")]
WRITE = [writer("Access")]


class PermissionSetBody(BaseModel):
    id: str | None = None
    name: str = Field(min_length=1, max_length=256)
    description: str = ""
    resourceToAccess: dict[str, str] = Field(default_factory=dict)


class AccessScopeBody(BaseModel):
    id: str | None = None
    name: str = Field(min_length=1, max_length=256)
    description: str = ""
    rules: dict[str, Any] | None = None


class RoleBody(BaseModel):
    name: str | None = None
    description: str = ""
    permissionSetId: str
    accessScopeId: str


def _ps_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "resourceToAccess": row["resource_to_access"],
        "traits": _traits(row),
    }


def _scope_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "rules": rules_to_json(rules_from_json(row["rules"])),
        "traits": _traits(row),
    }


def _traits(row: dict[str, Any]) -> dict[str, str]:
    return {"origin": "DEFAULT" if row["builtin"] else "IMPERATIVE"}


# ---- permission sets ---------------------------------------------------------------------------
@router.get("/v1/permissionsets", dependencies=READ)
async def list_permission_sets(c: CentralDep) -> dict[str, Any]:
    return {"permissionSets": [_ps_json(r) for r in await c.access.list_permission_sets()]}


@router.get("/v1/permissionsets/{ps_id}", dependencies=READ)
async def get_permission_set(ps_id: str, c: CentralDep) -> dict[str, Any]:
    return _ps_json(await c.access.get_permission_set(ps_id))


@router.post("/v1/permissionsets", dependencies=WRITE)
async def create_permission_set(body: PermissionSetBody, c: CentralDep) -> dict[str, Any]:
    ps_id = body.id or f"io.stockade.permissionset.{uuid.uuid4()}"
    await c.access.put_permission_set(
        ps_id, body.name, body.description, body.resourceToAccess, create=True
    )
    return _ps_json(await c.access.get_permission_set(ps_id))


@router.put("/v1/permissionsets/{ps_id}", dependencies=WRITE)
async def update_permission_set(
    ps_id: str, body: PermissionSetBody, c: CentralDep
) -> dict[str, Any]:
    await c.access.put_permission_set(
        ps_id, body.name, body.description, body.resourceToAccess, create=False
    )
    return {}


@router.delete("/v1/permissionsets/{ps_id}", dependencies=WRITE)
async def delete_permission_set(ps_id: str, c: CentralDep) -> dict[str, Any]:
    await c.access.delete("permission_sets", "id", ps_id, "permission set")
    return {}


# ---- access scopes -----------------------------------------------------------------------------
@router.get("/v1/simpleaccessscopes", dependencies=READ)
async def list_scopes(c: CentralDep) -> dict[str, Any]:
    return {"accessScopes": [_scope_json(r) for r in await c.access.list_scopes()]}


@router.get("/v1/simpleaccessscopes/{scope_id}", dependencies=READ)
async def get_scope(scope_id: str, c: CentralDep) -> dict[str, Any]:
    return _scope_json(await c.access.get_scope(scope_id))


@router.post("/v1/simpleaccessscopes", dependencies=WRITE)
async def create_scope(body: AccessScopeBody, c: CentralDep) -> dict[str, Any]:
    scope_id = body.id or f"io.stockade.accessscope.{uuid.uuid4()}"
    await c.access.put_scope(scope_id, body.name, body.description, body.rules or {}, create=True)
    return _scope_json(await c.access.get_scope(scope_id))


@router.put("/v1/simpleaccessscopes/{scope_id}", dependencies=WRITE)
async def update_scope(scope_id: str, body: AccessScopeBody, c: CentralDep) -> dict[str, Any]:
    await c.access.put_scope(scope_id, body.name, body.description, body.rules or {}, create=False)
    return {}


@router.delete("/v1/simpleaccessscopes/{scope_id}", dependencies=WRITE)
async def delete_scope(scope_id: str, c: CentralDep) -> dict[str, Any]:
    await c.access.delete("access_scopes", "id", scope_id, "access scope")
    return {}


# ---- roles -------------------------------------------------------------------------------------
def _role_json(name: str, c: Any, roles: dict[str, Any]) -> dict[str, Any]:
    r = roles[name]
    return {
        "name": r.name,
        "description": r.description,
        "permissionSetId": r.permission_set.id,
        "accessScopeId": r.access_scope.id,
        "resourceToAccess": access_map_to_json(r.permission_set.resource_to_access),
        "traits": {"origin": "DEFAULT" if r.builtin else "IMPERATIVE"},
    }


@router.get("/v1/roles", dependencies=READ)
async def list_roles(c: CentralDep) -> dict[str, Any]:
    c.access.invalidate()
    roles = await c.access.roles()
    return {"roles": [_role_json(n, c, roles) for n in sorted(roles)]}


@router.get("/v1/roles/{name}", dependencies=READ)
async def get_role(name: str, c: CentralDep) -> dict[str, Any]:
    roles = await c.access.roles()
    if name not in roles:
        raise NotFound(f"role {name!r} does not exist")
    return _role_json(name, c, roles)


@router.post("/v1/roles/{name}", dependencies=WRITE)
async def create_role(name: str, body: RoleBody, c: CentralDep) -> dict[str, Any]:
    if body.name and body.name != name:
        raise BadRequest("the role name in the path and the body differ")
    await c.access.put_role(
        name, body.description, body.permissionSetId, body.accessScopeId, create=True
    )
    return {}


@router.put("/v1/roles/{name}", dependencies=WRITE)
async def update_role(name: str, body: RoleBody, c: CentralDep) -> dict[str, Any]:
    await c.access.put_role(
        name, body.description, body.permissionSetId, body.accessScopeId, create=False
    )
    return {}


@router.delete("/v1/roles/{name}", dependencies=WRITE)
async def delete_role(name: str, c: CentralDep) -> dict[str, Any]:
    await c.access.delete("roles", "name", name, "role")
    return {}
