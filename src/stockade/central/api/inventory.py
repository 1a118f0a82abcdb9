"""Clusters, namespaces and deployments as far as Central knows them, filtered by the
caller's access scope. Sensor fills them in; until then clusters can be registered here."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from stockade.central.api.deps import CentralDep, reader, writer
from stockade.central.api.listing import pagination, query_terms
from stockade.central.auth.identity import Identity
from stockade.central.errors import Conflict, NotFound
from stockade.central.search import execute
from stockade.central.search.query import Op, Term, Value
from stockade.central.search.resources import CLUSTERS, DEPLOYMENTS, NAMESPACES

router = APIRouter(tags=["Inventory"])


def _ts(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


_CLUSTER_COLS = sql.SQL("c.id, c.name, c.type, c.labels, c.created_at")


def _cluster_json(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(r["id"]),
        "name": r["name"],
        "type": r["type"],
        "labels": r["labels"],
        "createdAt": _ts(r["created_at"]),
    }


@router.get("/v1/clusters", summary="Secured clusters (query syntax, pagination)")
async def list_clusters(
    request: Request, c: CentralDep, ident: Identity = reader("Cluster")
) -> dict[str, Any]:
    page = await execute.search_page(
        c.db, CLUSTERS, ident, query_terms(request), pagination(request), _CLUSTER_COLS
    )
    return {"clusters": [_cluster_json(r) for r in page.rows], "totalCount": page.total}


@router.get("/v1/clusters/{cluster_id}")
async def get_cluster(
    cluster_id: str, request: Request, c: CentralDep, ident: Identity = reader("Cluster")
) -> dict[str, Any]:
    terms = [Term("Cluster ID", (Value(Op.EXACT, cluster_id),))]
    page = await execute.search_page(
        c.db, CLUSTERS, ident, terms, pagination(request), _CLUSTER_COLS
    )
    if not page.rows:
        raise NotFound(f"cluster {cluster_id!r} does not exist")
    return {"cluster": _cluster_json(page.rows[0])}


class ClusterBody(BaseModel):
    name: str = Field(min_length=1, max_length=253)
    type: str = "KUBERNETES_CLUSTER"
    labels: dict[str, str] = Field(default_factory=dict)


@router.post("/v1/clusters", summary="Register a secured cluster")
async def create_cluster(
    body: ClusterBody, c: CentralDep, ident: Identity = writer("Cluster")
) -> dict[str, Any]:
    new_id = uuid.uuid4()
    async with c.db.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO clusters (id, name, type, labels) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (name) DO NOTHING RETURNING id, name, type, labels, created_at",
            (new_id, body.name, body.type, Jsonb(body.labels)),
        )
        row = await cur.fetchone()
    if row is None:
        raise Conflict(f"a cluster named {body.name!r} already exists")
    return {"cluster": _cluster_json(dict(row))}


_NS_COLS = sql.SQL("n.id, n.name, n.labels, n.cluster_id, nc.name AS cluster_name, n.created_at")


@router.get("/v1/namespaces", summary="Namespaces (query syntax, pagination)")
async def list_namespaces(
    request: Request, c: CentralDep, ident: Identity = reader("Namespace")
) -> dict[str, Any]:
    page = await execute.search_page(
        c.db, NAMESPACES, ident, query_terms(request), pagination(request), _NS_COLS
    )
    return {
        "namespaces": [
            {
                "metadata": {
                    "id": str(r["id"]),
                    "name": r["name"],
                    "clusterId": str(r["cluster_id"]),
                    "clusterName": r["cluster_name"],
                    "labels": r["labels"],
                    "creationTime": _ts(r["created_at"]),
                }
            }
            for r in page.rows
        ],
        "totalCount": page.total,
    }


_DEP_COLS = sql.SQL(
    "d.id, d.name, d.namespace, d.type, d.labels, d.replicas, d.cluster_id,"
    " dc.name AS cluster_name, d.created_at"
)


@router.get("/v1/deployments", summary="Deployments (query syntax, pagination)")
async def list_deployments(
    request: Request, c: CentralDep, ident: Identity = reader("Deployment")
) -> dict[str, Any]:
    page = await execute.search_page(
        c.db, DEPLOYMENTS, ident, query_terms(request), pagination(request), _DEP_COLS
    )
    return {
        "deployments": [
            {
                "id": str(r["id"]),
                "name": r["name"],
                "namespace": r["namespace"],
                "cluster": r["cluster_name"],
                "clusterId": str(r["cluster_id"]),
                "type": r["type"],
                "labels": r["labels"],
                "replicas": r["replicas"],
                "created": _ts(r["created_at"]),
            }
            for r in page.rows
        ],
        "totalCount": page.total,
    }


@router.get("/v1/deploymentscount", summary="How many deployments match the query")
async def count_deployments(
    request: Request, c: CentralDep, ident: Identity = reader("Deployment")
) -> dict[str, int]:
    return {"count": await execute.count(c.db, DEPLOYMENTS, ident, query_terms(request))}


@router.get("/v1/namespacescount", summary="How many namespaces match the query")
async def count_namespaces(
    request: Request, c: CentralDep, ident: Identity = reader("Namespace")
) -> dict[str, int]:
    return {"count": await execute.count(c.db, NAMESPACES, ident, query_terms(request))}
