"""Signature integrations (resource ``Integration``): cosign public keys that vouch for
images. A change re-verifies stored images in the background; "test" checks one image
against settings that need not be saved."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request

from stockade.central.api.deps import CentralDep, reader, writer
from stockade.central.api.listing import json_body
from stockade.central.errors import BadRequest
from stockade.central.runtime import Central
from stockade.central.signatures import VERIFY_BUDGET_SECONDS, try_integration
from stockade.central.store.signatures import SignatureIntegration, validate
from stockade.core.errors import StockadeError
from stockade.scanner.indexer.registry import parse_reference

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


@router.post(
    "/v1/signatureintegrations/test",
    dependencies=[writer("Integration")],
    summary="Check an image's cosign signatures against these settings (nothing is stored)",
)
async def test_signature_integration(request: Request, c: CentralDep) -> dict[str, Any]:
    return await test(c, await _body(request))


async def test(c: Central, doc: dict[str, Any]) -> dict[str, Any]:
    """``{"signatureIntegration": {...as for create...}, "imageName"}`` → this integration's
    result for the image (``status`` VERIFIED or why not), read with the registry credentials
    a scan would use. Also the portal's "Test" button."""
    settings = doc.get("signatureIntegration")
    if not isinstance(settings, dict):
        raise BadRequest("signatureIntegration must be an object, as for creating one")
    name, keys = validate(settings)
    image = doc.get("imageName")
    if not isinstance(image, str) or not image.strip():
        raise BadRequest("imageName is required: the image whose signatures are checked")
    try:
        ref = parse_reference(image.strip())
    except StockadeError as exc:
        raise BadRequest(f"imageName: {exc.message}") from exc
    try:
        options = await c.integrations.options_for(ref.registry)
        verification = await asyncio.wait_for(
            asyncio.to_thread(
                try_integration,
                str(ref),
                SignatureIntegration(str(settings.get("id") or ""), name, tuple(keys)),
                options,
                # the thread stops reading at the same time the request stops waiting
                deadline=time.monotonic() + VERIFY_BUDGET_SECONDS,
            ),
            VERIFY_BUDGET_SECONDS,
        )
    except TimeoutError as exc:
        raise BadRequest(
            f"signature test failed: {image.strip()[:200]} was not read within "
            f"{VERIFY_BUDGET_SECONDS:.0f} s"
        ) from exc
    except StockadeError as exc:
        raise BadRequest(f"signature test failed: {exc.message}") from exc
    (result,) = verification.results
    return {**result, "verifierName": name, "digests": list(verification.digests)}


@router.put("/v1/signatureintegrations/{integration_id}", dependencies=[writer("Integration")])
async def update_signature_integration(
    integration_id: str, request: Request, c: CentralDep
) -> dict[str, Any]:
    await update(c, integration_id, await _body(request))
    return {}


async def update(c: Central, integration_id: str, doc: dict[str, Any]) -> None:
    """Update and schedule re-verification (also the portal's form handler)."""
    await c.signature_integrations.update(integration_id, doc)
    c.signature_verifier.integrations_changed()


@router.delete("/v1/signatureintegrations/{integration_id}", dependencies=[writer("Integration")])
async def delete_signature_integration(integration_id: str, c: CentralDep) -> dict[str, Any]:
    await c.signature_integrations.delete(integration_id)
    c.signature_verifier.integrations_changed()
    return {}
