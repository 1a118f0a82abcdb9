"""Vulnerability exceptions (``/v2/vulnerability-exceptions``): a requester asks for a
deferral or a false-positive mark, an approver decides; every step is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from stockade.central.api.deps import CentralDep, IdentityDep, writer
from stockade.central.auth.identity import Identity
from stockade.central.auth.model import Access
from stockade.central.errors import BadRequest, Forbidden
from stockade.central.runtime import Central
from stockade.central.store.exceptions import ANY, ImageScope

router = APIRouter(tags=["Vulnerability exceptions"])
REQUESTS = "VulnerabilityManagementRequests"
APPROVALS = "VulnerabilityManagementApprovals"
BASE = "/v2/vulnerability-exceptions"


async def requester_or_approver(ident: IdentityDep) -> Identity:
    if not (ident.can(REQUESTS, Access.READ_ACCESS) or ident.can(APPROVALS, Access.READ_ACCESS)):
        raise Forbidden(f"read access to {REQUESTS} or {APPROVALS} is required")
    return ident


EITHER = Depends(requester_or_approver)


class ImageScopeBody(BaseModel):
    registry: str = ANY
    remote: str = ANY
    tag: str = ANY


class ScopeBody(BaseModel):
    imageScope: ImageScopeBody = Field(default_factory=ImageScopeBody)


class ExpiryBody(BaseModel):
    expiryType: Literal["TIME", "ALL_CVE_FIXABLE", "ANY_CVE_FIXABLE"] = "TIME"
    expiresOn: dt.datetime | None = None


class RequestBody(BaseModel):
    cves: list[str] = Field(min_length=1)
    comment: str
    scope: ScopeBody = Field(default_factory=ScopeBody)


class DeferralBody(RequestBody):
    exceptionExpiry: ExpiryBody = Field(default_factory=ExpiryBody)


class DecisionBody(BaseModel):
    comment: str = ""


def _scope(body: RequestBody) -> ImageScope:
    s = body.scope.imageScope
    if s.remote == ANY and s.registry != ANY:
        raise BadRequest("an image scope naming a registry must also name the remote")
    return ImageScope(s.registry, s.remote, s.tag)


@router.get(BASE, summary="List exceptions")
async def list_exceptions(
    c: CentralDep, status: str | None = None, ident: Identity = EITHER
) -> dict[str, Any]:
    return {"exceptions": await c.exceptions.list(status)}


@router.get(BASE + "/{exception_id}", summary="One exception")
async def get_exception(
    exception_id: str, c: CentralDep, ident: Identity = EITHER
) -> dict[str, Any]:
    return {"exception": await c.exceptions.get(exception_id)}


@router.post(BASE + "/deferral", summary="Request a deferral")
async def request_deferral(
    body: DeferralBody, c: CentralDep, ident: Identity = writer(REQUESTS)
) -> dict[str, Any]:
    expires = body.exceptionExpiry.expiresOn
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)
    exc = await c.exceptions.request(
        target_state="DEFERRED",
        cves=body.cves,
        scope=_scope(body),
        requester=ident.principal,
        comment=body.comment,
        expiry_type=body.exceptionExpiry.expiryType,
        expires_at=expires,
    )
    return {"exception": exc}


@router.post(BASE + "/false-positive", summary="Request a false-positive mark")
async def request_false_positive(
    body: RequestBody, c: CentralDep, ident: Identity = writer(REQUESTS)
) -> dict[str, Any]:
    exc = await c.exceptions.request(
        target_state="FALSE_POSITIVE",
        cves=body.cves,
        scope=_scope(body),
        requester=ident.principal,
        comment=body.comment,
    )
    return {"exception": exc}


@router.post(BASE + "/{exception_id}/cancel", summary="Withdraw an exception")
async def cancel(
    exception_id: str, c: CentralDep, ident: Identity = writer(REQUESTS)
) -> dict[str, Any]:
    return {"exception": await c.exceptions.cancel(exception_id, ident.principal)}


@router.post(BASE + "/{exception_id}/{decision}", summary="Approve or deny a pending exception")
async def decide(
    exception_id: str,
    decision: Literal["approve", "deny"],
    c: CentralDep,
    body: DecisionBody | None = None,
    ident: Identity = writer(APPROVALS),
) -> dict[str, Any]:
    comment = body.comment if body else ""
    exc = await c.exceptions.decide(
        exception_id, approve=decision == "approve", approver=ident.principal, comment=comment
    )
    return {"exception": exc}


async def approve(
    exception_id: str, c: Central, body: DecisionBody | None, ident: Identity
) -> dict[str, Any]:
    """In-process callers (the portal) approve through the same path as the API."""
    return await decide(exception_id, "approve", c, body, ident)


async def deny(
    exception_id: str, c: Central, body: DecisionBody | None, ident: Identity
) -> dict[str, Any]:
    return await decide(exception_id, "deny", c, body, ident)
