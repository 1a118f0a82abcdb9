"""Alerts (resource ``Alert``): list, count, summary and resolve, scoped like everything."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request
from psycopg import sql
from pydantic import BaseModel

from stockade.central.api import policies as policies_api
from stockade.central.api.deps import CentralDep, reader, require, writer
from stockade.central.api.listing import pagination, query_terms
from stockade.central.auth.identity import Identity
from stockade.central.auth.model import Access
from stockade.central.errors import BadRequest, NotFound
from stockade.central.runtime import Central
from stockade.central.search import execute
from stockade.central.search.resources import ALERTS
from stockade.central.sqlparams import Params
from stockade.policy.model import Exclusion, Scope

router = APIRouter(tags=["Alerts"])
EXCLUDED = "EXCLUDED"  # an alert's resolution when its target was excluded from the policy
SEVERITIES = ("LOW_SEVERITY", "MEDIUM_SEVERITY", "HIGH_SEVERITY", "CRITICAL_SEVERITY")


def _ts(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _entity(r: dict[str, Any]) -> dict[str, Any]:
    if r["deployment_id"] is not None:
        return {
            "deployment": {
                "id": str(r["deployment_id"]),
                "name": r["deployment_name"],
                "namespace": r["namespace"],
                "clusterId": str(r["cluster_id"]),
                "clusterName": r["cluster_name"],
            }
        }
    return {"image": {"name": {"fullName": r["image_name"]}}}


def alert_list_json(r: dict[str, Any]) -> dict[str, Any]:
    policy = r["policy"]
    return {
        "id": str(r["id"]),
        "lifecycleStage": r["lifecycle_stage"],
        "time": _ts(r["updated_at"]),
        "firstOccurred": _ts(r["first_occurred"]),
        "state": r["state"],
        "policy": {
            "id": r["policy_id"],
            "name": r["policy_name"],
            "severity": r["severity"],
            "description": policy.get("description", ""),
            "categories": r["categories"],
        },
        "enforcementCount": r["enforcement_count"],
        "enforcementAction": (r["enforcement"] or {}).get("action", "UNSET_ENFORCEMENT"),
        "commonEntityInfo": {
            "clusterName": r["cluster_name"],
            "namespace": r["namespace"],
            "clusterId": str(r["cluster_id"]) if r["cluster_id"] else "",
            "resourceType": "DEPLOYMENT" if r["deployment_id"] else "IMAGE",
        },
        **_entity(r),
    }


def alert_json(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(r["id"]),
        "policy": r["policy"],
        "lifecycleStage": r["lifecycle_stage"],
        "state": r["state"],
        "violations": r["violations"],
        "enforcement": r["enforcement"],
        "time": _ts(r["updated_at"]),
        "firstOccurred": _ts(r["first_occurred"]),
        "resolvedAt": _ts(r["resolved_at"]),
        **({"resolution": r["resolution"]} if r.get("resolution") else {}),
        **_entity(r),
    }


@router.get("/v1/alerts", summary="List alerts (query syntax, pagination)")
async def list_alerts(
    request: Request, c: CentralDep, ident: Identity = reader("Alert")
) -> dict[str, Any]:
    page = await execute.search_page(
        c.db, ALERTS, ident, query_terms(request), pagination(request), sql.SQL("a.*")
    )
    return {"alerts": [alert_list_json(r) for r in page.rows], "totalCount": page.total}


@router.get("/v1/alertscount", summary="How many alerts match the query")
async def count_alerts(
    request: Request, c: CentralDep, ident: Identity = reader("Alert")
) -> dict[str, int]:
    return {"count": await execute.count(c.db, ALERTS, ident, query_terms(request))}


_GROUP_BY = {
    "UNSET": None,
    "CLUSTER": sql.SQL("a.cluster_name"),
    "CATEGORY": sql.SQL("unnest(a.categories)"),
}


@router.get("/v1/alerts/summary/counts", summary="Alert counts by severity, grouped")
async def summary_counts(
    request: Request,
    c: CentralDep,
    ident: Identity = reader("Alert"),
    group_by: str = Query("UNSET", alias="groupBy"),
) -> dict[str, Any]:
    if group_by.upper() not in _GROUP_BY:
        raise BadRequest(f"groupBy must be one of {', '.join(_GROUP_BY)}")
    group = _GROUP_BY[group_by.upper()]
    p = Params()
    where = execute.where_clause(ALERTS, ident, query_terms(request), p)
    group_expr = group if group is not None else sql.SQL("''")
    q = sql.SQL(
        "SELECT g, severity, count(*) AS n FROM (SELECT {} AS g, a.severity FROM {} WHERE {}) s"
        " GROUP BY g, severity ORDER BY g"
    ).format(group_expr, ALERTS.table, where)
    async with c.db.connection() as conn:
        cur = await conn.execute(q, p)
        rows = await cur.fetchall()
    groups: dict[str, dict[str, int]] = {}
    for r in rows:
        groups.setdefault(r["g"] or "", {})[r["severity"]] = int(r["n"])
    return {
        "groups": [
            {
                "group": g,
                "counts": [{"severity": s, "count": str(counts.get(s, 0))} for s in SEVERITIES],
            }
            for g, counts in groups.items()
        ]
    }


async def _visible(c: Any, ident: Identity, alert_id: str) -> dict[str, Any]:
    try:
        key = uuid.UUID(alert_id)
    except ValueError as exc:  # a malformed id is simply not an alert
        raise NotFound(f"alert {alert_id!r} does not exist") from exc
    p = Params()
    where = execute.where_clause(ALERTS, ident, [], p)
    q = sql.SQL("SELECT a.* FROM {} WHERE {} AND a.id = {}").format(ALERTS.table, where, p.add(key))
    async with c.db.connection() as conn:
        cur = await conn.execute(q, p)
        row = await cur.fetchone()
    if row is None:  # out of the caller's scope looks exactly like absent
        raise NotFound(f"alert {alert_id!r} does not exist")
    return dict(row)


@router.get("/v1/alerts/{alert_id}", summary="One alert with its violations")
async def get_alert(
    alert_id: str, request: Request, c: CentralDep, ident: Identity = reader("Alert")
) -> dict[str, Any]:
    return alert_json(await _visible(c, ident, alert_id))


class ResolveBody(BaseModel):
    whitelist: bool = False
    addToBaseline: bool = False


@router.patch("/v1/alerts/{alert_id}/resolve", summary="Resolve an alert")
async def resolve_alert(
    alert_id: str,
    request: Request,
    c: CentralDep,
    body: ResolveBody | None = None,
    ident: Identity = writer("Alert"),
) -> dict[str, Any]:
    if body is not None and body.whitelist:
        await exclude_alert(c, ident, alert_id)
        return {}
    await _visible(c, ident, alert_id)
    await c.alerts.resolve([alert_id])
    return {}


def exclusion_for(row: dict[str, Any]) -> Exclusion:
    """An exclusion of what the alert is about: its deployment (by name, in its namespace)
    or, for a build-time alert, its image (by full name)."""
    if row["deployment_id"] is not None:
        name, ns = row["deployment_name"], row["namespace"]
        return Exclusion(
            name=f"{name} in {ns}",
            deployment_name=name,
            deployment_scope=Scope(namespace=ns),
            has_deployment=True,
        )
    image = row["image_name"]
    return Exclusion(name=f"image {image}", image_name=image, has_image=True)


async def exclude_alert(c: Central, ident: Identity, alert_id: str) -> Exclusion:
    """Exclude the alert's deployment or image from its policy and resolve it as EXCLUDED.

    Needs write access to alerts and to policies; the policy changes through the policies
    API's own code path, so the next evaluation leaves the target alone."""
    row = await _visible(c, ident, alert_id)
    await require(policies_api.RESOURCE, Access.READ_WRITE_ACCESS)(ident)
    exclusion = exclusion_for(row)
    await policies_api.add_exclusion(row["policy_id"], exclusion, c)
    await c.alerts.resolve([alert_id], resolution=EXCLUDED)
    # re-evaluated after the resolve, so a quick background run cannot resolve it unmarked
    c.policies_changed([row["policy_id"]])
    return exclusion


class BulkResolveBody(BaseModel):
    query: str


@router.patch("/v1/alerts/resolve", summary="Resolve every alert the query matches")
async def resolve_alerts(
    body: BulkResolveBody, c: CentralDep, ident: Identity = writer("Alert")
) -> dict[str, Any]:
    from stockade.central.search.query import parse_query  # noqa: PLC0415

    p = Params()
    where = execute.where_clause(ALERTS, ident, parse_query(body.query), p)
    q = sql.SQL(
        "UPDATE alerts a SET state = 'RESOLVED', resolved_at = now(), updated_at = now()"
        " WHERE a.state IN ('ACTIVE', 'ATTEMPTED') AND {} RETURNING a.id"
    ).format(where)
    async with c.db.connection() as conn:
        cur = await conn.execute(q, p)
        n = len(await cur.fetchall())
    return {"numResolved": n}
