"""Central's process: start-up (database, migrations, secrets, TLS) and shutdown, in order.

start()  embedded PostgreSQL if no URL → reachability check (one clear line if not) →
         migrations + secrets + built-in roles under one advisory lock → pool opened →
         server certificate issued by Central's CA
         → notification delivery worker, maintenance and report worker started
stop()   report worker and maintenance stopped → notification worker stopped (claimed rows
         handed back) → pool closed → embedded PostgreSQL stopped
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from stockade import __version__
from stockade.central import crypto
from stockade.central.auth.providers import Authenticator, BasicAdminProvider, TokenProvider
from stockade.central.auth.ratelimit import FailureLimiter
from stockade.central.config import CentralConfig
from stockade.central.db.database import Database
from stockade.central.db.embedded import EmbeddedPostgres
from stockade.central.db.migrate import migrate
from stockade.central.errors import BadRequest, StartupError
from stockade.central.maintenance import Maintenance, Retention
from stockade.central.notifiers import NotificationService, NotifierStore, QueueSettings
from stockade.central.reevaluation import PolicyReevaluator
from stockade.central.registry_auth import EcrTokens, RegistryAuthError
from stockade.central.reports import ReportService, ReportSettings
from stockade.central.scanning import (
    LocalScanner,
    RemoteDataWatcher,
    ScanFailed,
    ScannerBackend,
    ScanOutcome,
    ScanService,
    VulnDataLoader,
    ensure_scanner_database,
    remote_scanner,
)
from stockade.central.secrets import (
    CentralSecrets,
    bootstrap_secrets,
    load_or_create_master_key,
)
from stockade.central.signatures import SignatureService
from stockade.central.store.access import AccessStore, seed_builtins
from stockade.central.store.alerts import AlertStore
from stockade.central.store.audit import AuditStore
from stockade.central.store.exceptions import ExceptionStore
from stockade.central.store.images import ImageStore
from stockade.central.store.integrations import IntegrationStore
from stockade.central.store.policies import PolicyStore, seed_default_policies
from stockade.central.store.signatures import SignatureIntegrationStore
from stockade.central.store.tokens import TokenStore
from stockade.core import pki
from stockade.core.errors import StockadeError
from stockade.core.redact import redact
from stockade.model.image import ImageName
from stockade.scanner.indexer.registry import parse_reference
from stockade.scanner.remote import RemoteScanner

logger = logging.getLogger(__name__)


def _describe_db_error(url: str, exc: BaseException) -> str:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"cannot connect to Central DB at {redact(url)}: {redact(reason)}"


async def prepare_database(url: str, cfg: CentralConfig) -> CentralSecrets:
    """Migrations, secrets and built-in roles: everything a first start creates, once."""
    try:
        conn = await psycopg.AsyncConnection.connect(
            url, autocommit=True, connect_timeout=max(1, int(cfg.db_timeout_seconds))
        )
    except psycopg.OperationalError as exc:
        raise StartupError(_describe_db_error(url, exc)) from exc
    master_key = load_or_create_master_key(cfg.resolved_master_key_file, cfg.secrets_dir)
    result: list[CentralSecrets] = []

    async def under_lock() -> None:
        async with conn.transaction():
            result.append(
                await bootstrap_secrets(
                    conn, master_key=master_key, data_dir=cfg.data_dir, secrets_dir=cfg.secrets_dir
                )
            )
            await seed_builtins(conn)  # type: ignore[arg-type]
            await seed_default_policies(conn)  # type: ignore[arg-type]

    try:
        async with conn:
            await migrate(conn, also_under_lock=under_lock)
    except psycopg.OperationalError as exc:
        raise StartupError(_describe_db_error(url, exc)) from exc
    return result[0]


@dataclass
class Central:
    """Everything a running Central holds; the API reaches it through ``app.state.central``."""

    config: CentralConfig
    db: Database
    secrets: CentralSecrets
    access: AccessStore
    tokens: TokenStore
    audit: AuditStore
    policies: PolicyStore
    alerts: AlertStore
    images: ImageStore
    exceptions: ExceptionStore
    token_provider: TokenProvider
    authenticator: Authenticator
    version: str = __version__
    build: str = field(default_factory=lambda: os.environ.get("STOCKADE_BUILD", "dev"))
    embedded: EmbeddedPostgres | None = None
    notifications: NotificationService = field(kw_only=True)
    maintenance: Maintenance = field(kw_only=True)
    reports: ReportService = field(kw_only=True)
    integrations: IntegrationStore = field(kw_only=True)
    scanner: ScanService | None = field(default=None, kw_only=True)
    scanner_url: str = field(default="", kw_only=True)
    vuln_data: VulnDataLoader | None = field(default=None, kw_only=True)
    data_watcher: RemoteDataWatcher | None = field(default=None, kw_only=True)
    reevaluation: PolicyReevaluator | None = field(default=None, kw_only=True)
    signature_integrations: SignatureIntegrationStore = field(init=False)
    signature_verifier: SignatureService = field(init=False)

    def __post_init__(self) -> None:
        self.signature_integrations = SignatureIntegrationStore(self.db)
        self.signature_verifier = SignatureService(self)

    async def scan(self, image_name: str, *, force: bool = False) -> ScanOutcome:
        """Scan an image by name, reusing a recent good scan unless ``force``."""
        if self.scanner is None:
            raise StartupError("image scanning is not available in this Central")
        try:
            ref = parse_reference(image_name)
        except StockadeError as exc:
            raise BadRequest(f"image name {image_name!r} is not a valid reference") from exc
        if not force:
            recent = await self.images.recent_scan(
                ImageName.parse(str(ref)).full_name, self.config.rescan_after_seconds
            )
            if recent is not None:
                return ScanOutcome(recent, await self.images.load(recent), ())
        try:
            options = await self.integrations.options_for(ref.registry)
        except RegistryAuthError as exc:  # e.g. ECR refused the AWS credentials
            await self.images.record_failure(ImageName.parse(str(ref)), exc.message)
            raise ScanFailed(exc.message) from exc
        return await self.scanner.scan(image_name, force=force, options=options)

    @property
    def vault(self) -> crypto.CredentialVault:
        """Seals integration credentials with Central's data key."""
        return crypto.CredentialVault(self.secrets.data_key)

    @classmethod
    async def start(cls, cfg: CentralConfig) -> Central:
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        embedded = None
        url = cfg.db_url
        if url is None:
            embedded = EmbeddedPostgres(cfg.data_dir)
            url = embedded.start()
        try:
            secrets = await prepare_database(url, cfg)
            db = Database(
                url,
                min_size=cfg.db_pool_min,
                max_size=cfg.db_pool_max,
                timeout=cfg.db_timeout_seconds,
            )
            await db.open()
        except BaseException:
            if embedded is not None:
                embedded.stop()
            raise
        access = AccessStore(db)
        tokens = TokenStore(db)
        token_provider = TokenProvider(tokens, access)
        authenticator = Authenticator(
            [BasicAdminProvider(secrets.admin_password_hash, access), token_provider],
            FailureLimiter(limit=cfg.login_failures_per_minute, window=60.0),
        )
        if secrets.admin_password_written_to is not None:
            logger.warning(
                "generated the admin password; it is in a file readable only by this user",
                extra={"file": str(secrets.admin_password_written_to)},
            )
        notifications = NotificationService(
            db,
            NotifierStore(
                db,
                crypto.CredentialVault(secrets.data_key),
                allow_local_endpoints=cfg.notifier_allow_local_endpoints,
            ),
            QueueSettings(
                poll_seconds=cfg.notifier_poll_seconds,
                retry_base_seconds=cfg.notifier_retry_base_seconds,
                retry_max_seconds=cfg.notifier_retry_max_seconds,
                max_attempts=cfg.notifier_max_attempts,
                timeout_seconds=cfg.notifier_timeout_seconds,
            ),
        )
        notifications.start()  # the delivery worker; enqueueing never waits for it
        exceptions = ExceptionStore(db)
        maintenance = Maintenance(
            db,
            exceptions,
            Retention(
                resolved_alerts_days=cfg.retention_resolved_alerts_days,
                unused_images_days=cfg.retention_unused_images_days,
                deleted_deployment_alerts_days=cfg.retention_deleted_deployment_alerts_days,
            ),
            cfg.maintenance_interval_seconds,
        )
        maintenance.start()
        reports = ReportService(
            db,
            notifications.store,
            ReportSettings(
                tick_seconds=cfg.report_tick_seconds,
                max_bytes=cfg.report_max_bytes,
                keep_days=cfg.report_retention_days,
                max_attempts=cfg.report_max_attempts,
            ),
        )
        reports.start()
        central = cls(
            cfg,
            db,
            secrets,
            access,
            tokens,
            AuditStore(db),
            PolicyStore(db),
            AlertStore(db),
            ImageStore(db),
            exceptions,
            token_provider,
            authenticator,
            embedded=embedded,
            notifications=notifications,
            maintenance=maintenance,
            reports=reports,
            integrations=IntegrationStore(
                db, crypto.CredentialVault(secrets.data_key), EcrTokens(cfg.ecr_endpoint_url)
            ),
        )
        assert url is not None  # given, or the embedded server's
        central_url = url
        local: LocalScanner | None = None
        try:
            if cfg.scanner_indexer_endpoint:
                # run apart: no Scanner DB here; the remote Matcher owns the data
                backend: ScannerBackend = remote_scanner(cfg)
            else:
                if cfg.scanner_db_url:
                    central.scanner_url = cfg.scanner_db_url
                else:
                    central.scanner_url = await asyncio.to_thread(
                        ensure_scanner_database, central_url
                    )
                backend = local = await asyncio.to_thread(LocalScanner, central.scanner_url)
        except Exception:
            await central.stop()
            raise
        central.scanner = ScanService(backend, central)
        central.reevaluation = PolicyReevaluator(central)
        if local is not None:
            central.vuln_data = VulnDataLoader(
                local,
                cfg.vuln_bundle,
                cfg.feed_updates,
                cfg.feed_update_interval_seconds,
                service=central.scanner,
            )
            central.vuln_data.start()
        else:
            central.data_watcher = RemoteDataWatcher(
                central.scanner, cfg.scanner_data_check_seconds
            )
            central.data_watcher.start()
        return central

    def policies_changed(self, policy_ids: list[str]) -> None:
        """Created, updated, enabled or imported policies: stored images and known
        deployments are evaluated against them again in the background."""
        if self.reevaluation is not None:
            self.reevaluation.schedule(policy_ids)

    async def stop(self) -> None:
        if self.reevaluation is not None:
            await self.reevaluation.stop()
        await self.signature_verifier.stop()
        if self.vuln_data is not None:
            await self.vuln_data.stop()
        if self.data_watcher is not None:
            await self.data_watcher.stop()
        if self.scanner is not None and isinstance(self.scanner.backend, RemoteScanner):
            self.scanner.backend.close()
        await self.reports.stop()
        await self.maintenance.stop()
        await self.notifications.stop()
        await self.db.close()
        if self.embedded is not None:
            self.embedded.stop()

    def server_certificate(self) -> tuple[Path, Path]:
        """Issue Central's serving certificate and write it where the TLS server can load it
        (a private temporary directory, files 0600)."""
        names = sorted({"localhost", "central.stockade.svc", socket.gethostname()})
        ips = ["127.0.0.1", "::1"]
        if self.config.bind not in ("0.0.0.0", "::", "localhost") and _is_ip(self.config.bind):  # noqa: S104
            ips.append(self.config.bind)
        leaf = pki.issue(
            self.secrets.ca,
            "central.stockade.svc",
            dns_names=names,
            ip_addresses=ips,
            organizational_unit="CENTRAL",
        )
        tls_dir = Path(tempfile.mkdtemp(prefix="stockade-tls-"))
        cert, key = tls_dir / "cert.pem", tls_dir / "key.pem"
        for path, data in ((cert, leaf.cert_pem + self.secrets.ca.cert_pem), (key, leaf.key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        ca_file = self.config.data_dir / "ca.pem"
        ca_file.write_bytes(self.secrets.ca.cert_pem)
        return cert, key


def _is_ip(text: str) -> bool:
    import ipaddress  # noqa: PLC0415

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
