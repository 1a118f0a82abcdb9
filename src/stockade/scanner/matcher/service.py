"""The MatcherService gRPC server (``proto/stockade/scanner/v1/matcher.proto``), asyncio API,
mutual TLS from Central's CA (see :mod:`stockade.scanner.grpc_server`).

The servicer holds a :class:`Matcher` built from the store's records and rebuilds it after
each update round that changed a source. Updates run on a schedule (:func:`run_updates`)
from an offline bundle file, from the sources' upstream feeds, or both; a failed source keeps
its previous data (the store's update is atomic per source) and is reported in GetMetadata.

With no vulnerability data at all the service still starts and answers: GetMetadata says
"no vulnerability data", every report's status is NO_VULNERABILITY_DATA, and the health
service reports :data:`DATA_HEALTH` as NOT_SERVING (the process itself, ``""``, and
MatcherService are SERVING: they answer).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2

from stockade.core.errors import StockadeError
from stockade.model.index_report import IndexReport
from stockade.scanner.grpc_server import DEFAULT_CLIENT_OUS, TLSFiles, start_server
from stockade.scanner.matcher.bundle import bundle_updaters
from stockade.scanner.matcher.match import Matcher
from stockade.scanner.matcher.sources import make_updater, names
from stockade.scanner.matcher.sources.base import Updater
from stockade.scanner.matcher.store import SourceState, UpdateRun, VulnerabilityStore
from stockade.scanner.v1 import matcher_pb2 as pb
from stockade.scanner.v1 import matcher_pb2_grpc as pb_grpc
from stockade.scanner.wire import (
    index_report_from_proto,
    source_state_to_proto,
    timestamp,
    vulnerability_report_to_proto,
)

logger = logging.getLogger(__name__)

SERVICE_NAME = "stockade.scanner.v1.MatcherService"
#: health-check service name that is SERVING only while vulnerability data is loaded
DATA_HEALTH = "stockade.scanner.v1.MatcherService/vulnerability-data"
NO_DATA = "no vulnerability data"


@dataclass(frozen=True)
class UpdatePlan:
    """Where the scheduled updates read from: a bundle file, the upstream feeds, or both."""

    bundle: Path | None = None
    feeds: bool = False
    interval: float = 4 * 3600.0

    def updaters(self) -> list[Updater]:
        out: list[Updater] = []
        if self.bundle is not None:
            out.extend(bundle_updaters(self.bundle))
        if self.feeds:
            out.extend(make_updater(n) for n in names() if n != "manual")
        return out


#: fetches a stored index report by manifest digest (None when there is none)
ReportFetcher = Callable[[str], Awaitable[IndexReport | None]]


class MatcherServicer(pb_grpc.MatcherServiceServicer):
    """``fetch_report`` lets a request name only the manifest digest: the report is then
    fetched from the Indexer (see :class:`stockade.scanner.remote.IndexerReports`)."""

    def __init__(
        self, store: VulnerabilityStore, fetch_report: ReportFetcher | None = None
    ) -> None:
        self.store = store
        self.fetch_report = fetch_report
        self.health = health.aio.HealthServicer()
        self._matcher = Matcher(())
        self._key: object = None
        # the sources the in-memory Matcher was built from: metadata describes what is served
        self._sources: list[SourceState] = []
        self.last_update: dt.datetime | None = None
        self.update_errors: tuple[str, ...] = ()
        self._refresh_lock = asyncio.Lock()

    @property
    def matcher(self) -> Matcher:
        return self._matcher

    def _rebuild(self) -> bool:
        sources = self.store.sources()
        key = tuple((s.name, s.fingerprint, s.record_count) for s in sources)
        if key == self._key:
            return False
        self._matcher = Matcher(self.store.records())
        self._key = key
        self._sources = sources
        return True

    async def refresh(self) -> None:
        """Rebuild the in-memory Matcher if the store changed, and publish health."""
        async with self._refresh_lock:
            if await asyncio.to_thread(self._rebuild):
                logger.info("vulnerability data: %d records", self._matcher.count)
            has_data = self._matcher.count > 0
            await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
            await self.health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
            await self.health.set(
                DATA_HEALTH,
                health_pb2.HealthCheckResponse.SERVING
                if has_data
                else health_pb2.HealthCheckResponse.NOT_SERVING,
            )

    async def update(self, updaters: Sequence[Updater]) -> list[UpdateRun]:
        """One update round: each source in turn (a failure does not stop the others). With no
        updaters it only picks up what another process wrote to the store."""
        if not updaters:
            await self.refresh()
            return []
        runs: list[UpdateRun] = []
        for updater in updaters:
            try:
                runs.append(await asyncio.to_thread(self.store.update, updater))
            except StockadeError as exc:  # the store records failed runs; this is a backstop
                logger.warning("update of %s failed: %s", updater.name, exc.message)
        self.update_errors = tuple(
            f"{r.source}: {r.error or 'update failed'}" for r in runs if r.status == "failed"
        )
        self.last_update = dt.datetime.now(dt.UTC)
        await self.refresh()
        return runs

    async def GetVulnerabilities(
        self, request: pb.GetVulnerabilitiesRequest, context: grpc.aio.ServicerContext
    ) -> pb.VulnerabilityReport:
        digest = request.manifest_digest
        if request.HasField("contents"):
            if digest and digest != request.contents.manifest_digest:
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "The manifest digest does not match the index report's.",
                )
            report = index_report_from_proto(request.contents)
        else:
            report = await self._fetch(digest, context)
        result = await asyncio.to_thread(self._matcher.match, report)
        return vulnerability_report_to_proto(result)

    async def _fetch(self, digest: str, context: grpc.aio.ServicerContext) -> IndexReport:
        if not digest:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "The request names no index report."
            )
        if self.fetch_report is None:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "The request carries no index report and this Matcher has no Indexer to ask.",
            )
        assert self.fetch_report is not None
        try:
            report = await self.fetch_report(digest)
        except StockadeError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, exc.message)
        if report is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"The Indexer has no index report for {digest[:80]}."
            )
        assert report is not None
        return report

    async def GetMetadata(
        self, request: pb.GetMetadataRequest, context: grpc.aio.ServicerContext
    ) -> pb.Metadata:
        # what the in-memory Matcher holds, not the store (which may be ahead until the next
        # refresh): a client that sees new fingerprints can re-match and get the new results
        sources = self._sources
        count = self._matcher.count
        msg = pb.Metadata(
            has_vulnerability_data=count > 0,
            status_message=NO_DATA
            if count == 0
            else f"{count} vulnerability records from {len(sources)} sources",
            record_count=count,
            sources=[source_state_to_proto(s) for s in sources],
            update_errors=list(self.update_errors),
        )
        if self.last_update is not None:
            msg.last_update.CopyFrom(timestamp(self.last_update))
        return msg


async def run_updates(
    servicer: MatcherServicer,
    plan: UpdatePlan,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rounds: int | None = None,
) -> None:
    """Update from ``plan`` now and then every ``plan.interval`` seconds (``rounds`` bounds the
    loop for tests). A round that cannot even start (unreadable bundle) is logged and retried
    at the next interval; the service keeps answering from the data it has."""
    done = 0
    while rounds is None or done < rounds:
        try:
            updaters = await asyncio.to_thread(plan.updaters)
            await servicer.update(updaters)
        except StockadeError as exc:
            servicer.update_errors = (exc.message,)
            logger.warning("vulnerability update round failed: %s", exc.message)
        done += 1
        if rounds is not None and done >= rounds:
            break
        await sleep(plan.interval)


async def start_matcher(
    servicer: MatcherServicer,
    listen: str,
    tls: TLSFiles | None,
    *,
    client_ous: frozenset[str] = DEFAULT_CLIENT_OUS,
) -> tuple[grpc.aio.Server, int]:
    """Load what the store holds, then serve MatcherService and health on ``listen``."""
    await servicer.refresh()
    return await start_server(
        lambda server: pb_grpc.add_MatcherServiceServicer_to_server(servicer, server),  # type: ignore[no-untyped-call]
        listen,
        tls,
        name="MatcherService",
        client_ous=client_ous,
        health_servicer=servicer.health,
    )
