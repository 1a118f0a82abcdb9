"""Vulnerability reports in the portal: configurations with their schedule, next run and
last job; create, edit and delete; "Run now" (mail) and "Generate download"; each
configuration's history with job status and, for its requester, the download. Everything goes
through the reports API's handlers and checks: what the viewer cannot do is not offered
(configuring needs write access to WorkflowAdministration, running and downloading need
Image read without an access scope) and the server refuses it anyway."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from stockade.central.api import collections as collections_api
from stockade.central.api import notifiers as notifiers_api
from stockade.central.api import reports as reports_api
from stockade.central.errors import BadRequest, Conflict, Forbidden
from stockade.central.notifiers.base import InvalidNotifier
from stockade.central.portal import report_forms
from stockade.central.portal.common import (
    PortalRoute,
    Viewer,
    api_request,
    central_of,
    checked_form,
    form_str,
    need,
    render,
    viewer,
    with_body,
)
from stockade.central.portal.form_routes import add_delete_route, add_save_routes
from stockade.central.portal.report_forms import ReportDraft
from stockade.central.reports.configs import SEVERITIES
from stockade.central.reports.errors import InvalidReport
from stockade.central.runtime import Central

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
RESOURCE = reports_api.RESOURCE
BASE = "/main/reports"
HISTORY_LIMIT = 50


def _can_run(v: Viewer) -> bool:
    try:
        reports_api.require_whole_image_access(v.identity)
    except Forbidden:
        return False
    return True


def _rights(v: Viewer) -> dict[str, bool]:
    run = _can_run(v)
    return {"can_write": run and v.can(RESOURCE, True), "can_run": run}


async def _history(request: Request, config_id: str, limit: int) -> list[dict[str, Any]]:
    page = api_request(request, {"pagination.limit": str(limit)})
    snaps: list[dict[str, Any]] = (await reports_api.history(config_id, page, central_of(request)))[
        "reportSnapshots"
    ]
    return snaps


async def _collection_names(c: Central) -> dict[str, str]:
    listed = (await collections_api.list_collections(c))["collections"]
    return {x["id"]: x["name"] for x in listed}


@router.get(BASE)
async def reports(request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE)
    c = central_of(request)
    names = await _collection_names(c)
    rows = []
    for cfg in (await reports_api.list_configs(c))["reportConfigs"]:
        last = await _history(request, cfg["id"], 1)
        rows.append(
            {
                "id": cfg["id"],
                "name": cfg["name"],
                "collection": names.get(cfg["resourceScope"]["collectionScope"]["collectionId"]),
                "schedule": report_forms.schedule_text(cfg),
                "next_run": cfg["nextRunAt"],
                "last": last[0]["reportStatus"] if last else None,
                "emails": bool(cfg["notifiers"]),
            }
        )
    return render(request, "reports.html", v, rows=rows, **_rights(v))


@router.get(BASE + "/new")
async def new_report(request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE, write=True)
    reports_api.require_whole_image_access(v.identity)
    return await _form(request, v, ReportDraft(), None)


@router.get(BASE + "/{config_id}")
async def report(config_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE)
    c = central_of(request)
    cfg = await reports_api.get_config(config_id, c)
    history = await _history(request, config_id, HISTORY_LIMIT)
    mine = v.identity.principal
    for h in history:
        h["mine"] = h["user"]["id"] == mine
    collection = cfg["resourceScope"]["collectionScope"]["collectionId"]
    return render(
        request,
        "report.html",
        v,
        cfg=cfg,
        collection=(await _collection_names(c)).get(collection, collection),
        schedule=report_forms.schedule_text(cfg),
        history=history,
        queued=request.query_params.get("job", ""),
        **_rights(v),
    )


async def _form(
    request: Request,
    v: Viewer,
    draft: ReportDraft,
    config_id: str | None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    c = central_of(request)
    notifiers = [
        n for n in (await notifiers_api.list_notifiers(c))["notifiers"] if n["type"] == "email"
    ]
    return render(
        request,
        "report_form.html",
        v,
        status=400 if errors else 200,
        draft=draft,
        config_id=config_id,
        errors=errors or {},
        collection_options=[("", "Choose a collection")]
        + [
            (x["id"], x["name"]) for x in (await collections_api.list_collections(c))["collections"]
        ],
        notifier_options=[("", "None (download only)")] + [(n["id"], n["name"]) for n in notifiers],
        severities=SEVERITIES,
        fixability=report_forms.FIXABILITY,
        since=report_forms.SINCE,
        intervals=report_forms.INTERVALS,
        weekdays=report_forms.WEEKDAYS,
        can_read_notifiers=v.can("Integration"),
    )


@router.get(BASE + "/{config_id}/edit")
async def edit_report(config_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE, write=True)
    reports_api.require_whole_image_access(v.identity)
    cfg = await reports_api.get_config(config_id, central_of(request))
    return await _form(request, v, report_forms.from_stored(cfg), config_id)


async def _save(request: Request, config_id: str | None) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, RESOURCE, write=True)
    c = central_of(request)
    stored = await reports_api.get_config(config_id, c) if config_id else None
    draft = report_forms.from_form(form, stored)
    doc, errors = draft.document()
    if errors:
        return await _form(request, v, draft, config_id, errors)
    body = with_body(request, json.dumps(doc).encode())
    try:
        if config_id is None:
            saved = await reports_api.create_config(body, c, v.identity)
        else:
            saved = await reports_api.update_config(config_id, body, c, v.identity)
    except (InvalidReport, InvalidNotifier) as exc:  # both name the field's path
        return await _form(
            request, v, draft, config_id, {report_forms.error_input(exc.field): exc.message}
        )
    except (BadRequest, Conflict) as exc:
        field = "name" if "named" in exc.message else "form"
        return await _form(request, v, draft, config_id, {field: exc.message})
    return RedirectResponse(f"{BASE}/{saved['id']}", status_code=303)


@router.post(BASE + "/{config_id}/run")
async def run_report(config_id: str, request: Request) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, RESOURCE)
    download = form_str(form, "method") == "DOWNLOAD"
    body = reports_api.RunBody(
        reportConfigId=config_id, reportNotificationMethod="DOWNLOAD" if download else "EMAIL"
    )
    started = await reports_api.run(body, central_of(request), v.identity)
    return RedirectResponse(f"{BASE}/{config_id}?job={started['reportId']}", status_code=303)


@router.get(BASE + "/jobs/{job_id}/download")
async def download(job_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE)
    return await reports_api.download(job_id, central_of(request), v.identity, v.identity)


async def _delete(config_id: str, c: Central) -> None:
    await reports_api.delete_config(config_id, c)


add_save_routes(router, BASE + "/new", BASE + "/{key}/edit", _save)
add_delete_route(router, BASE + "/{key}/delete", RESOURCE, _delete, BASE)
