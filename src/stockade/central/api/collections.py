"""Collections (``/v1/collections``, resource ``WorkflowAdministration``): named sets of
deployments that report configurations cover, by selectors and embedded collections.
``dryrun`` shows which deployments a collection would hold (those the caller may see)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from stockade.central.api.deps import CentralDep, reader, writer
from stockade.central.api.listing import json_body, pagination
from stockade.central.auth.identity import Identity
from stockade.central.auth.model import Access
from stockade.central.reports.collections import FIELDS

router = APIRouter(tags=["Collections"])
RESOURCE = "WorkflowAdministration"
BASE = "/v1/collections"


@router.get(BASE + "/selectors", dependencies=[reader(RESOURCE)], summary="Selector fields")
async def selectors() -> dict[str, Any]:
    return {"selectors": list(FIELDS)}


@router.post(
    BASE + "/dryrun",
    summary="The deployments a collection would hold (those the caller may see)",
)
async def dryrun(
    request: Request, c: CentralDep, ident: Identity = reader(RESOURCE)
) -> dict[str, Any]:
    page = pagination(request)
    scopes = ident.roles.scopes_for("Deployment", Access.READ_ACCESS)
    body = await json_body(request)
    deployments = await c.reports.collections.dryrun(body, page.limit, page.offset, scopes)
    return {"deployments": deployments}


@router.get(BASE, dependencies=[reader(RESOURCE)], summary="List collections")
async def list_collections(c: CentralDep, name: str = "") -> dict[str, Any]:
    return {"collections": await c.reports.collections.all(name)}


@router.get("/v1/collectionscount", dependencies=[reader(RESOURCE)], summary="Count")
async def count_collections(c: CentralDep, name: str = "") -> dict[str, int]:
    return {"count": len(await c.reports.collections.all(name))}


@router.get(BASE + "/{collection_id}", dependencies=[reader(RESOURCE)])
async def get_collection(collection_id: str, c: CentralDep) -> dict[str, Any]:
    return {"collection": await c.reports.collections.get(collection_id)}


@router.post(BASE, summary="Create a collection")
async def create_collection(
    request: Request, c: CentralDep, ident: Identity = writer(RESOURCE)
) -> dict[str, Any]:
    doc = await json_body(request)
    return {"collection": await c.reports.collections.save(doc, ident.principal)}


@router.patch(BASE + "/{collection_id}", summary="Replace a collection's name and selectors")
async def update_collection(
    collection_id: str, request: Request, c: CentralDep, ident: Identity = writer(RESOURCE)
) -> dict[str, Any]:
    doc = await json_body(request)
    return {"collection": await c.reports.collections.save(doc, ident.principal, collection_id)}


@router.delete(
    BASE + "/{collection_id}",
    dependencies=[writer(RESOURCE)],
    summary="Delete a collection no report uses",
)
async def delete_collection(collection_id: str, c: CentralDep) -> dict[str, Any]:
    await c.reports.collections.delete(collection_id)
    return {}
