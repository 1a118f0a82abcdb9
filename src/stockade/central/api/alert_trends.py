"""Alerts over time (resource ``Alert``): how many violations were active on each day.

An alert is active on a day (UTC) when it first occurred before the day ended and was not
resolved before the day began. Attempted alerts (a deployment the admission controller
refused) never become active and are left out. The caller's access scope and ``query``
filter the alerts, as on every alert route.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Request
from psycopg import sql

from stockade.central.api.deps import CentralDep, reader
from stockade.central.api.listing import query_terms
from stockade.central.auth.identity import Identity
from stockade.central.errors import BadRequest
from stockade.central.search import execute
from stockade.central.search.resources import ALERTS
from stockade.central.sqlparams import Params

router = APIRouter(tags=["Alerts"])
MAX_DAYS = 366
_GROUP_BY = {
    "SEVERITY": sql.SQL("a.severity"),
    "CATEGORY": sql.SQL("unnest(a.categories)"),
}


def day_starts(days: int, today: dt.date) -> list[dt.datetime]:
    """Midnight UTC of each of the last ``days`` days, oldest first, ending with today."""
    first = today - dt.timedelta(days=days - 1)
    return [
        dt.datetime.combine(first + dt.timedelta(days=i), dt.time(), dt.UTC) for i in range(days)
    ]


async def daily_counts(
    request: Request, c: Any, ident: Identity, group_by: str, days: int
) -> dict[str, Any]:
    """The route's body, callable in-process (the portal's dashboard)."""
    key = group_by.upper()
    if key not in _GROUP_BY:
        raise BadRequest(f"groupBy must be one of {', '.join(_GROUP_BY)}")
    if not 1 <= days <= MAX_DAYS:
        raise BadRequest(f"days must be from 1 to {MAX_DAYS}")
    starts = day_starts(days, dt.datetime.now(dt.UTC).date())
    end = starts[-1] + dt.timedelta(days=1)
    p = Params()
    where = execute.where_clause(ALERTS, ident, query_terms(request), p)
    # alerts that touch the window first (indexable), then one join row per active day
    q = sql.SQL(
        "SELECT d.day, s.g, count(*) AS n"
        " FROM (SELECT {} AS g, a.first_occurred, a.resolved_at FROM {} WHERE {}"
        "  AND a.state <> 'ATTEMPTED' AND a.first_occurred < {}"
        "  AND (a.resolved_at IS NULL OR a.resolved_at >= {})) s"
        " JOIN unnest({}::timestamptz[]) AS d(day)"
        "  ON s.first_occurred < d.day + interval '1 day'"
        "  AND (s.resolved_at IS NULL OR s.resolved_at >= d.day)"
        " GROUP BY d.day, s.g"
    ).format(_GROUP_BY[key], ALERTS.table, where, p.add(end), p.add(starts[0]), p.add(starts))
    async with c.db.connection() as conn:
        cur = await conn.execute(q, p)
        rows = await cur.fetchall()
    index = {s: i for i, s in enumerate(starts)}
    series: dict[str, list[int]] = {}
    for r in rows:
        counts = series.setdefault(r["g"] or "", [0] * days)
        counts[index[r["day"]]] = int(r["n"])
    return {
        "days": [s.date().isoformat() for s in starts],
        "groups": [{"group": g, "counts": series[g]} for g in sorted(series)],
    }


@router.get(
    "/v1/alerts/summary/daily",
    summary="Active alerts on each of the last N days (UTC), by severity or category",
)
async def daily(
    request: Request,
    c: CentralDep,
    ident: Identity = reader("Alert"),
    group_by: str = Query("SEVERITY", alias="groupBy"),
    days: int = Query(30),
) -> dict[str, Any]:
    return await daily_counts(request, c, ident, group_by, days)
