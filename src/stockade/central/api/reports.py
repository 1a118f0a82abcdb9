"""Vulnerability reports (``/v2/reports``): configurations (resource
``WorkflowAdministration``), on-demand runs, job status and history, and the download of a
generated report (``/api/reports/jobs/download?id=``, the zipped CSV, for its requester).

Running a report or downloading one also needs read access to ``Image`` without an access
scope: a report covers its whole collection, whoever asks.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from stockade.central.api.deps import CentralDep, IdentityDep, reader, writer
from stockade.central.api.listing import json_body, pagination
from stockade.central.auth.identity import Identity
from stockade.central.auth.model import Access
from stockade.central.errors import BadRequest, Forbidden, NotFound
from stockade.central.reports.configs import parse_config
from stockade.central.reports.service import report_name
from stockade.central.reports.store import job_json

router = APIRouter(tags=["Reports"])
RESOURCE = "WorkflowAdministration"
BASE = "/v2/reports"


def require_whole_image_access(ident: Identity) -> None:
    scopes = ident.roles.scopes_for("Image", Access.READ_ACCESS)
    if not scopes:
        raise Forbidden("read access to Image is required")
    if not any(s is None for s in scopes):
        raise Forbidden(
            "reports cover whole collections: read access to Image without an access scope"
            " is required"
        )


@router.post(BASE + "/configurations", summary="Create a report configuration")
async def create_config(
    request: Request, c: CentralDep, ident: Identity = writer(RESOURCE)
) -> dict[str, Any]:
    require_whole_image_access(ident)
    doc = await json_body(request)
    out = await c.reports.store.save_config(doc, ident.principal)
    c.reports.wake()
    return out


@router.put(BASE + "/configurations/{config_id}", summary="Replace a report configuration")
async def update_config(
    config_id: str, request: Request, c: CentralDep, ident: Identity = writer(RESOURCE)
) -> dict[str, Any]:
    require_whole_image_access(ident)
    doc = await json_body(request)
    return await c.reports.store.save_config(doc, ident.principal, config_id)


@router.get(BASE + "/configurations", dependencies=[reader(RESOURCE)])
async def list_configs(c: CentralDep) -> dict[str, Any]:
    return {"reportConfigs": await c.reports.store.list_configs()}


@router.get(BASE + "/configuration-count", dependencies=[reader(RESOURCE)])
async def count_configs(c: CentralDep) -> dict[str, int]:
    return {"count": len(await c.reports.store.list_configs())}


@router.get(BASE + "/configurations/{config_id}", dependencies=[reader(RESOURCE)])
async def get_config(config_id: str, c: CentralDep) -> dict[str, Any]:
    return await c.reports.store.get_config(config_id)


@router.delete(BASE + "/configurations/{config_id}", dependencies=[writer(RESOURCE)])
async def delete_config(config_id: str, c: CentralDep) -> dict[str, Any]:
    await c.reports.store.delete_config(config_id)
    return {}


class RunBody(BaseModel):
    reportConfigId: str
    reportNotificationMethod: Literal["EMAIL", "DOWNLOAD"] = "EMAIL"


@router.post(BASE + "/run", summary="Run a report now: mail it or keep it for download")
async def run(body: RunBody, c: CentralDep, ident: Identity = reader(RESOURCE)) -> dict[str, Any]:
    require_whole_image_access(ident)
    row = await c.reports.store.config_row(body.reportConfigId)
    if body.reportNotificationMethod == "EMAIL" and not parse_config(row["doc"]).emails:
        raise BadRequest(
            "reportNotificationMethod: EMAIL needs an email notifier in the configuration"
        )
    job_id = await c.reports.store.create_job(
        body.reportConfigId, "ON_DEMAND", body.reportNotificationMethod, ident.principal
    )
    c.reports.wake()
    return {"reportConfigId": body.reportConfigId, "reportId": job_id}


@router.get(BASE + "/jobs/{job_id}/status", dependencies=[reader(RESOURCE)])
async def job_status(job_id: str, c: CentralDep) -> dict[str, Any]:
    return {"status": job_json(await c.reports.store.job(job_id))}


@router.get(BASE + "/configurations/{config_id}/history", dependencies=[reader(RESOURCE)])
async def history(config_id: str, request: Request, c: CentralDep) -> dict[str, Any]:
    cfg = await c.reports.store.get_config(config_id)
    page = pagination(request)
    jobs = await c.reports.store.history(config_id, page.limit, page.offset)
    return {
        "reportSnapshots": [
            {
                "reportConfigId": config_id,
                "reportJobId": str(j["id"]),
                "name": cfg["name"],
                "description": cfg["description"],
                "reportStatus": job_json(j),
                "user": {"id": j["requester"], "name": j["requester"]},
                "isDownloadAvailable": j["method"] == "DOWNLOAD" and j["state"] == "GENERATED",
            }
            for j in jobs
        ]
    }


@router.delete(BASE + "/jobs/{job_id}/cancel", dependencies=[writer(RESOURCE)])
async def cancel(job_id: str, c: CentralDep) -> dict[str, Any]:
    await c.reports.store.cancel(job_id)
    return {}


@router.delete(BASE + "/jobs/{job_id}/delete", dependencies=[writer(RESOURCE)])
async def delete_job(job_id: str, c: CentralDep) -> dict[str, Any]:
    await c.reports.store.delete_job(job_id)
    return {}


@router.get("/api/reports/jobs/download", summary="A generated report (zip), for its requester")
async def download(
    id: str,
    c: CentralDep,
    ident: IdentityDep,
    _: Identity = reader(RESOURCE),
) -> Response:
    require_whole_image_access(ident)
    job = await c.reports.store.job(id)
    if job["requester"] != ident.principal:
        raise NotFound(f"report job {id!r} is not one of your reports")
    if job["method"] != "DOWNLOAD" or job["state"] != "GENERATED":
        raise BadRequest(f"report job {id!r} has no download ready (state {job['state']})")
    cfg = await c.reports.store.get_config(str(job["config_id"]))
    filename = report_name(cfg["name"], job["data_as_of"]) + ".zip"
    return Response(
        await c.reports.store.content(id),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
