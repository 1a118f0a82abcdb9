"""Image scanning inside Central: Indexer → Matcher → Central's image store → build-stage
policies → alerts.

In the single-machine mode the Indexer and Matcher run in this process (their blocking work in
worker threads) on the scanner tables of Central's database. Concurrent scans of one image
share one run. A failed scan records its reason on the image and stores no partial result.

The scanner sits behind :class:`ScannerBackend`: :class:`LocalScanner` in this process, or
``RemoteScanner`` (``stockade.scanner.remote``) when the Indexer and Matcher run apart over
gRPC with mutual TLS (:func:`remote_scanner`). A remote Matcher owns its vulnerability data;
:class:`RemoteDataWatcher` asks it what it holds and re-matches stored images when that changed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import psycopg
from prometheus_client import Histogram
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from stockade.central.errors import BadRequest, CentralError, StartupError
from stockade.core.errors import StockadeError
from stockade.core.tasks import cancel_and_wait
from stockade.model.image import (
    Component,
    DockerfileLine,
    Image,
    ImageName,
    Severity,
    Vulnerability,
    parse_time,
)
from stockade.model.index_report import IndexReport
from stockade.scanner.grpc_server import TLSFiles
from stockade.scanner.indexer.engine import Indexer
from stockade.scanner.indexer.registry import RegistryOptions, parse_reference
from stockade.scanner.indexer.sources import open_source
from stockade.scanner.indexer.store import PostgresStore
from stockade.scanner.matcher.bundle import bundle_updaters
from stockade.scanner.matcher.match import Finding, Matcher, VulnerabilityReport
from stockade.scanner.matcher.sources import make_updater
from stockade.scanner.matcher.sources import names as updater_names
from stockade.scanner.matcher.store import SourceState, UpdateRun, VulnerabilityStore
from stockade.scanner.remote import RemoteScanner

if TYPE_CHECKING:
    from stockade.central.config import CentralConfig
    from stockade.central.runtime import Central

logger = logging.getLogger(__name__)

SCAN_PHASE = Histogram(
    "stockade_scan_phase_seconds",
    "Time per image scan phase",
    ["phase"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)


#: pg_advisory_lock key of the re-match after a remote Matcher's data changed ("stkremat")
REMATCH_LOCK_KEY = 0x73746B72656D6174
STATUS_MAX_AGE = 10.0  # seconds a remote Matcher's answer about its data is served as is


class ScanFailed(CentralError):
    """The image could not be fetched or read; the reason is stored on the image."""

    status = 502
    code = 14


class ScannerBackend(Protocol):
    def index(self, reference: str, options: RegistryOptions) -> IndexReport: ...

    def match(self, report: IndexReport) -> VulnerabilityReport: ...

    def report(self, manifest_digest: str) -> IndexReport | None: ...

    def data_status(self) -> list[SourceState]: ...


class LocalScanner:
    """Indexer and Matcher in this process, on the scanner tables at ``url``."""

    def __init__(self, url: str) -> None:
        self._index_store = PostgresStore(url)
        self._index_store.migrate()
        self._vulns = VulnerabilityStore(url)
        self._vulns.migrate()
        self._matcher: Matcher | None = None
        self._matcher_key: object = None
        self._lock = threading.Lock()

    def index(self, reference: str, options: RegistryOptions) -> IndexReport:
        return Indexer(self._index_store).index(open_source(reference, registry=options))

    def _data_key(self) -> object:
        return tuple((s.name, s.fingerprint) for s in self._vulns.sources())

    def matcher(self) -> Matcher:
        """The in-memory Matcher, rebuilt only when a source's data changed."""
        with self._lock:
            key = self._data_key()
            if self._matcher is None or key != self._matcher_key:
                self._matcher = Matcher(self._vulns.records())
                self._matcher_key = key
            return self._matcher

    def match(self, report: IndexReport) -> VulnerabilityReport:
        return self.matcher().match(report)

    def report(self, manifest_digest: str) -> IndexReport | None:
        return self._index_store.stored_report(manifest_digest)

    def import_bundle(self, path: Path) -> list[UpdateRun]:
        """Load an offline bundle (``stockade scanner bundle export``) source by source."""
        return [self._vulns.update(u) for u in bundle_updaters(path)]

    def update_feeds(self) -> list[UpdateRun]:
        """Update every source from its upstream location (unchanged ones are skipped)."""
        return [self._vulns.update(make_updater(name)) for name in updater_names()]

    def data_status(self) -> list[SourceState]:
        return self._vulns.sources()


