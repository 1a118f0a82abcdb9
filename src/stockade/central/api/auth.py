"""Who am I, and what may I do."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from stockade.central.api.deps import IdentityDep
from stockade.central.auth.identity import Identity
from stockade.central.auth.model import RESOURCES

router = APIRouter(tags=["Auth"])


def _permissions(ident: Identity) -> dict[str, str]:
    effective = ident.roles.effective
    return {r: effective[r].name for r in RESOURCES}


@router.get("/v1/auth/status", summary="The caller's identity, roles and permissions")
async def auth_status(ident: IdentityDep) -> dict[str, Any]:
    expires = ident.expires.isoformat().replace("+00:00", "Z") if ident.expires else None
    return {
        "userId": ident.principal,
        "expires": expires,
        "authProvider": {"name": ident.provider, "type": ident.auth_method},
        "userInfo": {
            "username": ident.principal,
            "friendlyName": ident.display_name,
            "permissions": {"resourceToAccess": _permissions(ident)},
            "roles": [
                {
                    "name": r.name,
                    "permissionSetId": r.permission_set.id,
                    "accessScopeId": r.access_scope.id,
                    "resourceToAccess": {
                        k: v.name for k, v in r.permission_set.resource_to_access.items()
                    },
                }
                for r in ident.roles.roles
            ],
        },
    }


@router.get("/v1/mypermissions", summary="The caller's effective permissions")
async def my_permissions(ident: IdentityDep) -> dict[str, Any]:
    return {"resourceToAccess": _permissions(ident)}
