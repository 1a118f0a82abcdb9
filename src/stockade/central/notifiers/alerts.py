"""An alert row of Central DB as the product's alert JSON, with the notifiers its policy
names: what :meth:`NotificationService.notify_alerts` queues."""

from __future__ import annotations

import datetime as dt
from typing import Any

from stockade.central.db.database import Conn
from stockade.central.notifiers.base import AlertPayload, PolicyPayload


def _ts(value: dt.datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def payload(row: dict[str, Any]) -> tuple[list[str], AlertPayload]:
    """(the policy's notifier ids, the alert) for one row of ``alerts``."""
    policy = row["policy"] or {}
    out: AlertPayload = {
        "id": str(row["id"]),
        "policy": PolicyPayload(
            id=row["policy_id"],
            name=row["policy_name"],
            severity=row["severity"],
            categories=list(row["categories"]),
            description=policy.get("description", ""),
            rationale=policy.get("rationale", ""),
            remediation=policy.get("remediation", ""),
        ),
        "lifecycleStage": row["lifecycle_stage"],
        "state": row["state"],
        "violations": [
            {"message": v.get("message", ""), "time": v.get("time", "")}
            for v in row["violations"] or []
        ],
        "time": _ts(row["updated_at"]),
        "firstOccurred": _ts(row["first_occurred"]),
    }
    if row["deployment_id"] is not None:
        out["deployment"] = {
            "id": str(row["deployment_id"]),
            "name": row["deployment_name"],
            "namespace": row["namespace"],
            "clusterId": str(row["cluster_id"]) if row["cluster_id"] else "",
            "clusterName": row["cluster_name"],
        }
    if row["image_name"]:
        out["image"] = {"name": {"fullName": row["image_name"]}}
    if row["enforcement"]:
        out["enforcement"] = {
            "action": row["enforcement"].get("action", ""),
            "message": row["enforcement"].get("message", ""),
        }
    notifiers = [n for n in policy.get("notifiers", []) if isinstance(n, str)]
    return notifiers, out


async def load(conn: Conn, alert_ids: list[str]) -> list[tuple[list[str], AlertPayload]]:
    cur = await conn.execute("SELECT * FROM alerts WHERE id = ANY(%s::uuid[])", (alert_ids,))
    return [payload(r) for r in await cur.fetchall()]
