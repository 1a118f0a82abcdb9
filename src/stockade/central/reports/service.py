"""Central's report worker: turns due schedules into jobs, runs jobs, mails reports.

Every ``tick_seconds`` (or at once when an on-demand run is queued) each replica:

1. creates a SCHEDULED job for each configuration whose ``next_run_at`` has passed and
   moves ``next_run_at`` to the following run (rows locked with SKIP LOCKED, so one replica
   does each; the time lives in Central DB, so a restart neither loses nor repeats a run);
2. claims jobs one at a time with a lease (SKIP LOCKED): generates the report once (kept
   with the job), then marks a DOWNLOAD job GENERATED or mails an EMAIL job's zip through
   each configured email notifier. A refused or failed delivery marks the job FAILURE with
   the reason; a retryable one is claimed again on the next tick (up to ``max_attempts``)
   without generating the report again.

A scheduled report that was delivered moves its configuration's ``last_sent_at`` to the
time its rows were read, which SINCE_LAST_SENT reports start from: findings first seen
between that read and the delivery are in the next report, not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stockade.central.db.database import Database
from stockade.central.errors import DatabaseUnavailable, NotFound
from stockade.central.notifiers import mail
from stockade.central.notifiers.base import DeliveryFailed, DeliveryOptions, InvalidNotifier
from stockade.central.notifiers.store import NotifierStore, SecretsUnreadable
from stockade.central.reports.collection_store import CollectionStore
from stockade.central.reports.configs import EmailTarget, ReportConfig, parse_config
from stockade.central.reports.csvreport import generate
from stockade.central.reports.errors import ReportFailed
from stockade.central.reports.store import ReportStore
from stockade.core.tasks import cancel_and_wait

logger = logging.getLogger(__name__)
MAX_JOBS_PER_TICK = 50
LEASE_SECONDS = 1800.0


@dataclass(frozen=True)
class ReportSettings:
    tick_seconds: float = 60.0
    max_bytes: int = 25 * 1024 * 1024  # the zip; many mail servers refuse larger mails
    keep_days: float = 30.0
    max_attempts: int = 24
    smtp_timeout_seconds: float = 30.0


def report_name(cfg_name: str, as_of: dt.datetime) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", cfg_name).strip("_") or "report"
    return f"Stockade_Vulnerability_Report_{safe}_{as_of:%Y-%m-%d}"


class ReportService:
    def __init__(
        self,
        db: Database,
        notifiers: NotifierStore,
        settings: ReportSettings,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.db = db
        self.store = ReportStore(db)
        self.collections = CollectionStore(db)
        self.notifiers = notifiers
        self.settings = settings
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def tick(self) -> int:
        """Schedule what is due and run claimable jobs; returns how many jobs ran."""
        await self.store.schedule_due(self.clock())
        tried: list[uuid.UUID] = []
        while len(tried) < MAX_JOBS_PER_TICK:
            job = await self.store.claim(LEASE_SECONDS, self.settings.max_attempts, tried)
            if job is None:
                break
            tried.append(job["id"])
            await self._run(job)
        await self.store.prune(self.settings.keep_days)
        return len(tried)

    async def _run(self, job: dict[str, Any]) -> None:
        job_id = str(job["id"])
        try:
            row = await self.store.config_row(str(job["config_id"]))
        except NotFound:
            return  # deleted meanwhile; its jobs went with it
        cfg = parse_config(row["doc"])
        try:
            if not job["has_content"]:
                selectors = await self.collections.selectors_of(cfg.collection_id)
                as_of = self.clock()
                report = await generate(
                    self.db,
                    cfg,
                    selectors,
                    last_sent_at=row["last_sent_at"],
                    max_bytes=self.settings.max_bytes,
                    name=report_name(cfg.name, as_of),
                    as_of=as_of,
                )
                await self.store.store_content(
                    job_id, report.content, report.rows, report.data_as_of
                )
            if job["method"] == "DOWNLOAD":
                await self.store.finish(job_id, "GENERATED")
                return
            await self._mail(job_id, cfg)
        except ReportFailed as exc:
            retry = exc.retryable and job["attempts"] + 1 < self.settings.max_attempts
            await self.store.fail(job_id, exc.message, retry=retry, delivery=True)
            logger.warning("report run failed", extra={"job": job_id, "reason": exc.message})
            return
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            logger.exception("report run raised an unexpected error", extra={"job": job_id})
            reason = f"unexpected error ({type(exc).__name__})"
            await self.store.fail(job_id, reason, retry=False, delivery=False)
            return
        scheduled = job["kind"] == "SCHEDULED"
        await self.store.finish(
            job_id, "DELIVERED", last_sent_of=str(job["config_id"]) if scheduled else None
        )

    async def _mail(self, job_id: str, cfg: ReportConfig) -> None:
        job = await self.store.job(job_id)
        content = await self.store.content(job_id)
        name = report_name(cfg.name, job["data_as_of"])
        found = await self.notifiers.for_delivery([e.notifier_id for e in cfg.emails])
        for i, target in enumerate(cfg.emails):
            key = f"{job_id}.{i}"
            if key in job["delivered_to"]:  # accepted on an earlier attempt
                continue
            notifier = found.get(target.notifier_id)
            if notifier is None:
                raise ReportFailed(
                    f"notifier {target.notifier_id!r} no longer exists", retryable=False
                )
            if isinstance(notifier, SecretsUnreadable):
                raise ReportFailed(notifier.message, retryable=False)
            try:
                config = notifier.parsed().config
            except InvalidNotifier as exc:
                raise ReportFailed(
                    f"notifier {notifier.name!r} is invalid: {exc.message}", retryable=False
                ) from exc
            if not isinstance(config, mail.EmailConfig):
                raise ReportFailed(
                    f"notifier {notifier.name!r} is not an email notifier", retryable=False
                )
            await self._send(config, target, cfg, job, (f"{name}.zip", content), key)
            await self.store.delivered_to(job_id, key)

    async def _send(
        self,
        config: mail.EmailConfig,
        target: EmailTarget,
        cfg: ReportConfig,
        job: dict[str, Any],
        attachment: tuple[str, bytes],
        key: str,
    ) -> None:
        recipients = list(target.recipients) or [config.common.label_default]
        subject = target.subject or f"Stockade vulnerability report: {cfg.name}"
        body = target.body or (
            f"The vulnerability report {cfg.name!r} is attached: {job['row_count']} findings,"
            f" data as of {job['data_as_of']:%Y-%m-%d %H:%M} UTC."
        )
        message = mail.build_report_message(config, recipients, subject, body, attachment, key)
        timeout = self.settings.smtp_timeout_seconds
        try:
            await asyncio.wait_for(
                mail.deliver(config, message, recipients, DeliveryOptions(timeout=timeout)),
                timeout * 3,
            )
        except TimeoutError as exc:
            raise ReportFailed(
                f"{config.host}:{config.port} took longer than {timeout * 3:g} s"
            ) from exc
        except DeliveryFailed as exc:
            raise ReportFailed(
                f"email through notifier {config.common.name!r} failed: {exc.message}",
                retryable=exc.retryable,
            ) from exc

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except DatabaseUnavailable:
                logger.warning("report tick skipped: Central DB unavailable")
            except Exception:
                logger.exception("report tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.tick_seconds)
            self._wake.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="central-reports")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
