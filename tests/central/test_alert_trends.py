"""Active alerts per day: seeded alerts with known first-seen and resolved times, counted
per UTC day by the route and by hand."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

pytestmark = pytest.mark.integration

DAY = dt.timedelta(days=1)


def _midnight(days_ago: int) -> dt.datetime:
    today = dt.datetime.now(dt.UTC).date()
    return dt.datetime.combine(today, dt.time(), dt.UTC) - days_ago * DAY


# (severity, categories, state, first seen, resolved): times as (days ago, hour)
SEEDED: list[tuple[str, list[str], str, tuple[int, int], tuple[int, int] | None]] = [
    ("HIGH_SEVERITY", ["Vulnerability Management"], "ACTIVE", (40, 5), None),  # all 30 days
    ("HIGH_SEVERITY", ["DevOps Best Practices"], "ACTIVE", (10, 23), None),
    ("CRITICAL_SEVERITY", ["Privileges", "Security Best Practices"], "RESOLVED", (20, 1), (12, 8)),
    ("LOW_SEVERITY", ["DevOps Best Practices"], "RESOLVED", (50, 0), (45, 0)),  # before window
    ("MEDIUM_SEVERITY", ["Privileges"], "RESOLVED", (3, 12), (3, 13)),  # one day only
    ("MEDIUM_SEVERITY", ["Privileges"], "ATTEMPTED", (5, 0), None),  # never active
    ("LOW_SEVERITY", ["Anomalous Activity"], "ACTIVE", (0, 0), None),  # today
]


def _at(spec: tuple[int, int]) -> dt.datetime:
    return _midnight(spec[0]) + dt.timedelta(hours=spec[1])


def seed_alerts(db_url: str, rows: list[Any] = SEEDED) -> None:
    with psycopg.connect(db_url) as conn:
        for i, (sev, cats, state, first, resolved) in enumerate(rows):
            conn.execute(
                "INSERT INTO alerts (id, policy_id, policy, policy_name, severity, categories,"
                " lifecycle_stage, state, image_name, violations, first_occurred, resolved_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, 'BUILD', %s, %s, %s, %s, %s)",
                (
                    uuid.uuid4(),
                    f"p{i}",
                    Jsonb({"name": f"policy {i}"}),
                    f"policy {i}",
                    sev,
                    cats,
                    state,
                    f"example.test/img{i}:1",
                    Jsonb([]),
                    _at(first),
                    _at(resolved) if resolved else None,
                ),
            )


def expected(group_of: Any, days: int = 30) -> dict[str, list[int]]:
    """Counted by hand: active on a day = first seen before it ends, not resolved before it
    begins, never ATTEMPTED."""
    out: dict[str, list[int]] = {}
    for i in range(days):
        start = _midnight(days - 1 - i)
        for sev, cats, state, first, resolved in SEEDED:
            if state == "ATTEMPTED":
                continue
            if _at(first) < start + DAY and (resolved is None or _at(resolved) >= start):
                for g in group_of(sev, cats):
                    out.setdefault(g, [0] * days)[i] += 1
    return out


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