def remote_scanner(cfg: CentralConfig) -> RemoteScanner:
    """The Indexer and Matcher run apart, as configured (endpoints and client TLS files)."""
    assert cfg.scanner_indexer_endpoint and cfg.scanner_matcher_endpoint
    assert cfg.scanner_tls_cert and cfg.scanner_tls_key and cfg.scanner_tls_ca
    try:
        tls = TLSFiles.load(cfg.scanner_tls_cert, cfg.scanner_tls_key, cfg.scanner_tls_ca)
    except StockadeError as exc:
        raise StartupError(f"remote Scanner: {exc.message}") from exc
    return RemoteScanner(
        cfg.scanner_indexer_endpoint,
        cfg.scanner_matcher_endpoint,
        tls,
        server_name=cfg.scanner_server_name,
    )


@dataclass(frozen=True)
class DataStatus:
    """What vulnerability data the Matcher holds: LOADED, NO_VULNERABILITY_DATA, or
    UNAVAILABLE (a Matcher run apart did not answer or refused Central; ``message`` says
    which)."""

    status: str
    sources: list[SourceState]
    message: str = ""


def _cve_id(f: Finding) -> str:
    return next((i for i in f.advisory.ids if i.startswith("CVE-")), f.advisory.id)


def _severity(f: Finding) -> Severity:
    try:
        return Severity.parse(str(f.advisory.severity))
    except ValueError:
        return Severity.UNKNOWN


def _cvss(f: Finding) -> float:
    scores = [c.score for c in f.advisory.cvss if c.score is not None]
    return max(scores, default=0.0)


def to_image(name: str, report: IndexReport, vulns: VulnerabilityReport) -> Image:
    """The scan as the policy engine's and the store's model."""
    by_package: dict[tuple[str, str], list[Vulnerability]] = defaultdict(list)
    now = dt.datetime.now(dt.UTC)
    for f in vulns.findings:
        by_package[(f.package, f.version)].append(
            Vulnerability(
                cve=_cve_id(f),
                cvss=_cvss(f),
                severity=_severity(f),
                fixed_by=f.advisory.fixed_version,
                published=parse_time(f.advisory.published) if f.advisory.published else None,
                epss=f.advisory.epss.score if f.advisory.epss else None,
                kev=f.advisory.known_exploited is not None,
            )
        )
    layer_index = {layer.diff_id: i for i, layer in enumerate(report.layers)}
    components = tuple(
        Component(
            name=p.name,
            version=p.version,
            source=p.ecosystem.value,
            location=p.path,
            layer_index=layer_index.get(p.layer),
            vulnerabilities=tuple(by_package.get((p.name, p.version), ())),
        )
        for p in report.packages
    )
    md = report.metadata
    dockerfile = []
    for line in md.history:
        instruction, _, value = line.strip().partition(" ")
        dockerfile.append(DockerfileLine(instruction.upper(), value))
    dist = report.distribution
    parsed = ImageName.parse(name)
    return Image(
        name=parsed,
        id=report.manifest_digest,
        created=parse_time(md.created) if md.created else None,
        user=md.user,
        labels=dict(md.labels),
        env=md.env,
        entrypoint=md.entrypoint,
        cmd=md.cmd,
        exposed_ports=md.exposed_ports,
        dockerfile=tuple(dockerfile),
        os=f"{dist.did}:{dist.version_id}" if dist else "",
        scanned=now,
        components=components,
    )


@dataclass(frozen=True)
class Rematched:
    done: int
    failed: int  # the Scanner did not answer for these: they keep their stored findings


@dataclass(frozen=True)
class ScanOutcome:
    image_id: str
    image: Image
    notes: tuple[str, ...]


