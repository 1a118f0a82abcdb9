"""Central's configuration.

Precedence, highest first: command-line flags, environment variables (``STOCKADE_*``), the
YAML file given by ``--config`` / ``STOCKADE_CONFIG``, built-in defaults. Every setting has
one name in each source: flag ``--db-url``, variable ``STOCKADE_DB_URL``, file key ``db_url``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stockade.core.errors import ConfigError


@dataclass(frozen=True)
class CentralConfig:
    data_dir: Path = Path("./.stockade-data")
    db_url: str | None = None  # None: start the embedded PostgreSQL under data_dir
    bind: str = "127.0.0.1"
    port: int = 8443
    tls: bool = True
    log_level: str = "info"
    log_json: bool = False
    secrets_dir: Path | None = None  # operator-provided secrets (Kubernetes Secret mount)
    master_key_file: Path | None = None  # default: <data_dir>/master.key
    db_pool_min: int = 2
    db_pool_max: int = 10
    db_timeout_seconds: float = 5.0
    login_failures_per_minute: int = 10
    public_login_notice: str = ""
    scanner_db_url: str | None = None  # default: database <central db>_scanner beside it
    vuln_bundle: Path | None = None  # offline bundle loaded at start
    feed_updates: bool = False  # update vulnerability data from upstream feeds
    feed_update_interval_seconds: float = 4 * 3600.0
    rescan_after_seconds: float = 4 * 3600.0  # a scan newer than this is reused
    # Indexer and Matcher run apart (gRPC, mutual TLS): both endpoints and the client TLS
    # files; when set, Central keeps no Scanner DB and loads no vulnerability data itself.
    scanner_indexer_endpoint: str | None = None
    scanner_matcher_endpoint: str | None = None
    scanner_tls_ca: Path | None = None
    scanner_tls_cert: Path | None = None
    scanner_tls_key: Path | None = None
    scanner_server_name: str | None = None  # name checked in the services' certificates
    scanner_data_check_seconds: float = 300.0  # how often to ask a remote Matcher's data
    ecr_endpoint_url: str | None = None  # ECR API address (a VPC endpoint); default AWS's
    retention_resolved_alerts_days: int = 7
    retention_unused_images_days: int = 7
    retention_deleted_deployment_alerts_days: int = 7
    maintenance_interval_seconds: float = 3600.0
    notifier_poll_seconds: float = 2.0
    notifier_retry_base_seconds: float = 5.0
    notifier_retry_max_seconds: float = 900.0
    notifier_max_attempts: int = 40
    notifier_timeout_seconds: float = 10.0
    notifier_allow_local_endpoints: bool = False
    report_tick_seconds: float = 60.0  # how often due report schedules and jobs are looked at
    report_max_bytes: int = 25 * 1024 * 1024  # a zipped report larger than this fails
    report_retention_days: float = 30.0  # finished report jobs (and their files) kept
    report_max_attempts: int = 24  # email delivery attempts of one report job
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"


_FIELDS = {f.name: f for f in dataclasses.fields(CentralConfig) if f.name != "extra"}
_PATHS = {
    "data_dir",
    "secrets_dir",
    "master_key_file",
    "vuln_bundle",
    "scanner_tls_ca",
    "scanner_tls_cert",
    "scanner_tls_key",
}


def _coerce(name: str, value: Any) -> Any:
    default: object = _FIELDS[name].default
    kind: type = type(default) if default is not None else str
    if name in _PATHS:
        return Path(str(value)).expanduser()
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(text)
        if kind is int:
            return int(value)
        if kind is float:
            return float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r} has an invalid value {value!r}") from exc
    return str(value)


def load_config(
    flags: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> CentralConfig:
    """Merge defaults < file < environment < flags (flags with value None are unset)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config_file or (Path(env["STOCKADE_CONFIG"]) if env.get("STOCKADE_CONFIG") else None)
    if path is not None:
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"configuration file {path} is not valid YAML") from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"configuration file {path} must be a mapping of settings")
        for key, value in doc.items():
            name = str(key).replace("-", "_")
            if name not in _FIELDS:
                raise ConfigError(f"configuration file {path}: unknown setting {key!r}")
            values[name] = _coerce(name, value)
    for name in _FIELDS:
        raw = env.get(f"STOCKADE_{name.upper()}")
        if raw is not None and raw != "":
            values[name] = _coerce(name, raw)
    for name, value in flags.items():
        if value is not None and name in _FIELDS:
            values[name] = _coerce(name, value)
    cfg = CentralConfig(**values)
    if not 1 <= cfg.port <= 65535:
        raise ConfigError(f"port {cfg.port} is out of range 1-65535")
    if cfg.db_pool_min < 1 or cfg.db_pool_max < cfg.db_pool_min:
        raise ConfigError("db_pool_max must be at least db_pool_min, and both at least 1")
    if cfg.notifier_max_attempts < 1:
        raise ConfigError("notifier_max_attempts must be at least 1")
    for name in (
        "notifier_poll_seconds",
        "notifier_retry_base_seconds",
        "notifier_timeout_seconds",
    ):
        if getattr(cfg, name) <= 0:
            raise ConfigError(f"{name} must be more than 0")
    for name in ("report_tick_seconds", "report_max_bytes", "report_retention_days"):
        if getattr(cfg, name) <= 0:
            raise ConfigError(f"{name} must be more than 0")
    if cfg.report_max_attempts < 1:
        raise ConfigError("report_max_attempts must be at least 1")
    if cfg.notifier_retry_max_seconds < cfg.notifier_retry_base_seconds:
        raise ConfigError("notifier_retry_max_seconds must be at least notifier_retry_base_seconds")
    _check_remote_scanner(cfg)
    return cfg


def _check_remote_scanner(cfg: CentralConfig) -> None:
    """Indexer and Matcher run apart: both endpoints and all three TLS files, and no
    vulnerability data of Central's own (the remote Matcher owns it)."""
    endpoints = (cfg.scanner_indexer_endpoint, cfg.scanner_matcher_endpoint)
    tls = (cfg.scanner_tls_ca, cfg.scanner_tls_cert, cfg.scanner_tls_key)
    if not any(endpoints):
        if any(tls):
            raise ConfigError(
                "scanner_tls_* settings need scanner_indexer_endpoint and scanner_matcher_endpoint"
            )
        return
    if not all(endpoints):
        raise ConfigError("scanner_indexer_endpoint and scanner_matcher_endpoint go together")
    if not all(tls):
        raise ConfigError(
            "a remote Scanner needs scanner_tls_ca, scanner_tls_cert and "
            "scanner_tls_key (Central's client certificate, OU CENTRAL)"
        )
    if cfg.vuln_bundle is not None or cfg.feed_updates:
        raise ConfigError(
            "--vuln-bundle and --feed-updates do not apply when the Indexer and Matcher run "
            "apart (--scanner-matcher-endpoint): the Matcher owns the vulnerability data; give "
            "it the bundle or the feed updates (stockade scanner matcher --offline-bundle / "
            "--feed-updates)"
        )
    if cfg.scanner_db_url:
        raise ConfigError(
            "--scanner-db-url does not apply when the Indexer and Matcher run apart: they "
            "keep their own database"
        )
