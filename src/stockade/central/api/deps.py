"""Request-scoped dependencies: the caller's identity and the permission a route needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from stockade.central.auth.identity import Credentials, Identity
from stockade.central.auth.model import Access
from stockade.central.errors import Forbidden
from stockade.central.runtime import Central


def _central(request: Request) -> Central:
    c: Central = request.app.state.central
    return c


async def central(request: Request) -> Central:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread
    return _central(request)


def client_source(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def identity(request: Request) -> Identity:
    cached: Identity | None = getattr(request.state, "identity", None)
    if cached is not None:
        return cached
    c = _central(request)
    ident = await c.authenticator.authenticate(
        Credentials(request.headers.get("authorization"), client_source(request))
    )
    request.state.identity = ident
    return ident


CentralDep = Annotated[Central, Depends(central)]
IdentityDep = Annotated[Identity, Depends(identity)]


def require(resource: str, access: Access) -> Callable[..., Awaitable[Identity]]:
    """Dependency: the caller, who must hold ``access`` on ``resource``."""

    async def check(ident: IdentityDep) -> Identity:
        if not ident.can(resource, access):
            verb = "write" if access is Access.READ_WRITE_ACCESS else "read"
            raise Forbidden(f"{verb} access to {resource} is required")
        return ident

    check.__name__ = f"require_{resource}_{access.name.lower()}"
    return check


def reader(resource: str) -> Any:
    return Depends(require(resource, Access.READ_ACCESS))


def writer(resource: str) -> Any:
    return Depends(require(resource, Access.READ_WRITE_ACCESS))
