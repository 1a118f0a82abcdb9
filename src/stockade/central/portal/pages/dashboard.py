"""The dashboard: violations by severity and category, images with the most critical
fixable CVEs, the most common CVEs, and vulnerability data freshness."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any

from fastapi import APIRouter, Request, Response

from stockade.central.api import alert_trends
from stockade.central.api import alerts as alerts_api
from stockade.central.api import images as images_api
from stockade.central.api import vulnerabilities as vulns_api
from stockade.central.portal.charts import bar_rows
from stockade.central.portal.common import (
    ACTIVE_QUERY,
    ALERT_SEVERITIES,
    PortalRoute,
    api_request,
    central_of,
    render,
    viewer,
)
from stockade.central.portal.trend_charts import severity_trend, trend_chart

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def _counts(doc: Mapping[str, Any]) -> dict[str, int]:
    out = dict.fromkeys(ALERT_SEVERITIES, 0)
    for g in doc["groups"]:
        for cnt in g["counts"]:
            out[cnt["severity"]] += int(cnt["count"])
    return out


@router.get("/main/dashboard")
async def dashboard(request: Request) -> Response:
    v = await viewer(request)
    c = central_of(request)
    ctx: dict[str, Any] = {}
    # the panels' queries are independent: they run at once, each on its own connection
    panels: dict[str, Coroutine[Any, Any, Any]] = {}
    if v.can("Alert"):
        sub = api_request(request, {"query": ACTIVE_QUERY})
        panels["severity"] = alerts_api.summary_counts(sub, c, v.identity, "UNSET")
        panels["category"] = alerts_api.summary_counts(sub, c, v.identity, "CATEGORY")
        every = api_request(request, {})  # over time: every alert that was active that day
        panels["daily_sev"] = alert_trends.daily_counts(every, c, v.identity, "SEVERITY", 30)
        panels["daily_cat"] = alert_trends.daily_counts(every, c, v.identity, "CATEGORY", 30)
    if v.can("Image"):
        most_common = api_request(
            request,
            {
                "pagination.limit": "5",
                "pagination.sortOption.field": "Images",
                "pagination.sortOption.reversed": "true",
            },
        )
        panels["top_images"] = vulns_api.top_critical_fixable_images(c, v.identity, 5)
        panels["common"] = vulns_api.list_cves(most_common, c, v.identity)
        panels["vuln_data"] = images_api.vulnerability_data(c)
    done = dict(zip(panels, await asyncio.gather(*panels.values()), strict=True))
    if "severity" in done:
        by_sev = _counts(done["severity"])
        ctx["severity_bars"] = bar_rows([(s.removesuffix("_SEVERITY"), by_sev[s]) for s in by_sev])
        ctx["severity_total"] = sum(by_sev.values())
        groups = done["category"]["groups"]
        ctx["category_bars"] = bar_rows(
            sorted(
                ((g["group"], sum(int(x["count"]) for x in g["counts"])) for g in groups),
                key=lambda kv: (-kv[1], kv[0]),
            )[:10]
        )
        ctx["trend_severity"] = severity_trend(done["daily_sev"])
        cat = done["daily_cat"]
        ctx["trend_category"] = trend_chart(
            cat["days"], {g["group"]: g["counts"] for g in cat["groups"]}
        )
    if "common" in done:
        ctx["top_images"] = done["top_images"]
        ctx["common_cves"] = done["common"]["cves"]
        ctx["vuln_data"] = done["vuln_data"]
    return render(request, "dashboard.html", v, active_query=ACTIVE_QUERY, **ctx)
