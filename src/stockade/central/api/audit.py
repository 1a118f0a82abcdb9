"""The audit log of mutating calls (resource ``Administration``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from stockade.central.api.deps import CentralDep, reader

router = APIRouter(tags=["Audit"])


@router.get(
    "/v1/auditlog",
    summary="Recent mutating API calls, newest first",
    dependencies=[reader("Administration")],
)
async def audit_log(
    c: CentralDep,
    limit: int = Query(100, ge=1, le=1000, alias="pagination.limit"),
    offset: int = Query(0, ge=0, alias="pagination.offset"),
) -> dict[str, Any]:
    rows = await c.audit.recent(limit, offset)
    return {
        "events": [
            {
                "id": r["id"],
                "time": r["at"].isoformat().replace("+00:00", "Z"),
                "principal": r["principal"],
                "authMethod": r["auth_method"],
                "method": r["method"],
                "path": r["path"],
                "status": r["status"],
                "source": r["source"],
                "requestId": r["request_id"],
            }
            for r in rows
        ]
    }
