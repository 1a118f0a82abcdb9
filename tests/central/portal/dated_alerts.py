"""Alerts with known first-seen and resolved times, and the per-day count of active ones
worked out by hand (the API's daily summary and the dashboard's charts are checked against
it)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

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
