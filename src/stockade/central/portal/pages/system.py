"""System: versions, vulnerability data per source, and the audit log."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from stockade.central.api import audit as audit_api
from stockade.central.api import images as images_api
from stockade.central.api import system as system_api
from stockade.central.portal.common import (
    PortalRoute,
    central_of,
    need,
    render,
    viewer,
)

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


@router.get("/main/system")
async def system(request: Request) -> Response:
    """Versions, vulnerability data per source, and the audit log (which names the portal's
    form posts as ``session``)."""
    v = await viewer(request)
    await need(v, "Administration")
    c = central_of(request)
    meta, events = await asyncio.gather(
        system_api.metadata(c), audit_api.audit_log(c, limit=100, offset=0)
    )
    data = await images_api.vulnerability_data(c) if v.can("Image") else None
    return render(request, "system.html", v, meta=meta, vuln_data=data, events=events["events"])
