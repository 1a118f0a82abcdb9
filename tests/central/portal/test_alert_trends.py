"""Active alerts per day (GET /v1/alerts/summary/daily, which the dashboard's charts use):
seeded alerts with known first-seen and resolved times, counted per UTC day by the route and
by hand."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from .dated_alerts import expected, seed_alerts
from .test_portal import logged_in

pytestmark = pytest.mark.integration


async def test_daily_counts_by_severity_and_category_match_a_hand_count(central) -> None:
    seed_alerts(central.db_url)
    r = await central.admin("GET", "/v1/alerts/summary/daily")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert len(doc["days"]) == 30
    assert doc["days"][-1] == dt.datetime.now(dt.UTC).date().isoformat()
    by_sev = {g["group"]: g["counts"] for g in doc["groups"]}
    assert by_sev == expected(lambda sev, cats: [sev])
    # spot checks that do not depend on the hand count's logic
    assert by_sev["HIGH_SEVERITY"][0] == 1 and by_sev["HIGH_SEVERITY"][-1] == 2
    assert by_sev["MEDIUM_SEVERITY"] == [0] * 26 + [1, 0, 0, 0]
    assert "LOW_SEVERITY" in by_sev and by_sev["LOW_SEVERITY"] == [0] * 29 + [1]

    r = await central.admin("GET", "/v1/alerts/summary/daily?groupBy=CATEGORY&days=7")
    by_cat = {g["group"]: g["counts"] for g in r.json()["groups"]}
    assert by_cat == expected(lambda sev, cats: cats, days=7)

    # the query narrows like every alert route
    r = await central.admin("GET", "/v1/alerts/summary/daily?query=Severity:HIGH_SEVERITY")
    assert [g["group"] for g in r.json()["groups"]] == ["HIGH_SEVERITY"]


async def test_daily_counts_refuse_bad_input_and_callers_without_alert_access(central) -> None:
    r = await central.admin("GET", "/v1/alerts/summary/daily?groupBy=CLUSTERS")
    assert r.status_code == 400 and "groupBy" in r.json()["message"]
    r = await central.admin("GET", "/v1/alerts/summary/daily?days=0")
    assert r.status_code == 400 and "days" in r.json()["message"]
    token = await central.token_for("Continuous Integration")
    r = await central.as_token(token, "GET", "/v1/alerts/summary/daily")
    assert r.status_code == 403


def table(html: str, key: str) -> dict[str, list[int]]:
    """The chart's text alternative, read back: group → count per day, oldest first."""
    body = re.search(rf'<table id="{key}-table".*?</table>', html, re.S)
    assert body, key
    out: dict[str, list[int]] = {}
    for group, n in re.findall(r'<td class="num" data-group="([^"]+)">(\d+)</td>', body.group(0)):
        out.setdefault(group, []).append(int(n))
    return out


async def test_dashboard_charts_show_the_daily_counts(central) -> None:
    seed_alerts(central.db_url)
    b = await logged_in(central)
    page = (await b.get("/main/dashboard")).text
    by_sev = expected(lambda sev, cats: [sev])
    shown = table(page, "trend-severity")
    for sev in ("CRITICAL_SEVERITY", "HIGH_SEVERITY", "MEDIUM_SEVERITY", "LOW_SEVERITY"):
        label = sev.removesuffix("_SEVERITY").title()
        assert shown[label] == by_sev.get(sev, [0] * 30), sev
    assert table(page, "trend-category") == expected(lambda sev, cats: cats)
    # the same numbers the API gives
    api = (await central.admin("GET", "/v1/alerts/summary/daily?groupBy=CATEGORY")).json()
    assert table(page, "trend-category") == {g["group"]: g["counts"] for g in api["groups"]}
    # an image with a title and a description naming the last day's numbers
    svg = re.search(r'<svg id="trend-severity-chart" role="img"[^>]*>', page)
    assert svg and 'aria-labelledby="trend-severity-title trend-severity-desc"' in svg.group(0)
    desc = re.search(r'<desc id="trend-severity-desc">([^<]+)</desc>', page).group(1)  # type: ignore[union-attr]
    assert f"High {by_sev['HIGH_SEVERITY'][-1]}" in desc and "Low 1" in desc
    assert page.count('class="trend-line') == 4 + len(expected(lambda sev, cats: cats))
