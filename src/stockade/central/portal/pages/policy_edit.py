"""Creating and editing a policy: the criteria builder (the default) and, beside it, the
JSON editor (``?editor=json``). Both save through the policy store the API uses, and show
what the engine refuses beside the input it names, saving nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from stockade.central.api import notifiers as notifiers_api
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
    need,
    render,
    viewer,
    with_body,
)
from stockade.central.portal.policy_builder import (
    EVENT_SOURCES,
    Draft,
    apply_action,
    catalogue,
    draft_from_doc,
    draft_from_form,
    draft_to_doc,
    engine_errors,
)
from stockade.policy import policy_to_json
from stockade.policy.errors import PolicyValidationError

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
POLICY_RESOURCE = policies_api.RESOURCE


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


async def _builder_page(
    request: Request,
    v: Viewer,
    draft: Draft,
    policy_id: str | None,
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    c = central_of(request)
    known = [x["name"] for x in (await policies_api.categories(c))["categories"]]
    notifiers: list[dict[str, Any]] = []
    if v.can(notifiers_api.RESOURCE):
        notifiers = (await notifiers_api.list_notifiers(c))["notifiers"]
    fields = catalogue()
    listed = {n["id"] for n in notifiers}
    # a notifier the policy names but that is gone (or unreadable) stays listed, so saving
    # does not drop it unseen
    notifiers += [
        {"id": n, "name": f"{n} (unknown notifier)"} for n in draft.notifiers if n not in listed
    ]
    return render(
        request,
        "policy_builder.html",
        v,
        status=400 if errors else 200,
        policy_id=policy_id,
        draft=draft,
        errors=errors or {},
        severities=POLICY_SEVERITIES,
        all_stages=STAGES,
        event_sources=EVENT_SOURCES,
        categories=list(dict.fromkeys([*known, *draft.categories])),
        notifiers=notifiers,
        catalogue=fields,
        criteria_count=sum(len(entries) for _, entries in fields),
    )


def _editor_wanted(request: Request) -> bool:
    return request.query_params.get("editor") == "json"


@router.get("/main/policies/new")
async def new_policy(request: Request) -> Response:
    v = await viewer(request)
    await need(v, POLICY_RESOURCE, write=True)
    if _editor_wanted(request):
        return _policy_form(request, v, _NEW_POLICY, None)
    return await _builder_page(request, v, Draft(), None)


@router.get("/main/policies/{policy_id}/edit")
async def edit_policy(policy_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, POLICY_RESOURCE, write=True)
    doc = dict(policy_to_json(await central_of(request).policies.get(policy_id)))
    if _editor_wanted(request):
        return _policy_form(request, v, doc, policy_id)
    return await _builder_page(request, v, draft_from_doc(doc), policy_id)


async def _store(request: Request, doc: Mapping[str, Any], policy_id: str | None) -> None:
    """Through the API's own create/update handlers, so whatever a policy change sets off
    there (re-evaluation, for one) happens for the portal's saves too."""
    c = central_of(request)
    body = with_body(request, json.dumps(doc).encode())
    if policy_id is None:
        await policies_api.create_policy(body, c)
    else:
        await policies_api.update_policy(policy_id, body, c)


def _saved(name: str) -> RedirectResponse:
    """The list, narrowed to the policy just saved."""
    return RedirectResponse(
        f"/main/policies?query={quote(f'Policy:{json.dumps(name)}', safe='')}", status_code=303
    )


async def _builder_post(
    request: Request, v: Viewer, form: FormData, policy_id: str | None
) -> Response:
    draft = draft_from_form(form)
    action = form_str(form, "action") or "save"
    if action != "save":  # add/remove/update: the draft comes back, nothing is stored
        apply_action(draft, action)
        return await _builder_page(request, v, draft, policy_id)
    base: dict[str, Any] = {}
    if policy_id is not None:
        base = dict(policy_to_json(await central_of(request).policies.get(policy_id)))
    doc, errors = draft_to_doc(draft, base, POLICY_SEVERITIES)
    if not errors:
        try:
            await _store(request, doc, policy_id)
        except Conflict as exc:
            errors = {"name": exc.message}
        except BadRequest as exc:
            cause = exc.__cause__
            if isinstance(cause, PolicyValidationError):
                errors = engine_errors(cause, draft)
            else:
                errors = {"form": exc.message}
    if errors:
        return await _builder_page(request, v, draft, policy_id, errors)
    return _saved(draft.name)


async def _save_policy(request: Request, policy_id: str | None) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, POLICY_RESOURCE, write=True)
    if "policy_json" not in form:
        return await _builder_post(request, v, form, policy_id)
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
            await _store(request, doc, policy_id)
        except Conflict as exc:
            errors["name"] = exc.message
        except BadRequest as exc:
            errors["policy_json"] = exc.message
    if errors:
        return _policy_form(request, v, doc, policy_id, errors, editor_text)
    return _saved(name)


@router.post("/main/policies/new")
async def create_policy(request: Request) -> Response:
    return await _save_policy(request, None)


@router.post("/main/policies/{policy_id}/edit")
async def update_policy(policy_id: str, request: Request) -> Response:
    return await _save_policy(request, policy_id)