class ScanService:
    def __init__(self, backend: ScannerBackend, central: Central) -> None:
        self.backend = backend
        self.central = central
        self._inflight: dict[str, asyncio.Future[ScanOutcome]] = {}

    async def scan(
        self, image_name: str, *, force: bool = False, options: RegistryOptions | None = None
    ) -> ScanOutcome:
        try:
            ref = parse_reference(image_name)
        except StockadeError as exc:
            raise BadRequest(f"image name {image_name!r} is not a valid reference") from exc
        key = str(ref)
        running = self._inflight.get(key)
        if running is not None:  # the same image is being scanned: share that run
            return await asyncio.shield(running)
        fut: asyncio.Future[ScanOutcome] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            outcome = await self._scan(key, options or RegistryOptions())
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self._inflight.pop(key, None)
        fut.set_result(outcome)
        return outcome

    async def _scan(self, reference: str, options: RegistryOptions) -> ScanOutcome:
        c = self.central
        started = time.perf_counter()
        try:
            report = await asyncio.to_thread(self.backend.index, reference, options)
        except StockadeError as exc:
            reason = exc.message
            await c.images.record_failure(ImageName.parse(reference), reason)
            raise ScanFailed(reason) from exc
        indexed = time.perf_counter()
        SCAN_PHASE.labels("index").observe(indexed - started)
        try:
            vulns = await asyncio.to_thread(self.backend.match, report)
        except StockadeError as exc:  # a Matcher run apart may be unreachable
            reason = f"matching failed: {exc.message}"
            await c.images.record_failure(ImageName.parse(reference), reason)
            raise ScanFailed(reason) from exc
        matched = time.perf_counter()
        SCAN_PHASE.labels("match").observe(matched - indexed)
        signatures = await c.signature_verifier.verify(reference, report.manifest_digest, options)
        image = dataclasses.replace(
            to_image(reference, report, vulns), signature_verified_by=signatures.verified_by
        )
        verified = time.perf_counter()
        SCAN_PHASE.labels("signatures").observe(verified - matched)
        image_id = await c.images.save_scan(image, vulns.notes, signatures.to_json())
        stored = time.perf_counter()
        SCAN_PHASE.labels("store").observe(stored - verified)
        await self._evaluate(image_id)
        SCAN_PHASE.labels("detect").observe(time.perf_counter() - stored)
        return ScanOutcome(image_id, image, vulns.notes)

    async def rematch_all(self) -> int:
        """Match every stored image again; how many were re-matched (see :meth:`rematch`)."""
        return (await self.rematch()).done

    async def rematch(self) -> Rematched:
        """Match every stored image again from its stored index report — after the
        vulnerability data changed. Nothing is fetched from a registry or re-indexed; an
        image whose report is gone (a new analyser version) waits for its next scan."""
        c = self.central
        async with c.db.connection() as conn:
            cur = await conn.execute(
                "SELECT id, name FROM images WHERE scan_state = 'SCANNED' AND id LIKE 'sha256:%'"
            )
            rows = [(r["id"], r["name"]) for r in await cur.fetchall()]
        done = failed = 0
        for image_id, name in rows:
            try:
                report = await asyncio.to_thread(self.backend.report, image_id)
                if report is None:
                    continue
                vulns = await asyncio.to_thread(self.backend.match, report)
            except StockadeError as exc:  # a Scanner run apart went away: keep what is stored
                logger.warning("re-match of %s skipped: %s", name, exc.message)
                failed += 1
                continue
            await c.images.save_scan(to_image(name, report, vulns), vulns.notes)
            await self._evaluate(image_id)
            done += 1
        logger.info(
            "images re-matched against new vulnerability data",
            extra={"images": done, "failed": failed},
        )
        return Rematched(done, failed)

    async def data_status(self) -> DataStatus:
        """The Matcher's data per source (a remote Matcher's from its metadata)."""
        try:
            states = await asyncio.to_thread(self.backend.data_status)
        except StockadeError as exc:
            return DataStatus("UNAVAILABLE", [], exc.message)
        total = sum(s.record_count for s in states)
        return DataStatus("LOADED" if total else "NO_VULNERABILITY_DATA", states)

    async def _evaluate(self, image_id: str) -> None:
        c = self.central
        stored = await c.images.load(image_id)
        _, compiled = await c.policies.compiled()
        violations = await asyncio.to_thread(compiled.evaluate_image, stored)
        recorded = await c.alerts.record_image(stored.name.full_name, violations)
        await c.notifications.notify_alerts(recorded.created)  # queued; never waits


def changed(runs: list[UpdateRun]) -> bool:
    return any(run.status == "updated" for run in runs)


class VulnDataLoader:
    """Keeps the Matcher's data current in the background: an offline bundle once at start,
    then (when enabled) the upstream feeds on a schedule. Scans never wait for it; until data
    is loaded every report says "no vulnerability data"."""

    def __init__(
        self,
        backend: LocalScanner,
        bundle: Path | None,
        feed_updates: bool,
        interval_seconds: float,
        service: ScanService | None = None,
    ) -> None:
        self.service = service
        self.backend = backend
        self.bundle = bundle
        self.feed_updates = feed_updates
        self.interval = interval_seconds
        self.last_runs: list[UpdateRun] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        if self.bundle is not None:
            self.last_runs = await asyncio.to_thread(self.backend.import_bundle, self.bundle)
            for run in self.last_runs:
                if run.status == "failed":
                    logger.warning(
                        "bundle source failed", extra={"source": run.source, "error": run.error}
                    )
            logger.info("vulnerability bundle loaded", extra={"sources": len(self.last_runs)})
            await self._rematch_if_changed()
        while self.feed_updates:
            self.last_runs = await asyncio.to_thread(self.backend.update_feeds)
            await self._rematch_if_changed()
            await asyncio.sleep(self.interval)

    async def _rematch_if_changed(self) -> None:
        if self.service is not None and changed(self.last_runs):
            await self.service.rematch_all()

    def start(self) -> None:
        if self.bundle is not None or self.feed_updates:
            self._task = asyncio.create_task(self._run(), name="vulnerability-data")

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        try:
            await cancel_and_wait(self._task)
        except StockadeError as exc:
            logger.warning("vulnerability data loader stopped: %s", exc.message)
        self._task = None


