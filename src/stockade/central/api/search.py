"""``/v1/search``: one query across every resource the caller may read, with counts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from psycopg import sql

from stockade.central.api.deps import CentralDep, IdentityDep
from stockade.central.api.listing import pagination, query_terms
from stockade.central.auth.model import Access
from stockade.central.errors import BadRequest
from stockade.central.search import execute
from stockade.central.search.resources import SEARCHABLE

router = APIRouter(tags=["Search"])


@router.get("/v1/search", summary="Search every resource the caller can read")
async def search(
    request: Request,
    c: CentralDep,
    ident: IdentityDep,
    categories: list[str] = Query(default_factory=list),
) -> dict[str, Any]:
    wanted = {cat.upper() for cat in categories}
    unknown = wanted - {r.category for r in SEARCHABLE}
    if unknown:
        raise BadRequest(f"unknown search categories: {', '.join(sorted(unknown))}")
    terms = query_terms(request)
    page = pagination(request)
    results: list[dict[str, Any]] = []
    counts: list[dict[str, Any]] = []
    for resource in SEARCHABLE:
        if wanted and resource.category not in wanted:
            continue
        if not ident.can(resource.permission, Access.READ_ACCESS):
            continue
        # a query naming fields this resource lacks simply does not apply to it
        if any(resource.field(t.field) is None for t in terms):
            continue
        location = resource.location or sql.SQL("''")
        cols = sql.SQL("{}::text AS id, {} AS name, {} AS location").format(
            resource.id_column, resource.name_column, location
        )
        found = await execute.search_page(c.db, resource, ident, terms, page, cols)
        counts.append({"category": resource.category, "count": found.total})
        results.extend(
            {
                "id": r["id"],
                "name": r["name"],
                "category": resource.category,
                "location": r["location"] or "",
                "score": 1.0,
            }
            for r in found.rows
        )
    return {"results": results, "counts": counts}


@router.get("/v1/search/options", summary="Search field names per category")
async def options(ident: IdentityDep) -> dict[str, Any]:
    return {
        "options": sorted({f.name for r in SEARCHABLE for f in r.fields}),
        "categories": {r.category: [f.name for f in r.fields] for r in SEARCHABLE},
    }
