"""The notification queue in Central DB and the worker that empties it.

Callers (alert handling) call :meth:`NotificationService.enqueue` — one INSERT, inside their
own transaction if they pass its connection — and never wait for delivery. One row per
(notifier, event key): enqueueing the same event again adds nothing.

The worker, an asyncio task of each Central replica:

1. claims up to ``batch_size`` due PENDING rows with ``FOR UPDATE SKIP LOCKED`` and moves
   their ``next_attempt_at`` past the longest a delivery may take (a lease), then commits —
   so replicas never claim the same row, and no lock or pooled connection is held while a
   slow receiver is being talked to;
2. delivers the claimed rows concurrently;
3. marks each row DELIVERED once the receiver acknowledged it (HTTP 2xx, SMTP 250, syslog
   frame written and drained), or reschedules it with exponential backoff and jitter, or
   marks it FAILED when the failure is permanent or the attempts are used up.

Delivery is at least once: a crash after the receiver's acknowledgement and before the row
is marked sends that notification again when the lease runs out. Receivers can drop such
a repeat by the idempotency key (``Idempotency-Key`` header, syslog structured data,
email Message-ID, Splunk field), which is the row's id. Rows survive restarts: a Central
stopping cleanly hands back the rows it had claimed, so the next one picks them up at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Histogram
from psycopg.types.json import Jsonb

from stockade.central.db.database import Conn, Database
from stockade.central.errors import CentralError
from stockade.central.notifiers import alerts, documents, render
from stockade.central.notifiers.base import (
    AlertPayload,
    DeliveryFailed,
    DeliveryOptions,
    InvalidNotifier,
    Notification,
)
from stockade.central.notifiers.store import NotifierStore, SecretsUnreadable, StoredNotifier
from stockade.core.redact import redact
from stockade.core.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

STATES = ("PENDING", "DELIVERED", "FAILED")

ATTEMPTS = Counter(
    "stockade_notification_attempts_total",
    "Notification delivery attempts by notifier type and result (delivered, retry, failed)",
    ["type", "result"],
)
SEND_SECONDS = Histogram(
    "stockade_notification_send_seconds",
    "Time to deliver one notification (successful attempts)",
    ["type"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


@dataclass(frozen=True)
class QueueSettings:
    poll_seconds: float = 2.0
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 900.0
    max_attempts: int = 40  # with the defaults: about 9 hours of retrying
    timeout_seconds: float = 10.0
    batch_size: int = 20
    keep_delivered_days: float = 7.0
    prune_every_seconds: float = 3600.0

    @property
    def hard_cap(self) -> float:
        """The longest one delivery may take (each protocol step has ``timeout_seconds``)."""
        return self.timeout_seconds * 3

    @property
    def lease_seconds(self) -> float:
        return self.hard_cap + 30.0


def backoff(attempts: int, settings: QueueSettings) -> float:
    """Delay before the next attempt after ``attempts`` failed ones: exponential, capped,
    with equal jitter (half fixed, half random) so receivers coming back are not hit by
    every replica's retries at the same instant."""
    delay = min(
        settings.retry_max_seconds, settings.retry_base_seconds * 2.0 ** max(0, attempts - 1)
    )
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311  (jitter, not a secret)


@dataclass(frozen=True)
class Claimed:
    id: str
    notifier_id: str
    event_key: str
    payload: AlertPayload
    attempts: int


@dataclass(frozen=True)
class Delivery:
    """One queue row as the API shows it."""

    id: str
    notifier_id: str
    event_key: str
    state: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    delivered_at: dt.datetime | None
    last_error: str

    def to_json(self) -> dict[str, Any]:
        def ts(v: dt.datetime | None) -> str | None:
            return v.isoformat().replace("+00:00", "Z") if v else None

        return {
            "id": self.id,
            "notifierId": self.notifier_id,
            "eventKey": self.event_key,
            "state": self.state,
            "attempts": self.attempts,
            "createdAt": ts(self.created_at),
            "nextAttemptAt": ts(self.next_attempt_at) if self.state == "PENDING" else None,
            "deliveredAt": ts(self.delivered_at),
            "lastError": self.last_error,
        }


