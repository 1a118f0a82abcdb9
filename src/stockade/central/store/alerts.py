"""Alerts: what detection found, kept as users of the product expect.

* one ACTIVE alert per (policy, deployment) — or (policy, image) at build time — updated in
  place when the same policy fires again; a unique partial index makes this hold even when
  two Centrals record the same result at once;
* RESOLVED when the violation is gone (the deployment was re-evaluated clean, removed, or the
  policy was disabled or deleted), or by a user;
* ATTEMPTED for every admission denial: each attempt is its own record.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from stockade.central.db.database import Conn, Database
from stockade.central.errors import BadRequest, NotFound
from stockade.policy import LifecycleStage, Violation, policy_to_json

MAX_RUNTIME_MESSAGES = 40  # a runtime alert keeps its newest violations, not an endless list


@dataclass(frozen=True)
class DeploymentRef:
    id: str
    name: str
    namespace: str
    cluster_id: str
    cluster_name: str


@dataclass(frozen=True)
class Recorded:
    created: list[str]  # alert ids raised now (to notify)
    updated: list[str]
    resolved: list[str]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _messages(v: Violation, when: dt.datetime) -> list[dict[str, str]]:
    stamp = when.isoformat().replace("+00:00", "Z")
    return [{"message": m, "time": stamp} for m in v.messages]


def _enforcement(v: Violation, stage: LifecycleStage) -> dict[str, str] | None:
    if not v.enforced(stage):
        return None
    actions = [a.value for a in v.policy.enforcement_actions]
    if stage is LifecycleStage.BUILD:
        action = "FAIL_BUILD_ENFORCEMENT"
    else:
        action = next((a for a in actions if a != "FAIL_BUILD_ENFORCEMENT"), actions[0])
    return {"action": action, "message": f"{v.policy.name} enforces {action}"}


class AlertStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record_deployment(
        self,
        ref: DeploymentRef,
        stage: LifecycleStage,
        violations: list[Violation],
        *,
        only: list[str] | None = None,
    ) -> Recorded:
        """Record one evaluation of a deployment at DEPLOY or RUNTIME stage.

        DEPLOY results are complete: an active deploy alert whose policy no longer fires is
        resolved (among the policies in ``only`` when given: an evaluation of just those).
        RUNTIME results only add (a quiet moment does not clear a runtime alert).
        """
        if stage is LifecycleStage.BUILD:
            raise ValueError("build-stage results are recorded per image")
        now = _now()
        created: list[str] = []
        updated: list[str] = []
        async with self.db.connection() as conn:
            for v in violations:
                alert_id, was_new = await self._upsert(conn, v, stage, now, deployment=ref)
                (created if was_new else updated).append(alert_id)
            resolved: list[str] = []
            if stage is LifecycleStage.DEPLOY:
                firing = [v.policy.id for v in violations]
                cur = await conn.execute(
                    "UPDATE alerts SET state = 'RESOLVED', resolved_at = %s, updated_at = %s"
                    " WHERE deployment_id = %s AND lifecycle_stage = 'DEPLOY'"
                    " AND state = 'ACTIVE' AND NOT (policy_id = ANY(%s))"
                    " AND (%s::text[] IS NULL OR policy_id = ANY(%s)) RETURNING id",
                    (now, now, uuid.UUID(ref.id), firing, only, only),
                )
                resolved = [str(r["id"]) for r in await cur.fetchall()]
        return Recorded(created, updated, resolved)

    async def record_image(
        self, image_name: str, violations: list[Violation], *, only: list[str] | None = None
    ) -> Recorded:
        """Record a build-stage evaluation of an image (complete, like DEPLOY; of just the
        policies in ``only`` when given)."""
        now = _now()
        created: list[str] = []
        updated: list[str] = []
        async with self.db.connection() as conn:
            for v in violations:
                alert_id, was_new = await self._upsert(
                    conn, v, LifecycleStage.BUILD, now, image_name=image_name
                )
                (created if was_new else updated).append(alert_id)
            cur = await conn.execute(
                "UPDATE alerts SET state = 'RESOLVED', resolved_at = %s, updated_at = %s"
                " WHERE image_name = %s AND deployment_id IS NULL AND lifecycle_stage = 'BUILD'"
                " AND state = 'ACTIVE' AND NOT (policy_id = ANY(%s))"
                " AND (%s::text[] IS NULL OR policy_id = ANY(%s)) RETURNING id",
                (now, now, image_name, [v.policy.id for v in violations], only, only),
            )
            resolved = [str(r["id"]) for r in await cur.fetchall()]
        return Recorded(created, updated, resolved)

    async def record_attempted(self, ref: DeploymentRef, violations: list[Violation]) -> list[str]:
        """Admission denied a deployment: one ATTEMPTED alert per policy, per attempt."""
        now = _now()
        ids = []
        async with self.db.connection() as conn:
            for v in violations:
                alert_id = uuid.uuid4()
                await conn.execute(
                    "INSERT INTO alerts (id, policy_id, policy, policy_name, severity, categories,"
                    " lifecycle_stage, state, cluster_id, cluster_name, namespace, deployment_id,"
                    " deployment_name, violations, enforcement, enforcement_count,"
                    " first_occurred, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, 'DEPLOY', 'ATTEMPTED', %s, %s, %s, %s, %s,"
                    " %s, %s, 1, %s, %s)",
                    (
                        alert_id,
                        v.policy.id,
                        Jsonb(policy_to_json(v.policy)),
                        v.policy.name,
                        v.policy.severity.value,
                        list(v.policy.categories),
                        uuid.UUID(ref.cluster_id),
                        ref.cluster_name,
                        ref.namespace,
                        uuid.UUID(ref.id),
                        ref.name,
                        Jsonb(_messages(v, now)),
                        Jsonb(_enforcement(v, LifecycleStage.DEPLOY)),
                        now,
                        now,
                    ),
                )
                ids.append(str(alert_id))
        return ids

    async def _upsert(
        self,
        conn: Conn,
        v: Violation,
        stage: LifecycleStage,
        now: dt.datetime,
        *,
        deployment: DeploymentRef | None = None,
        image_name: str = "",
    ) -> tuple[str, bool]:
        enforcement = _enforcement(v, stage)
        messages = _messages(v, now)
        if deployment is not None:
            target = (
                "(policy_id, deployment_id) WHERE state = 'ACTIVE' AND deployment_id IS NOT NULL"
            )
        else:
            target = (
                "(policy_id, image_name) WHERE state = 'ACTIVE' AND deployment_id IS NULL"
                " AND lifecycle_stage = 'BUILD'"
            )
        # RUNTIME alerts accumulate their newest messages; DEPLOY/BUILD show the current ones.
        merged = (
            "(SELECT coalesce(jsonb_agg(x), '[]'::jsonb) FROM (SELECT x FROM jsonb_array_elements("
            "alerts.violations || excluded.violations) AS x"
            f" ORDER BY x->>'time' DESC LIMIT {MAX_RUNTIME_MESSAGES}) s)"
            if stage is LifecycleStage.RUNTIME
            else "excluded.violations"
        )
        dep = deployment
        cur = await conn.execute(
            (
                "INSERT INTO alerts (id, policy_id, policy, policy_name, severity, categories,"
                " lifecycle_stage, state, cluster_id, cluster_name, namespace, deployment_id,"
                " deployment_name, image_name, violations, enforcement, enforcement_count,"
                " first_occurred, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 'ACTIVE', %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s, %s)"
                f" ON CONFLICT {target} DO UPDATE SET"
                " policy = excluded.policy, policy_name = excluded.policy_name,"
                " severity = excluded.severity, categories = excluded.categories,"
                f" violations = {merged}, enforcement = excluded.enforcement,"
                " enforcement_count = alerts.enforcement_count + excluded.enforcement_count,"
                " updated_at = excluded.updated_at"
                " RETURNING id, (xmax = 0) AS inserted"
            ).encode(),
            (
                uuid.uuid4(),
                v.policy.id,
                Jsonb(policy_to_json(v.policy)),
                v.policy.name,
                v.policy.severity.value,
                list(v.policy.categories),
                stage.value,
                uuid.UUID(dep.cluster_id) if dep else None,
                dep.cluster_name if dep else "",
                dep.namespace if dep else "",
                uuid.UUID(dep.id) if dep else None,
                dep.name if dep else "",
                image_name,
                Jsonb(messages),
                Jsonb(enforcement),
                1 if enforcement else 0,
                now,
                now,
            ),
        )
        row = await cur.fetchone()
        assert row is not None
        return str(row["id"]), bool(row["inserted"])

    async def deployment_removed(self, deployment_id: str) -> list[str]:
        now = _now()
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "UPDATE alerts SET state = 'RESOLVED', resolved_at = %s, updated_at = %s"
                " WHERE deployment_id = %s AND state = 'ACTIVE' RETURNING id",
                (now, now, uuid.UUID(deployment_id)),
            )
            return [str(r["id"]) for r in await cur.fetchall()]

    async def policy_withdrawn(self, policy_id: str) -> list[str]:
        """The policy was disabled or deleted: its active alerts are resolved."""
        now = _now()
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "UPDATE alerts SET state = 'RESOLVED', resolved_at = %s, updated_at = %s"
                " WHERE policy_id = %s AND state = 'ACTIVE' RETURNING id",
                (now, now, policy_id),
            )
            return [str(r["id"]) for r in await cur.fetchall()]

    async def get_row(self, alert_id: str) -> dict[str, Any]:
        try:
            key = uuid.UUID(alert_id)
        except ValueError as exc:
            raise NotFound(f"alert {alert_id!r} does not exist") from exc
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM alerts WHERE id = %s", (key,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"alert {alert_id!r} does not exist")
        return dict(row)

    async def resolve(self, alert_ids: list[str], resolution: str = "") -> int:
        """Resolve by a user; ``resolution`` says why (EXCLUDED: the policy now excludes it)."""
        now = _now()
        try:
            keys = [uuid.UUID(a) for a in alert_ids]
        except ValueError as exc:
            raise BadRequest("alert ids must be UUIDs") from exc
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "UPDATE alerts SET state = 'RESOLVED', resolved_at = %s, updated_at = %s,"
                " resolution = %s WHERE id = ANY(%s) AND state IN ('ACTIVE', 'ATTEMPTED')"
                " RETURNING id",
                (now, now, resolution, keys),
            )
            return len(await cur.fetchall())
