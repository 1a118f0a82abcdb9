"""Vulnerability management: CVEs, a CVE's detail and deferral requests, exceptions,
images, an image's detail, and scanning an image."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from stockade.central.api import exceptions as exceptions_api
from stockade.central.api import images as images_api
from stockade.central.api import vulnerabilities as vulns_api
from stockade.central.errors import NotFound
from stockade.central.portal.common import (
    CVE_SEVERITIES,
    PortalRoute,
    Viewer,
    api_request,
    central_of,
    checked_form,
    form_str,
    join_query,
    list_page,
    need,
    render,
    viewer,
)
from stockade.central.search.resources import SEVERITY_ORDER
from stockade.core.errors import StockadeError
from stockade.model.image import Component, Vulnerability

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


CVE_SORTS = ("Images", "CVSS", "Severity", "EPSS", "CVE", "First Seen")


def _number(raw: str | None, lo: float, hi: float) -> str:
    try:
        value = float(raw or "")
    except ValueError:
        return ""
    return str(value) if lo <= value <= hi else ""


@router.get("/main/vulnerabilities")
async def cve_list(request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Image")
    q = request.query_params
    filters = {
        "query": q.get("query", "").strip(),
        "severity": q.get("severity", "") if q.get("severity") in CVE_SEVERITIES else "",
        "fixable": q.get("fixable", "") if q.get("fixable") in ("true", "false") else "",
        "cvss": _number(q.get("cvss"), 0, 10),
        "epss": _number(q.get("epss"), 0, 1),
        "kev": "true" if q.get("kev") == "true" else "",
        "sort": q.get("sort", "Images") if q.get("sort") in CVE_SORTS else "Images",
    }
    query = join_query(
        filters["query"],
        f"Severity:{filters['severity']}" if filters["severity"] else "",
        f"Fixable:{filters['fixable']}" if filters["fixable"] else "",
        f"CVSS:>={filters['cvss']}" if filters["cvss"] else "",
        f"EPSS:>={filters['epss']}" if filters["epss"] else "",
        "KEV:true" if filters["kev"] else "",
    )
    params = {
        "query": query,
        "pagination.sortOption.field": filters["sort"],
        "pagination.sortOption.reversed": str(filters["sort"] != "CVE").lower(),
    }
    return await list_page(
        request,
        v,
        vulns_api.list_cves,
        "cves",
        "cves.html",
        params,
        filters=filters,
        severities=CVE_SEVERITIES,
        sorts=CVE_SORTS,
    )


DEFERRAL_EXPIRIES = {
    "30": "30 days",
    "90": "90 days",
    "ALL_CVE_FIXABLE": "Until every listed CVE is fixable",
    "ANY_CVE_FIXABLE": "Until any listed CVE is fixable",
}


async def _cve_page(
    request: Request,
    v: Viewer,
    cve_id: str,
    form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    sub = api_request(request, {"pagination.limit": "500"})
    cve = await vulns_api.get_cve(cve_id, sub, central_of(request), v.identity)
    return render(
        request,
        "cve.html",
        v,
        status=400 if errors else 200,
        cve=cve,
        can_request=v.can(exceptions_api.REQUESTS, True),
        expiries=DEFERRAL_EXPIRIES,
        form=form or {"expiry": "30", "comment": ""},
        errors=errors or {},
    )


@router.get("/main/vulnerabilities/cves/{cve_id}")
async def cve_detail(cve_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Image")
    return await _cve_page(request, v, cve_id)


@router.post("/main/vulnerabilities/cves/{cve_id}/defer")
async def defer_cve(cve_id: str, request: Request) -> Response:
    """Request a deferral of one CVE in every image (the approver decides)."""
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, "Image")
    await need(v, exceptions_api.REQUESTS, write=True)
    values = {"comment": form_str(form, "comment"), "expiry": form_str(form, "expiry")}
    errors: dict[str, str] = {}
    if not values["comment"]:
        errors["comment"] = "Say why the CVE can wait; approvers read this."
    if values["expiry"] not in DEFERRAL_EXPIRIES:
        errors["expiry"] = "Choose when the deferral ends."
    if errors:
        return await _cve_page(request, v, cve_id, values, errors)
    expiry = values["expiry"]
    if expiry.isdigit():
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=int(expiry))
        body_expiry = exceptions_api.ExpiryBody(expiryType="TIME", expiresOn=until)
    else:
        body_expiry = exceptions_api.ExpiryBody(expiryType=expiry)  # type: ignore[arg-type]
    body = exceptions_api.DeferralBody(
        cves=[cve_id], comment=values["comment"], exceptionExpiry=body_expiry
    )
    await exceptions_api.request_deferral(body, central_of(request), v.identity)
    return RedirectResponse("/main/vulnerabilities/exceptions", status_code=303)


EXCEPTION_STATUSES = ("PENDING", "APPROVED", "DENIED", "CANCELED")


@router.get("/main/vulnerabilities/exceptions")
async def exception_list(request: Request) -> Response:
    v = await viewer(request)
    await exceptions_api.requester_or_approver(v.identity)
    status = request.query_params.get("status", "PENDING")
    status = status if status in EXCEPTION_STATUSES else ""
    found = await central_of(request).exceptions.list(status or None)
    return render(
        request,
        "exceptions.html",
        v,
        exceptions=found,
        status_filter=status,
        statuses=EXCEPTION_STATUSES,
        can_approve=v.can(exceptions_api.APPROVALS, True),
    )


@router.post("/main/vulnerabilities/exceptions/{exception_id}/{decision}")
async def decide_exception(exception_id: str, decision: str, request: Request) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    if decision not in ("approve", "deny"):
        raise NotFound(f"no such action {decision!r}")
    await need(v, exceptions_api.APPROVALS, write=True)
    handler = exceptions_api.approve if decision == "approve" else exceptions_api.deny
    body = exceptions_api.DecisionBody(comment=form_str(form, "comment"))
    await handler(exception_id, central_of(request), body, v.identity)
    return RedirectResponse("/main/vulnerabilities/exceptions", status_code=303)


IMAGE_SORTS = ("Top CVSS", "CVE Count", "Fixable CVE Count", "Image Scan Time", "Image")


@router.get("/main/vulnerabilities/images")
async def image_list(request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Image")
    q = request.query_params
    filters = {
        "query": q.get("query", "").strip(),
        "severity": q.get("severity", "") if q.get("severity") in CVE_SEVERITIES else "",
        "fixable": "true" if q.get("fixable") == "true" else "",
        "cvss": _number(q.get("cvss"), 0, 10),
        "sort": q.get("sort", "Top CVSS") if q.get("sort") in IMAGE_SORTS else "Top CVSS",
    }
    query = join_query(
        filters["query"],
        f"Severity:{filters['severity']}" if filters["severity"] else "",
        "Fixable CVE Count:>0" if filters["fixable"] else "",
        f"Top CVSS:>={filters['cvss']}" if filters["cvss"] else "",
    )
    params = {
        "query": query,
        "pagination.sortOption.field": filters["sort"],
        "pagination.sortOption.reversed": str(filters["sort"] != "Image").lower(),
    }
    return await list_page(
        request,
        v,
        vulns_api.list_images,
        "images",
        "images.html",
        params,
        query=filters["query"],
        filters=filters,
        severities=CVE_SEVERITIES,
        sorts=IMAGE_SORTS,
    )


@router.get("/main/vulnerabilities/images/{image_id}/sbom")
async def image_sbom(image_id: str, request: Request) -> Response:
    """The image's SPDX 2.3 SBOM from its stored index report, as a file download (routed
    before the detail page, whose path parameter would take the suffix)."""
    v = await viewer(request)
    await need(v, "Image")
    c = central_of(request)
    summary = await vulns_api.image_summary(image_id, c, v.identity)  # in scope, its name
    doc = await images_api.stored_sbom(c, image_id, str(summary["name"]))
    filename = "sbom-" + image_id.replace(":", "-")[:80] + ".spdx.json"
    return Response(
        doc,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/main/vulnerabilities/images/{image_id:path}")
async def image_detail(image_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Image")
    c = central_of(request)
    summary = await vulns_api.image_summary(image_id, c, v.identity)
    image = await c.images.load(image_id)
    layers: dict[int, dict[str, Any]] = {}
    for i, line in enumerate(image.dockerfile):
        layers[i] = {"index": i, "instruction": line.instruction, "value": line.value, "count": 0}
    findings: list[tuple[Component, Vulnerability]] = []
    for comp in image.components:
        if comp.layer_index is not None:
            layer = layers.setdefault(
                comp.layer_index,
                {"index": comp.layer_index, "instruction": "", "value": "", "count": 0},
            )
            layer["count"] += 1
        findings.extend((comp, vuln) for vuln in comp.vulnerabilities)
    findings.sort(key=lambda cv: (-SEVERITY_ORDER.index(cv[1].severity.name), -cv[1].cvss))
    checked = None
    if v.can("Detection"):  # what /v1/detect/build answers for these stored facts, now
        _, compiled = await c.policies.compiled()
        checked = await asyncio.to_thread(compiled.evaluate_image, image)
    return render(
        request,
        "image.html",
        v,
        summary=summary,
        image=image,
        layers=[layers[k] for k in sorted(layers)],
        findings=findings,
        build_check=checked,
    )


@router.get("/main/scan")
async def scan_page(request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Image", write=True)
    return render(request, "scan.html", v, image_name="", error="")


@router.post("/main/scan")
async def scan(request: Request) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, "Image", write=True)
    name = form_str(form, "imageName")
    if not name:
        return render(request, "scan.html", v, 400, image_name=name, error="Enter an image name.")
    try:
        result = await images_api.scan_image(
            images_api.ScanBody(imageName=name, force=form_str(form, "force") == "true"),
            central_of(request),
        )
    except StockadeError as exc:
        return render(request, "scan.html", v, 400, image_name=name, error=exc.message)
    return RedirectResponse(
        f"/main/vulnerabilities/images/{quote(str(result['id']), safe=':')}", status_code=303
    )