class NotificationService:
    """The public entry point (``central.notifications``) and the delivery worker."""

    def __init__(self, db: Database, store: NotifierStore, settings: QueueSettings) -> None:
        self.db = db
        self.store = store
        self.settings = settings
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[str] = set()
        self._last_prune = 0.0
        self._db_down = False

    # --- for callers

    async def enqueue(
        self,
        notifier_ids: Sequence[str],
        event_key: str,
        payload: AlertPayload,
        *,
        conn: Conn | None = None,
    ) -> int:
        """Queue ``payload`` for each notifier once per ``event_key``; returns how many rows
        were added (unknown notifiers and repeats add none). Pass ``conn`` to enqueue inside
        your own transaction: the notifications exist exactly when your change commits."""
        ids = list(dict.fromkeys(notifier_ids))
        if not ids:
            return 0
        sql = (
            "INSERT INTO notification_queue (id, notifier_id, event_key, payload)"
            " SELECT gen_random_uuid(), n.id, %s, %s FROM notifiers n WHERE n.id = ANY(%s)"
            " ON CONFLICT (notifier_id, event_key) DO NOTHING"
        )
        args = (event_key, Jsonb(payload), ids)
        if conn is not None:
            cur = await conn.execute(sql, args)
            added = cur.rowcount
        else:
            async with self.db.connection() as own:
                cur = await own.execute(sql, args)
                added = cur.rowcount
            self.wake()
        return max(0, added)

    async def notify_alerts(self, alert_ids: Sequence[str], *, conn: Conn | None = None) -> int:
        """Queue each alert for the notifiers its policy names (once per alert: a new alert
        notifies, updates to it do not — the product's behaviour). Returns rows added."""
        if not alert_ids:
            return 0
        ids = [str(i) for i in alert_ids]
        if conn is not None:
            found = await alerts.load(conn, ids)
        else:
            async with self.db.connection() as own:
                found = await alerts.load(own, ids)
        added = 0
        for notifier_ids, alert in found:
            added += await self.enqueue(notifier_ids, f"alert:{alert['id']}", alert, conn=conn)
        return added

    def wake(self) -> None:
        """Look for due notifications now rather than at the next poll."""
        self._wake.set()

    async def test(self, doc: Any, notifier_id: str = "") -> None:
        """Send a test notification with ``doc`` (secrets in clear) now; raise
        InvalidNotifier or DeliveryFailed."""
        parsed = documents.parse(
            doc, notifier_id or str(uuid.uuid4()), allow_local=self.store.allow_local
        )
        note = Notification(render.test_alert(), str(uuid.uuid4()), is_test=True)
        try:
            await self._send(parsed, note)
        except DeliveryFailed as exc:
            logger.info(
                "notifier test failed",
                extra={
                    "notifier": parsed.common.name,
                    "type": parsed.common.type,
                    "error": exc.message,
                },
            )
            raise DeliveryFailed(
                f"testing notifier {parsed.common.name!r} failed: {exc.message}",
                retryable=exc.retryable,
            ) from exc

    async def deliveries(
        self, notifier_id: str, state: str | None = None, limit: int = 100
    ) -> tuple[dict[str, int], list[Delivery]]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT state, count(*) AS n FROM notification_queue WHERE notifier_id = %s"
                " GROUP BY state",
                (notifier_id,),
            )
            counts = {s.lower(): 0 for s in STATES}
            for r in await cur.fetchall():
                counts[r["state"].lower()] = r["n"]
            cur = await conn.execute(
                "SELECT * FROM notification_queue WHERE notifier_id = %s"
                " AND (%s::text IS NULL OR state = %s) ORDER BY created_at DESC LIMIT %s",
                (notifier_id, state, state, limit),
            )
            rows = await cur.fetchall()
        return counts, [
            Delivery(
                str(r["id"]),
                r["notifier_id"],
                r["event_key"],
                r["state"],
                r["attempts"],
                r["created_at"],
                r["next_attempt_at"],
                r["delivered_at"],
                r["last_error"],
            )
            for r in rows
        ]

    async def retry_failed(self, notifier_id: str) -> int:
        """Put a notifier's FAILED notifications back in the queue with fresh attempts."""
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "UPDATE notification_queue SET state = 'PENDING', attempts = 0,"
                " next_attempt_at = now() WHERE notifier_id = %s AND state = 'FAILED'",
                (notifier_id,),
            )
            n = cur.rowcount
        self.wake()
        return max(0, n)

    # --- the worker

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="notification-worker")

    async def stop(self, grace: float = 5.0) -> None:
        """Let the current deliveries finish (up to ``grace`` seconds), then hand back any
        claimed row still unfinished so the next Central sends it at once."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            await cancel_and_wait(task)
        if self._inflight:
            left = list(self._inflight)
            self._inflight.clear()
            try:
                async with self.db.connection() as conn:
                    await conn.execute(
                        "UPDATE notification_queue SET next_attempt_at = now()"
                        " WHERE id = ANY(%s) AND state = 'PENDING'",
                        (left,),
                    )
            except CentralError:
                logger.warning("could not hand back claimed notifications; their lease ends them")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            busy = False
            try:
                busy = await self.run_once() >= self.settings.batch_size
                if loop.time() - self._last_prune > self.settings.prune_every_seconds:
                    self._last_prune = loop.time()
                    await self._prune()
                if self._db_down:
                    self._db_down = False
                    logger.info("notification worker: Central DB reachable again")
            except CentralError as exc:
                if not self._db_down:  # once per outage, not once per poll
                    logger.warning("notification worker paused: %s", exc.message)
                self._db_down = True
            except Exception:
                logger.exception("notification worker: unexpected error; continuing")
            if busy or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)
            self._wake.clear()

    async def run_once(self) -> int:
        """Claim due rows and deliver them; returns how many were claimed."""
        claimed = await self._claim()
        if not claimed:
            return 0
        notifiers = await self.store.for_delivery(sorted({c.notifier_id for c in claimed}))
        await asyncio.gather(*(self._deliver(c, notifiers.get(c.notifier_id)) for c in claimed))
        return len(claimed)

    async def _claim(self) -> list[Claimed]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "WITH due AS ("
                "  SELECT id FROM notification_queue"
                "  WHERE state = 'PENDING' AND next_attempt_at <= now()"
                "  ORDER BY next_attempt_at, created_at LIMIT %s FOR UPDATE SKIP LOCKED)"
                " UPDATE notification_queue q"
                " SET next_attempt_at = now() + make_interval(secs => %s)"
                " FROM due WHERE q.id = due.id"
                " RETURNING q.id, q.notifier_id, q.event_key, q.payload, q.attempts",
                (self.settings.batch_size, self.settings.lease_seconds),
            )
            rows = await cur.fetchall()
        claimed = [
            Claimed(str(r["id"]), r["notifier_id"], r["event_key"], r["payload"], r["attempts"])
            for r in rows
        ]
        self._inflight.update(c.id for c in claimed)
        return claimed

    async def _send(self, parsed: documents.Parsed, note: Notification) -> None:
        options = DeliveryOptions(
            timeout=self.settings.timeout_seconds,
            allow_local_endpoints=self.store.allow_local,
        )
        try:
            await asyncio.wait_for(
                parsed.plugin.send(parsed.config, note, options), self.settings.hard_cap
            )
        except TimeoutError as exc:
            raise DeliveryFailed(f"delivery took longer than {self.settings.hard_cap:g} s") from exc

    async def _deliver(
        self, row: Claimed, notifier: StoredNotifier | SecretsUnreadable | None
    ) -> None:
        if notifier is None:  # deleted meanwhile; its rows went with it
            self._inflight.discard(row.id)
            return
        if isinstance(notifier, SecretsUnreadable):
            await self._record_unreadable(row, notifier)
            return
        error: DeliveryFailed | None = None
        started = asyncio.get_running_loop().time()
        try:
            parsed = notifier.parsed()
            await self._send(parsed, Notification(row.payload, row.id))
            SEND_SECONDS.labels(notifier.type).observe(asyncio.get_running_loop().time() - started)
        except InvalidNotifier as exc:
            error = DeliveryFailed(
                f"the stored configuration is invalid: {exc.message}", retryable=False
            )
        except DeliveryFailed as exc:
            error = exc
        except Exception as exc:
            logger.exception("notifier raised an unexpected error", extra={"notifier": notifier.id})
            error = DeliveryFailed(f"unexpected error ({type(exc).__name__})")
        await self._record(row, notifier, error)

    async def _record(
        self, row: Claimed, notifier: StoredNotifier, error: DeliveryFailed | None
    ) -> None:
        attempts = row.attempts + 1
        async with self.db.connection() as conn:
            if error is None:
                ATTEMPTS.labels(notifier.type, "delivered").inc()
                await conn.execute(
                    "UPDATE notification_queue SET state = 'DELIVERED', delivered_at = now(),"
                    " attempts = %s, last_error = '' WHERE id = %s",
                    (attempts, row.id),
                )
            else:
                message = redact(error.message)[:1000]
                final = not error.retryable or attempts >= self.settings.max_attempts
                delay = 0.0 if final else backoff(attempts, self.settings)
                ATTEMPTS.labels(notifier.type, "failed" if final else "retry").inc()
                await conn.execute(
                    "UPDATE notification_queue SET attempts = %s, last_error = %s,"
                    " state = %s, next_attempt_at = now() + make_interval(secs => %s)"
                    " WHERE id = %s",
                    (attempts, message, "FAILED" if final else "PENDING", delay, row.id),
                )
                log = logger.error if final else logger.warning
                log(
                    "notification %s",
                    "failed for good" if final else "not delivered; will retry",
                    extra={
                        "notifier": notifier.name,
                        "type": notifier.type,
                        "notification": row.id,
                        "attempt": attempts,
                        "error": message,
                        **({} if final else {"retry_in_s": round(delay, 1)}),
                    },
                )
            await conn.execute(
                "UPDATE notifiers SET health_status = %s, health_error = %s, health_at = now()"
                " WHERE id = %s",
                (
                    "HEALTHY" if error is None else "UNHEALTHY",
                    "" if error is None else redact(error.message)[:1000],
                    notifier.id,
                ),
            )
        self._inflight.discard(row.id)

    async def _record_unreadable(self, row: Claimed, exc: SecretsUnreadable) -> None:
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE notification_queue SET attempts = attempts + 1, state = 'FAILED',"
                " last_error = %s WHERE id = %s",
                (exc.message, row.id),
            )
        logger.error(
            "notification failed for good", extra={"notification": row.id, "error": exc.message}
        )
        self._inflight.discard(row.id)

    async def _prune(self) -> None:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM notification_queue WHERE state = 'DELIVERED'"
                " AND delivered_at < now() - make_interval(secs => %s)",
                (self.settings.keep_delivered_days * 86400,),
            )
            if cur.rowcount:
                logger.info("pruned delivered notifications", extra={"rows": cur.rowcount})
