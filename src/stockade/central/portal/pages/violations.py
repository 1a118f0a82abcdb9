"""Violations: the list with query syntax and filters, an alert's detail, resolve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from stockade.central.api import alerts as alerts_api
from stockade.central.api import policies as policies_api
from stockade.central.portal.common import (
    ALERT_SEVERITIES,
    STAGES,
    PortalRoute,
    central_of,
    checked_form,
    join_query,
    list_page,
    need,
    render,
    viewer,
)

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


@router.get("/main/violations")
async def violations(request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Alert")
    q = request.query_params
    filters = {
        "query": q.get("query", "").strip(),
        "severity": q.get("severity", ""),
        "state": q.get("state", "ACTIVE"),  # an explicit empty state means any
        "stage": q.get("stage", ""),
    }
    query = join_query(
        filters["query"],
        f"Severity:{filters['severity']}" if filters["severity"] in ALERT_SEVERITIES else "",
        f"Violation State:{filters['state']}"
        if filters["state"] in ("ACTIVE", "ATTEMPTED", "RESOLVED")
        else "",
        f"Lifecycle Stage:{filters['stage']}" if filters["stage"] in STAGES else "",
    )
    params = {
        "query": query,
        "pagination.sortOption.field": "Violation Time",
        "pagination.sortOption.reversed": "true",
    }
    return await list_page(
        request,
        v,
        alerts_api.list_alerts,
        "alerts",
        "violations.html",
        params,
        filters=filters,
        severities=ALERT_SEVERITIES,
        stages=STAGES,
    )


def timeline(alert: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The alert's events, oldest first: when it was raised, each matched message that
    carries its own time (runtime events, admission attempts), enforcement, resolution."""
    events: list[tuple[str, str]] = [(alert["firstOccurred"], "Violation raised")]
    for m in alert.get("violations") or ():
        if m.get("time"):
            events.append((m["time"], m.get("message", "")))
    enforcement = alert.get("enforcement")
    if enforcement and enforcement.get("action"):
        events.append((alert["time"], f"Enforced: {enforcement['action']}"))
    if alert.get("resolvedAt"):
        why = "excluded from the policy" if alert.get("resolution") == "EXCLUDED" else "resolved"
        events.append((alert["resolvedAt"], f"Violation {why}"))
    elif alert.get("time") and alert["time"] != alert["firstOccurred"]:
        events.append((alert["time"], "Last seen"))
    return sorted((e for e in events if e[0]), key=lambda e: e[0])


@router.get("/main/violations/{alert_id}")
async def violation(alert_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Alert")
    alert = await alerts_api.get_alert(alert_id, request, central_of(request), v.identity)
    return render(
        request,
        "violation.html",
        v,
        alert=alert,
        timeline=timeline(alert),
        can_resolve=v.can("Alert", True),
        can_exclude=v.can("Alert", True) and v.can(policies_api.RESOURCE, True),
    )


@router.post("/main/violations/{alert_id}/resolve")
async def resolve_violation(alert_id: str, request: Request) -> Response:
    v = await viewer(request)
    await checked_form(request, v)
    await need(v, "Alert", write=True)
    await alerts_api.resolve_alert(alert_id, request, central_of(request), None, v.identity)
    return RedirectResponse(f"/main/violations/{quote(alert_id)}", status_code=303)


@router.get("/main/violations/{alert_id}/exclude")
async def confirm_exclusion(alert_id: str, request: Request) -> Response:
    """Says exactly what will be excluded from which policy before anything changes."""
    v = await viewer(request)
    await need(v, "Alert", write=True)
    await need(v, policies_api.RESOURCE, write=True)
    c = central_of(request)
    alert = await alerts_api.get_alert(alert_id, request, c, v.identity)  # scope checked
    row = await c.alerts.get_row(alert_id)
    return render(
        request,
        "violation_exclude.html",
        v,
        alert=alert,
        exclusion=alerts_api.exclusion_for(row),
    )


@router.post("/main/violations/{alert_id}/exclude")
async def exclude_violation(alert_id: str, request: Request) -> Response:
    v = await viewer(request)
    await checked_form(request, v)
    await need(v, "Alert", write=True)
    await alerts_api.exclude_alert(central_of(request), v.identity, alert_id)
    return RedirectResponse(f"/main/violations/{quote(alert_id)}", status_code=303)
