"""Image integrations (resource ``Integration``) and image scanning (resource ``Image``)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from stockade.central.api.deps import CentralDep, reader, writer
from stockade.central.api.vulnerabilities import image_list_json
from stockade.central.errors import BadRequest
from stockade.central.registry_auth import RegistryAuthError
from stockade.central.runtime import Central
from stockade.core.errors import StockadeError
from stockade.model.image import image_to_json
from stockade.scanner.indexer.errors import ImageNotFoundError
from stockade.scanner.indexer.registry import RegistryOptions, RegistrySource
from stockade.scanner.indexer.sbom import to_spdx

router = APIRouter(tags=["Images"])
PROBE_REPOSITORY = "stockade-connectivity-check"


async def _body(request: Request) -> dict[str, Any]:
    try:
        doc = await request.json()
    except ValueError as exc:
        raise BadRequest("the request body is not valid JSON") from exc
    if not isinstance(doc, dict):
        raise BadRequest("the request body must be a JSON object")
    return doc


@router.get("/v1/imageintegrations", dependencies=[reader("Integration")])
async def list_integrations(c: CentralDep) -> dict[str, Any]:
    return {"integrations": [i.to_json() for i in await c.integrations.list()]}


@router.get("/v1/imageintegrations/{integration_id}", dependencies=[reader("Integration")])
async def get_integration(integration_id: str, c: CentralDep) -> dict[str, Any]:
    return (await c.integrations.get(integration_id)).to_json()


@router.post("/v1/imageintegrations", dependencies=[writer("Integration")])
async def create_integration(request: Request, c: CentralDep) -> dict[str, Any]:
    return (await c.integrations.create(await _body(request))).to_json()


@router.put("/v1/imageintegrations/{integration_id}", dependencies=[writer("Integration")])
async def update_integration(
    integration_id: str, request: Request, c: CentralDep
) -> dict[str, Any]:
    await c.integrations.update(integration_id, await _body(request))
    return {}


@router.delete("/v1/imageintegrations/{integration_id}", dependencies=[writer("Integration")])
async def delete_integration(integration_id: str, c: CentralDep) -> dict[str, Any]:
    await c.integrations.delete(integration_id)
    return {}


def _probe(endpoint: str, options: RegistryOptions) -> None:
    """Reach the registry and authenticate: a missing probe repository is success."""
    source = RegistrySource(f"{endpoint}/{PROBE_REPOSITORY}:latest", options)
    try:
        source.resolve()
    except ImageNotFoundError:
        return


@router.post(
    "/v1/imageintegrations/test",
    dependencies=[writer("Integration")],
    summary="Check that Central reaches the registry with these credentials",
)
async def test_integration(request: Request, c: CentralDep) -> dict[str, Any]:
    doc = await _body(request)
    try:
        # a cloud registry's token exchange (ECR) is part of the test
        endpoint, options = await c.integrations.test_options(doc)
        await asyncio.to_thread(_probe, endpoint, options)
    except RegistryAuthError as exc:
        raise BadRequest(f"registry test failed: {exc.message}") from exc
    except BadRequest:
        raise
    except StockadeError as exc:
        raise BadRequest(f"registry test failed: {exc.message}") from exc
    return {}


class ScanBody(BaseModel):
    imageName: str
    force: bool = False


@router.post(
    "/v1/images/scan",
    dependencies=[writer("Image")],
    summary="Scan an image (fetch, index, match, store, check build policies)",
)
async def scan_image(body: ScanBody, c: CentralDep) -> dict[str, Any]:
    outcome = await c.scan(body.imageName, force=body.force)
    async with c.db.connection() as conn:
        cur = await conn.execute("SELECT * FROM images WHERE id = %s", (outcome.image_id,))
        row = await cur.fetchone()
    assert row is not None
    stored = await c.images.load(outcome.image_id, include_excepted=True)
    answer = {
        **image_list_json(dict(row)),
        **dict(image_to_json(stored)),
        "id": row["id"],
        "name": row["name"],
    }
    # the integrations' names beside their ids, for callers (a CI token) that cannot list them
    names = {i.id: i.name for i in await c.signature_integrations.list()}
    for result in answer["signatureVerificationData"]["results"]:
        if result.get("verifierId") in names:
            result["verifierName"] = names[result["verifierId"]]
    return answer


@router.post(
    "/api/v1/images/sbom",
    dependencies=[writer("Image")],
    summary="An image's SBOM as SPDX 2.3 JSON (the image is scanned if needed)",
)
async def image_sbom(body: ScanBody, c: CentralDep) -> Response:
    outcome = await c.scan(body.imageName, force=body.force)
    return Response(
        await stored_sbom(c, outcome.image_id, body.imageName), media_type="application/json"
    )


async def stored_sbom(c: Central, image_id: str, image_name: str) -> str:
    """SPDX 2.3 JSON of the index report stored for ``image_id`` (the portal's download)."""
    if c.scanner is None:
        raise BadRequest("this Central runs without a scanner, so it keeps no index reports")
    report = await asyncio.to_thread(c.scanner.backend.report, image_id)
    if report is None:
        raise BadRequest(f"no index report is stored for {image_name}; scan it with force")
    report = dataclasses.replace(report, image=image_name)
    return await asyncio.to_thread(to_spdx, report)


@router.get(
    "/v1/scanner/vulnerability-data",
    dependencies=[reader("Image")],
    summary="Vulnerability data per source: records and when it was updated",
)
async def vulnerability_data(c: CentralDep) -> dict[str, Any]:
    if c.scanner is None:
        return {"sources": [], "status": "NO_SCANNER"}
    if c.data_watcher is not None:  # a Matcher run apart: its recent answer, asked once
        data = await c.data_watcher.status()
    else:
        data = await c.scanner.data_status()
    states = data.sources
    return {
        "status": data.status,
        **({"message": data.message} if data.message else {}),
        "sources": [
            {
                "name": s.name,
                "records": s.record_count,
                "fingerprint": s.fingerprint,
                "updatedAt": s.updated_at.isoformat().replace("+00:00", "Z")
                if s.updated_at
                else None,
            }
            for s in states
        ],
    }
