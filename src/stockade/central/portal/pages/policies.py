"""Policies: list and filters, enable/disable, create and edit, import and export."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from stockade.central.api import policies as policies_api
from stockade.central.errors import BadRequest
from stockade.central.portal.common import (
    POLICY_SEVERITIES,
    STAGES,
    PortalRoute,
    central_of,
    checked_form,
    form_str,
    join_query,
    list_page,
    need,
    render,
    viewer,
    with_body,
)

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


POLICY_RESOURCE = policies_api.RESOURCE


@router.get("/main/policies")
async def policy_list(request: Request) -> Response:
    v = await viewer(request)
    await need(v, POLICY_RESOURCE)
    q = request.query_params
    filters = {
        "query": q.get("query", "").strip(),
        "severity": q.get("severity", "") if q.get("severity") in POLICY_SEVERITIES else "",
        "status": q.get("status", "") if q.get("status") in ("enabled", "disabled") else "",
        "stage": q.get("stage", "") if q.get("stage") in STAGES else "",
    }
    query = join_query(
        filters["query"],
        f"Severity:{filters['severity']}" if filters["severity"] else "",
        f"Disabled:{str(filters['status'] == 'disabled').lower()}" if filters["status"] else "",
        f"Lifecycle Stage:{filters['stage']}" if filters["stage"] else "",
    )
    return await list_page(
        request,
        v,
        policies_api.list_policies,
        "policies",
        "policies.html",
        {"query": query},
        filters=filters,
        severities=POLICY_SEVERITIES,
        stages=STAGES,
        can_write=v.can(POLICY_RESOURCE, True),
    )


@router.get("/main/policies/export")
async def export_policies(request: Request) -> Response:
    """Every policy as the product's export JSON, as a file download."""
    v = await viewer(request)
    await need(v, POLICY_RESOURCE)
    doc = await policies_api.export_policies(policies_api.ExportBody(), central_of(request))
    return Response(
        json.dumps(doc, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="stockade-policies.json"'},
    )


@router.post("/main/policies/import")
async def import_policies(request: Request) -> Response:
    """Import an export file through the API's own import (each policy on its own)."""
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, POLICY_RESOURCE, write=True)
    upload = form.get("file")
    raw = await upload.read() if isinstance(upload, UploadFile) else b""
    overwrite = form_str(form, "overwrite") == "true"
    error = ""
    result: dict[str, Any] = {}
    try:
        doc = json.loads(raw or b"null")
        if isinstance(doc, dict):
            doc["metadata"] = {"overwrite": overwrite}
        result = await policies_api.import_policies(
            with_body(request, json.dumps(doc).encode()), central_of(request)
        )
    except ValueError as exc:
        error = f"The file is not valid JSON: {exc}."
    except BadRequest as exc:
        error = exc.message
    return render(
        request,
        "policy_import.html",
        v,
        status=400 if error or not result.get("allSucceeded") else 200,
        error=error,
        result=result,
    )


@router.post("/main/policies/{policy_id}/toggle")
async def toggle_policy(policy_id: str, request: Request) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, POLICY_RESOURCE, write=True)
    disable = form_str(form, "disabled") == "true"
    await policies_api.patch_policy(
        policy_id, policies_api.PatchBody(disabled=disable), central_of(request)
    )
    return RedirectResponse("/main/policies", status_code=303)
