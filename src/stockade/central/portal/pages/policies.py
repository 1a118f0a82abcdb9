"""Policies: list and filters, enable/disable, create and edit, import and export."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import UploadFile

from stockade.central.api import policies as policies_api
from stockade.central.errors import BadRequest, Conflict
from stockade.central.portal.common import (
    POLICY_SEVERITIES,
    STAGES,
    PortalRoute,
    Viewer,
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
from stockade.central.store.policies import parse as parse_policy
from stockade.central.store.policies import validate as validate_policy
from stockade.policy import policy_to_json

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


_NEW_POLICY: dict[str, Any] = {
    "name": "",
    "description": "",
    "rationale": "",
    "remediation": "",
    "categories": ["Vulnerability Management"],
    "lifecycleStages": ["BUILD"],
    "severity": "MEDIUM_SEVERITY",
    "enforcementActions": [],
    "policySections": [
        {
            "sectionName": "",
            "policyGroups": [
                {
                    "fieldName": "Image Tag",
                    "booleanOperator": "OR",
                    "negate": False,
                    "values": [{"value": "latest"}],
                }
            ],
        }
    ],
}


def _policy_form(
    request: Request,
    v: Viewer,
    doc: Mapping[str, Any],
    policy_id: str | None,
    errors: Mapping[str, str] | None = None,
    editor_text: str | None = None,
) -> HTMLResponse:
    body = {k: val for k, val in doc.items() if k not in ("id", "lastUpdated")}
    return render(
        request,
        "policy_form.html",
        v,
        status=400 if errors else 200,
        policy_id=policy_id,
        name=doc.get("name", ""),
        severity=doc.get("severity", "MEDIUM_SEVERITY"),
        stages=list(doc.get("lifecycleStages", [])),
        editor=editor_text if editor_text is not None else json.dumps(body, indent=2),
        errors=errors or {},
        severities=POLICY_SEVERITIES,
        all_stages=STAGES,
    )


@router.get("/main/policies/new")
async def new_policy(request: Request) -> Response:
    v = await viewer(request)
    await need(v, POLICY_RESOURCE, write=True)
    return _policy_form(request, v, _NEW_POLICY, None)


@router.get("/main/policies/{policy_id}/edit")
async def edit_policy(policy_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, POLICY_RESOURCE, write=True)
    doc = dict(policy_to_json(await central_of(request).policies.get(policy_id)))
    return _policy_form(request, v, doc, policy_id)


async def _save_policy(request: Request, policy_id: str | None) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, POLICY_RESOURCE, write=True)
    c = central_of(request)
    name = form_str(form, "name")
    severity = form_str(form, "severity")
    stages = [s for s in form.getlist("lifecycleStages") if isinstance(s, str)]
    editor = form.get("policy_json")
    editor_text = editor if isinstance(editor, str) else ""
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "A policy needs a name."
    if severity not in POLICY_SEVERITIES:
        errors["severity"] = "Choose a severity."
    if not stages or any(s not in STAGES for s in stages):
        errors["lifecycleStages"] = "Choose at least one lifecycle stage."
    doc: dict[str, Any] = {}
    try:
        loaded = json.loads(editor_text or "{}")
    except ValueError as exc:
        errors["policy_json"] = f"The policy is not valid JSON: {exc}."
    else:
        if isinstance(loaded, dict):
            doc = loaded
        else:
            errors["policy_json"] = "The policy must be a JSON object."
    doc.update(name=name, severity=severity, lifecycleStages=stages)
    if not errors:
        try:
            policy = parse_policy(doc)
            validate_policy(policy)
        except BadRequest as exc:
            errors["policy_json"] = exc.message
    if not errors:
        try:
            if policy_id is None:
                await c.policies.create(policy)
            else:
                await c.policies.update(policy_id, policy)
        except Conflict as exc:
            errors["name"] = exc.message
        except BadRequest as exc:
            errors["policy_json"] = exc.message
    if errors:
        return _policy_form(request, v, doc, policy_id, errors, editor_text)
    # the list, narrowed to the policy just saved
    saved = quote(f'Policy:"{name}"', safe="")
    return RedirectResponse(f"/main/policies?query={saved}", status_code=303)


@router.post("/main/policies/new")
async def create_policy(request: Request) -> Response:
    return await _save_policy(request, None)


@router.post("/main/policies/{policy_id}/edit")
async def update_policy(policy_id: str, request: Request) -> Response:
    return await _save_policy(request, policy_id)
