"""Vulnerability management: components across images, with filters."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stockade.central.api import vulnerabilities as vulns_api
from stockade.central.portal.common import PortalRoute, join_query, list_page, need, viewer

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

# the package types the Indexer reports, as stored in image_components.source
SOURCES = ("dpkg", "apk", "rpm", "pypi", "npm", "go", "java", "gem", "cargo", "composer", "nuget")
SORTS = ("Images", "Component", "Component Version")


@router.get("/main/vulnerabilities/components")
async def component_list(request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Image")
    q = request.query_params
    filters = {
        "query": q.get("query", "").strip(),
        "name": q.get("name", "").strip(),
        "source": q.get("source", "") if q.get("source") in SOURCES else "",
        "cve": q.get("cve", "").strip(),
        "fixable": "true" if q.get("fixable") == "true" else "",
        "sort": q.get("sort", "Images") if q.get("sort") in SORTS else "Images",
    }
    query = join_query(
        filters["query"],
        f"Component:{filters['name']}" if filters["name"] else "",
        f"Component Source:{filters['source']}" if filters["source"] else "",
        f"CVE:{filters['cve']}" if filters["cve"] else "",
        "Fixable:true" if filters["fixable"] else "",
    )
    params = {
        "query": query,
        "pagination.sortOption.field": filters["sort"],
        "pagination.sortOption.reversed": str(filters["sort"] == "Images").lower(),
    }
    return await list_page(
        request,
        v,
        vulns_api.list_components,
        "components",
        "components.html",
        params,
        filters=filters,
        sources=SOURCES,
        sorts=SORTS,
    )