class RemoteDataWatcher:
    """A Matcher run apart updates its own data; every ``interval_seconds`` Central asks it
    which sources it holds (name and fingerprint) and re-matches stored images when that
    changed since the last answer (the first answer is the baseline). An unreachable Matcher
    is logged and asked again next time.

    The last answer is kept: readiness probes read it and never wait for the Matcher (one
    that does not answer takes the whole status deadline), and at most one question is out
    at a time — callers arriving meanwhile share its answer."""

    def __init__(
        self,
        service: ScanService,
        interval_seconds: float,
        status_max_age: float = STATUS_MAX_AGE,
    ) -> None:
        self.service = service
        self.interval = interval_seconds
        self.status_max_age = status_max_age
        self._seen: tuple[tuple[str, str], ...] | None = None
        self._latest: tuple[DataStatus, float] | None = None  # the answer, when (monotonic)
        self._asking: asyncio.Task[DataStatus] | None = None
        self._task: asyncio.Task[None] | None = None

    def _fresh(self) -> DataStatus | None:
        if self._latest is None or time.monotonic() - self._latest[1] > self.status_max_age:
            return None
        return self._latest[0]

    def _ask(self) -> asyncio.Task[DataStatus]:
        if self._asking is None or self._asking.done():
            self._asking = asyncio.create_task(self._ask_now(), name="matcher-data-status")
        return self._asking

    async def _ask_now(self) -> DataStatus:
        status = await self.service.data_status()
        self._latest = (status, time.monotonic())
        return status

    def latest(self) -> DataStatus | None:
        """The last answer, None before the first; never waits. An answer older than
        ``status_max_age`` is still returned and a new question starts in the background."""
        if self._fresh() is None:
            self._ask()
        return self._latest[0] if self._latest else None

    async def status(self) -> DataStatus:
        """The last answer while fresh, else the Matcher's answer now."""
        fresh = self._fresh()
        return fresh if fresh is not None else await asyncio.shield(self._ask())

    async def check_once(self) -> bool:
        """True when the data changed and this replica re-matched every stored image."""
        status = await asyncio.shield(self._ask())
        if status.status == "UNAVAILABLE":
            logger.warning("vulnerability data check skipped: %s", status.message)
            return False
        seen = tuple(sorted((s.name, s.fingerprint) for s in status.sources))
        if self._seen is None or seen == self._seen:
            self._seen = seen  # the first answer is the baseline
            return False
        async with self.service.central.db.try_advisory_lock(REMATCH_LOCK_KEY) as mine:
            if not mine:  # another replica saw the change too and re-matches the shared store
                logger.info("vulnerability data changed; another replica is re-matching")
                self._seen = seen
                return False
            outcome = await self.service.rematch()
        if outcome.failed:  # those keep old findings: the next check re-matches again
            logger.warning(
                "re-match incomplete; trying again at the next check",
                extra={"failed": outcome.failed},
            )
            return False
        self._seen = seen  # only now: a run that stopped part way is run again
        return True

    async def _loop(self) -> None:
        while True:
            try:
                await self.check_once()
            except Exception:
                logger.exception("vulnerability data check failed")
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="remote-vulnerability-data")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await cancel_and_wait(self._asking)
        self._task = self._asking = None


def scanner_database_url(central_url: str) -> str:
    """The Scanner DB beside Central DB: same server, database ``<central db>_scanner``."""
    params = conninfo_to_dict(central_url)
    params["dbname"] = f"{params.get('dbname') or 'postgres'}_scanner"
    return make_conninfo(**params)  # type: ignore[arg-type]


def ensure_scanner_database(central_url: str) -> str:
    """Create the Scanner DB when missing (the Scanner keeps its own database, so Central's
    backups and migrations stay Central's); returns its URL."""
    url = scanner_database_url(central_url)
    name = conninfo_to_dict(url)["dbname"]
    admin = make_conninfo(central_url, dbname="postgres")
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if exists.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))
    except psycopg.errors.DuplicateDatabase:
        pass  # another Central created it at the same moment
    except psycopg.Error as exc:
        raise StartupError(
            f"cannot create the Scanner database {name!r} ({exc.diag.message_primary or exc}); "
            "create it or give --scanner-db-url"
        ) from exc
    return url
