"""Run a search for a caller: the query, the caller's access scope and pagination in one
parameterised statement, and the matching count under the same filter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from stockade.central.auth.identity import Identity
from stockade.central.auth.model import Access
from stockade.central.auth.scope_sql import TRUE, ScopeColumns, scope_filter
from stockade.central.db.database import Database
from stockade.central.errors import BadRequest
from stockade.central.search.compile import Pagination, compile_terms, order_by
from stockade.central.search.fields import SearchResource
from stockade.central.search.query import Term
from stockade.central.sqlparams import Params

DEPLOYMENT_SCOPE = ScopeColumns(
    cluster_id=sql.SQL("sd.cluster_id"), namespace=sql.SQL("sd.namespace")
)


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int


def where_clause(
    resource: SearchResource, identity: Identity, terms: list[Term], p: Params
) -> sql.Composable:
    conditions = [compile_terms(resource, terms, p)]
    scopes = identity.roles.scopes_for(resource.permission, Access.READ_ACCESS)
    if resource.scope is not None:
        conditions.append(scope_filter(scopes, resource.scope, p))
    elif resource.scope_via is not None:
        f = scope_filter(scopes, DEPLOYMENT_SCOPE, p)
        if f is not TRUE:
            conditions.append(sql.SQL("EXISTS ({} AND {})").format(resource.scope_via, f))
    return sql.SQL(" AND ").join(conditions)


async def search_page(
    db: Database,
    resource: SearchResource,
    identity: Identity,
    terms: list[Term],
    page: Pagination,
    columns: sql.Composable,
) -> Page:
    p = Params()
    where = where_clause(resource, identity, terms, p)
    rows_q = sql.SQL("SELECT {} FROM {} WHERE {} {} LIMIT {} OFFSET {}").format(
        columns,
        resource.table,
        where,
        order_by(resource, page),
        p.add(page.limit),
        p.add(page.offset),
    )
    count_q = sql.SQL("SELECT count(*) AS n FROM {} WHERE {}").format(resource.table, where)
    try:
        async with db.connection() as conn, conn.pipeline():
            # both statements go out together: one round trip, not two
            rows_cur = await conn.execute(rows_q, p)
            count_cur = await conn.execute(count_q, p)
            rows = await rows_cur.fetchall()
            count_row = await count_cur.fetchone()
    except psycopg.errors.DataError as exc:
        raise BadRequest(f"the query cannot be evaluated: {exc.diag.message_primary}") from exc
    total = int(count_row["n"]) if count_row else 0
    return Page([dict(r) for r in rows], total)


async def count(
    db: Database, resource: SearchResource, identity: Identity, terms: list[Term]
) -> int:
    p = Params()
    where = where_clause(resource, identity, terms, p)
    q = sql.SQL("SELECT count(*) AS n FROM {} WHERE {}").format(resource.table, where)
    try:
        async with db.connection() as conn:
            cur = await conn.execute(q, p)
            row = await cur.fetchone()
    except psycopg.errors.DataError as exc:
        raise BadRequest(f"the query cannot be evaluated: {exc.diag.message_primary}") from exc
    return int(row["n"]) if row else 0


async def grouped_page(
    db: Database,
    resource: SearchResource,
    identity: Identity,
    terms: list[Term],
    page: Pagination,
    columns: sql.Composable,
    group_by: sql.Composable,
    sort: Mapping[str, sql.Composable],
) -> Page:
    """Like :func:`search_page`, for lists of aggregates (a CVE over the images it is in):
    rows are filtered, grouped, then sorted by an aggregate named in ``sort``."""
    p = Params()
    where = where_clause(resource, identity, terms, p)
    key = (page.sort_field or "").lower()
    if page.sort_field and key not in sort:
        raise BadRequest(f"cannot sort by {page.sort_field!r}; sortable: {', '.join(sorted(sort))}")
    order = sort.get(key) or next(iter(sort.values()))
    direction = sql.SQL("DESC" if page.reversed else "ASC")
    # The number of groups comes with the page (a window over the groups, before LIMIT), so
    # the findings are read and grouped once, not twice; only a page past the end needs the
    # separate count.
    rows_q = sql.SQL(
        "SELECT {}, count(*) OVER () AS _groups FROM {} WHERE {} GROUP BY {}"
        " ORDER BY {} {} NULLS LAST, {} LIMIT {} OFFSET {}"
    ).format(
        columns,
        resource.table,
        where,
        group_by,
        order,
        direction,
        group_by,
        p.add(page.limit),
        p.add(page.offset),
    )
    count_q = sql.SQL("SELECT count(*) AS n FROM (SELECT 1 FROM {} WHERE {} GROUP BY {}) g").format(
        resource.table, where, group_by
    )
    try:
        async with db.connection() as conn:
            rows = [dict(r) for r in await (await conn.execute(rows_q, p)).fetchall()]
            if rows:
                total = int(rows[0]["_groups"])
            elif page.offset == 0:
                total = 0
            else:
                count_row = await (await conn.execute(count_q, p)).fetchone()
                total = int(count_row["n"]) if count_row else 0
    except psycopg.errors.DataError as exc:
        raise BadRequest(f"the query cannot be evaluated: {exc.diag.message_primary}") from exc
    for r in rows:
        del r["_groups"]
    return Page(rows, total)
