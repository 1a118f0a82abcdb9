"""Report configurations and report jobs in Central DB."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from stockade.central.db.database import Conn, Database
from stockade.central.errors import Conflict, NotFound
from stockade.central.reports.collection_store import as_uuid, ts
from stockade.central.reports.configs import ReportConfig, config_json, parse_config
from stockade.central.reports.errors import InvalidReport
from stockade.central.reports.schedule import next_run

logger = logging.getLogger(__name__)

JOB_STATES = ("WAITING", "PREPARING", "GENERATED", "DELIVERED", "FAILURE")
_JOB_COLUMNS = (
    "id, config_id, kind, method, state, requester, created_at, started_at, data_as_of,"
    " completed_at, error, attempts, next_attempt_at, row_count, content_size, delivered_to"
)


def job_json(r: dict[str, Any]) -> dict[str, Any]:
    """The product's ReportStatus, plus Stockade's counts."""
    return {
        "runState": r["state"],
        "completedAt": ts(r["completed_at"]),
        "errorMsg": r["error"],
        "reportRequestType": r["kind"],
        "reportNotificationMethod": r["method"],
        "createdAt": ts(r["created_at"]),
        "rows": r["row_count"],
        "size": r["content_size"],
        "attempts": r["attempts"],
        "nextAttemptAt": ts(r["next_attempt_at"]),
    }


class ReportStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- report configurations

    async def _check_refs(self, conn: Conn, cfg: ReportConfig) -> None:
        try:
            cid = uuid.UUID(cfg.collection_id)
        except ValueError:
            cid = None
        row = None
        if cid is not None:
            cur = await conn.execute("SELECT 1 FROM collections WHERE id = %s", (cid,))
            row = await cur.fetchone()
        if row is None:
            raise InvalidReport(
                "resourceScope.collectionScope.collectionId",
                f"collection {cfg.collection_id!r} does not exist",
            )
        for i, e in enumerate(cfg.emails):
            cur = await conn.execute("SELECT type FROM notifiers WHERE id = %s", (e.notifier_id,))
            n = await cur.fetchone()
            where = f"notifiers[{i}].emailConfig.notifierId"
            if n is None:
                raise InvalidReport(where, f"notifier {e.notifier_id!r} does not exist")
            if n["type"] != "email":
                raise InvalidReport(where, f"notifier {e.notifier_id!r} is not an email notifier")

    @staticmethod
    def _config_json(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(r["id"]),
            **r["doc"],
            "nextRunAt": ts(r["next_run_at"]),
            "lastSentAt": ts(r["last_sent_at"]),
        }

    async def save_config(
        self, doc: Any, principal: str, config_id: str | None = None
    ) -> dict[str, Any]:
        cfg = parse_config(doc)
        now = dt.datetime.now(dt.UTC)
        due = next_run(cfg.schedule, now) if cfg.schedule else None
        stored = Jsonb(config_json(cfg))
        try:
            async with self.db.connection() as conn:
                await self._check_refs(conn, cfg)
                if config_id is None:
                    cur = await conn.execute(
                        "INSERT INTO report_configs (id, name, collection_id, doc, next_run_at,"
                        " created_by) VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
                        (uuid.uuid4(), cfg.name, cfg.collection_id, stored, due, principal),
                    )
                else:
                    cur = await conn.execute(
                        "UPDATE report_configs SET name = %s, collection_id = %s, doc = %s,"
                        " next_run_at = %s, updated_at = now() WHERE id = %s RETURNING *",
                        (
                            cfg.name,
                            cfg.collection_id,
                            stored,
                            due,
                            as_uuid(config_id, "report configuration"),
                        ),
                    )
                row = await cur.fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"a report configuration named {cfg.name!r} already exists") from exc
        if row is None:
            raise NotFound(f"report configuration {config_id!r} does not exist")
        return self._config_json(row)

    async def config_row(self, config_id: str) -> dict[str, Any]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM report_configs WHERE id = %s",
                (as_uuid(config_id, "report configuration"),),
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"report configuration {config_id!r} does not exist")
        return dict(row)

    async def get_config(self, config_id: str) -> dict[str, Any]:
        return self._config_json(await self.config_row(config_id))

    async def list_configs(self) -> list[dict[str, Any]]:
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM report_configs ORDER BY name")
            return [self._config_json(r) for r in await cur.fetchall()]

    async def delete_config(self, config_id: str) -> None:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM report_configs WHERE id = %s",
                (as_uuid(config_id, "report configuration"),),
            )
        if cur.rowcount == 0:
            raise NotFound(f"report configuration {config_id!r} does not exist")

    # --- jobs

    async def create_job(self, config_id: str, kind: str, method: str, requester: str) -> str:
        job_id = uuid.uuid4()
        await self.config_row(config_id)
        async with self.db.connection() as conn:
            await conn.execute(
                "INSERT INTO report_jobs (id, config_id, kind, method, requester)"
                " VALUES (%s, %s, %s, %s, %s)",
                (job_id, uuid.UUID(config_id), kind, method, requester),
            )
        return str(job_id)

    async def schedule_due(self, now: dt.datetime) -> int:
        """One SCHEDULED job for each configuration whose run is due; its next run is
        computed from now, so runs missed while Central was down become one catch-up run.
        Row locks (SKIP LOCKED) let one replica do each."""
        created = 0
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT id, doc, created_by FROM report_configs"
                " WHERE next_run_at <= %s FOR UPDATE SKIP LOCKED",
                (now,),
            )
            for r in await cur.fetchall():
                cfg = parse_config(r["doc"])
                due = next_run(cfg.schedule, now) if cfg.schedule else None
                await conn.execute(
                    "UPDATE report_configs SET next_run_at = %s WHERE id = %s", (due, r["id"])
                )
                await conn.execute(
                    "INSERT INTO report_jobs (id, config_id, kind, method, requester)"
                    " VALUES (%s, %s, 'SCHEDULED', 'EMAIL', %s)",
                    (uuid.uuid4(), r["id"], r["created_by"]),
                )
                created += 1
        return created

    async def claim(
        self, lease_seconds: float, max_attempts: int, skip: list[uuid.UUID]
    ) -> dict[str, Any] | None:
        """A job to work on, leased to this replica: waiting, a failed delivery due for a
        retry, or one whose lease ran out (its replica stopped); not one in ``skip`` (those
        this tick already tried)."""
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "UPDATE report_jobs SET lease_until = now() + make_interval(secs => %s),"
                " started_at = coalesce(started_at, now()),"
                " state = CASE WHEN state = 'WAITING' THEN 'PREPARING' ELSE state END"
                " WHERE id = (SELECT id FROM report_jobs"
                "   WHERE (state = 'WAITING'"
                "      OR (state = 'FAILURE' AND next_attempt_at <= now() AND attempts < %s)"
                "      OR (state = 'PREPARING' AND lease_until < now()))"
                "     AND (lease_until IS NULL OR lease_until < now()) AND id <> ALL(%s)"
                "   ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
                " RETURNING id, config_id, kind, method, state, requester, attempts,"
                " content IS NOT NULL AS has_content, data_as_of",
                (lease_seconds, max_attempts, skip),
            )
            row = await cur.fetchone()
        return dict(row) if row else None

    async def store_content(
        self, job_id: str, content: bytes, rows: int, data_as_of: dt.datetime
    ) -> None:
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE report_jobs SET content = %s, content_size = %s, row_count = %s,"
                " data_as_of = %s WHERE id = %s",
                (content, len(content), rows, data_as_of, job_id),
            )

    async def content(self, job_id: str) -> bytes:
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT content FROM report_jobs WHERE id = %s", (job_id,))
            row = await cur.fetchone()
        if row is None or row["content"] is None:
            raise NotFound(f"report job {job_id!r} has no report")
        return bytes(row["content"])

    async def delivered_to(self, job_id: str, target: str) -> None:
        """One email target accepted the report: a retry of the job skips it."""
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE report_jobs SET delivered_to = array_append(delivered_to, %s)"
                " WHERE id = %s AND NOT (%s = ANY(delivered_to))",
                (target, job_id, target),
            )

    async def finish(self, job_id: str, state: str, *, last_sent_of: str | None = None) -> None:
        """GENERATED or DELIVERED; a delivered scheduled report moves its configuration's
        ``last_sent_at`` to the report's data cut, which SINCE_LAST_SENT reads from. A
        delivered report's zip is dropped: only downloads need it kept."""
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "UPDATE report_jobs SET state = %s, completed_at = now(), error = '',"
                " content = CASE WHEN %s = 'DELIVERED' THEN NULL ELSE content END,"
                " next_attempt_at = NULL, lease_until = NULL,"
                " attempts = attempts + CASE WHEN %s = 'DELIVERED' THEN 1 ELSE 0 END"
                " WHERE id = %s RETURNING data_as_of",
                (state, state, state, job_id),
            )
            row = await cur.fetchone()
            if last_sent_of is not None and row is not None:
                await conn.execute(
                    "UPDATE report_configs SET last_sent_at = greatest(last_sent_at, %s)"
                    " WHERE id = %s",
                    (row["data_as_of"], last_sent_of),
                )

    async def fail(self, job_id: str, reason: str, *, retry: bool, delivery: bool) -> None:
        """FAILURE with its reason; ``retry``: claimable again from the next tick on."""
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE report_jobs SET state = 'FAILURE', error = %s, completed_at = now(),"
                " next_attempt_at = CASE WHEN %s THEN now() END, lease_until = NULL,"
                " attempts = attempts + CASE WHEN %s THEN 1 ELSE 0 END WHERE id = %s",
                (reason, retry, delivery, job_id),
            )

    async def job(self, job_id: str) -> dict[str, Any]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM report_jobs WHERE id = %s",
                (as_uuid(job_id, "report job"),),
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"report job {job_id!r} does not exist")
        return dict(row)

    async def history(self, config_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM report_jobs WHERE config_id = %s"
                " ORDER BY created_at DESC, id LIMIT %s OFFSET %s",
                (as_uuid(config_id, "report configuration"), limit, offset),
            )
            return [dict(r) for r in await cur.fetchall()]

    async def cancel(self, job_id: str) -> None:
        """Only a job no replica has started can be cancelled; it is removed."""
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM report_jobs WHERE id = %s AND state = 'WAITING'"
                " AND lease_until IS NULL RETURNING id",
                (as_uuid(job_id, "report job"),),
            )
            if await cur.fetchone() is None:
                raise Conflict(
                    f"report job {job_id!r} is not waiting; only a waiting job can be cancelled"
                )

    async def delete_job(self, job_id: str) -> None:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM report_jobs WHERE id = %s"
                " AND state IN ('GENERATED', 'DELIVERED', 'FAILURE') RETURNING id",
                (as_uuid(job_id, "report job"),),
            )
            if await cur.fetchone() is None:
                raise Conflict(f"report job {job_id!r} is still running or does not exist")

    async def prune(self, keep_days: float) -> int:
        """Finished jobs older than the retention go (their reports with them)."""
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM report_jobs WHERE completed_at < now() - make_interval(secs => %s)"
                " AND (state <> 'FAILURE' OR next_attempt_at IS NULL)",
                (keep_days * 86400.0,),
            )
        return cur.rowcount
