"""Central's periodic housekeeping: exception expiry and retention pruning.

One pass runs every ``maintenance_interval_seconds``; with several Central replicas only the
one holding a session advisory lock works, the others skip. Deletions go in small batches,
each its own short transaction, so pruning never holds locks the API waits on."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from stockade.central.db.database import Database
from stockade.central.errors import DatabaseUnavailable
from stockade.central.store.exceptions import ExceptionStore
from stockade.central.store.vuln_totals import image_change
from stockade.core.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

MAINTENANCE_LOCK_KEY = 0x73746B6D61696E74  # "stkmaint"
BATCH = 1000


@dataclass(frozen=True)
class Retention:
    resolved_alerts_days: int = 7  # resolved or attempted alerts older than this go
    unused_images_days: int = 7  # images no deployment uses, not updated for this long
    deleted_deployment_alerts_days: int = 7  # alerts of deployments that no longer exist


# Each job: a statement deleting at most one batch; repeated until it deletes nothing.
_JOBS = {
    "resolved_alerts": (
        "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts"
        " WHERE state IN ('RESOLVED', 'ATTEMPTED')"
        " AND updated_at < now() - make_interval(days => %(resolved)s) LIMIT %(batch)s)"
    ),
    "deleted_deployment_alerts": (
        "DELETE FROM alerts WHERE id IN (SELECT a.id FROM alerts a"
        " WHERE a.deployment_id IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM deployments d WHERE d.id = a.deployment_id)"
        " AND a.updated_at < now() - make_interval(days => %(deleted)s) LIMIT %(batch)s)"
    ),
    # buckets whose last image left; a scan refilling one meanwhile keeps it (the delete
    # re-checks a row it had to wait for)
    "empty_cve_buckets": "DELETE FROM cve_image_buckets WHERE images = 0",
    "orphaned_cves": (
        "DELETE FROM cves WHERE id IN (SELECT c.id FROM cves c"
        " WHERE NOT EXISTS (SELECT 1 FROM image_cves f WHERE f.cve_id = c.id) LIMIT %(batch)s)"
    ),
}


_UNUSED_IMAGES = (
    "SELECT i.id FROM images i"
    " WHERE NOT EXISTS (SELECT 1 FROM deployment_images di WHERE di.image_id = i.id)"
    " AND i.last_updated < now() - make_interval(days => %(images)s) LIMIT %(batch)s"
)


async def _prune_unused_images(db: Database, params: dict[str, int]) -> int:
    """Images go with their findings, so the vulnerability totals lose them in the same
    transaction; the delete re-checks the condition under the images' change locks."""
    total = 0
    while True:
        async with db.connection() as conn:
            ids = [r["id"] for r in await (await conn.execute(_UNUSED_IMAGES, params)).fetchall()]
            if not ids:
                break
            async with image_change(conn, ids):
                cur = await conn.execute(
                    "DELETE FROM images i WHERE i.id = ANY(%(ids)s)"
                    " AND NOT EXISTS (SELECT 1 FROM deployment_images di WHERE di.image_id = i.id)"
                    " AND i.last_updated < now() - make_interval(days => %(images)s)",
                    {**params, "ids": ids},
                )
            total += cur.rowcount
        if len(ids) < params["batch"]:
            break
    return total


async def prune(db: Database, retention: Retention, batch: int = BATCH) -> dict[str, int]:
    """Delete what retention allows; returns rows deleted per job."""
    params = {
        "resolved": retention.resolved_alerts_days,
        "deleted": retention.deleted_deployment_alerts_days,
        "images": retention.unused_images_days,
        "batch": batch,
    }
    counts: dict[str, int] = {"unused_images": await _prune_unused_images(db, params)}
    for name, statement in _JOBS.items():
        total = 0
        while True:
            async with db.connection() as conn:
                cur = await conn.execute(statement.encode(), params)
                total += cur.rowcount
            if cur.rowcount < batch:
                break
        counts[name] = total
    return counts


class Maintenance:
    def __init__(
        self,
        db: Database,
        exceptions: ExceptionStore,
        retention: Retention,
        interval_seconds: float,
    ) -> None:
        self.db = db
        self.exceptions = exceptions
        self.retention = retention
        self.interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> dict[str, int] | None:
        """One pass, if this replica gets the lock; None when another one is working."""
        async with self.db.try_advisory_lock(MAINTENANCE_LOCK_KEY) as taken:
            if not taken:
                return None
            counts = {"expired_exception_cves": await self.exceptions.expire_due()}
            counts.update(await prune(self.db, self.retention))
        if any(counts.values()):
            logger.info("maintenance pass", extra=counts)
        return counts

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except DatabaseUnavailable:
                logger.warning("maintenance skipped: Central DB unavailable")
            except Exception:
                logger.exception("maintenance pass failed")
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="central-maintenance")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
