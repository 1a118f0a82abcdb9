"""Signature integrations (resource ``Integration``): cosign public keys that vouch for
images. A change re-verifies stored images in the background."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from stockade.central.api.deps import CentralDep, reader, writer
from stockade.central.api.listing import json_body
from stockade.central.errors import BadRequest
from stockade.central.runtime import Central

router = APIRouter(tags=["Signature integrations"])


async def _body(request: Request) -> dict[str, Any]:
    doc = await json_body(request)
    if not isinstance(doc, dict):
        raise BadRequest("the request body must be a JSON object")
    return doc


@router.get("/v1/signatureintegrations", dependencies=[reader("Integration")])
async def list_signature_integrations(c: CentralDep) -> dict[str, Any]:
    return {"integrations": [i.to_json() for i in await c.signature_integrations.list()]}


@router.get("/v1/signatureintegrations/{integration_id}", dependencies=[reader("Integration")])
async def get_signature_integration(integration_id: str, c: CentralDep) -> dict[str, Any]:
    return (await c.signature_integrations.get(integration_id)).to_json()


@router.post(
    "/v1/signatureintegrations",
    dependencies=[writer("Integration")],
    summary="Create a signature integration (cosign public keys, PEM)",
)
async def create_signature_integration(request: Request, c: CentralDep) -> dict[str, Any]:
    return await create(c, await _body(request))


async def create(c: Central, doc: dict[str, Any]) -> dict[str, Any]:
    """Create and schedule re-verification (also the portal's form handler)."""
    created = await c.signature_integrations.create(doc)
    c.signature_verifier.integrations_changed()
    return created.to_json()


@router.put("/v1/signatureintegrations/{integration_id}", dependencies=[writer("Integration")])
async def update_signature_integration(
    integration_id: str, request: Request, c: CentralDep
) -> dict[str, Any]:
    await c.signature_integrations.update(integration_id, await _body(request))
    c.signature_verifier.integrations_changed()
    return {}


@router.delete("/v1/signatureintegrations/{integration_id}", dependencies=[writer("Integration")])
async def delete_signature_integration(integration_id: str, c: CentralDep) -> dict[str, Any]:
    await delete(c, integration_id)
    return {}


async def delete(c: Central, integration_id: str) -> None:
    await c.signature_integrations.delete(integration_id)
    c.signature_verifier.integrations_changed()
