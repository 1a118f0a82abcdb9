"""``stockade scanner matcher`` as a process: mutual TLS from files, starts with no data and
says so, then loads an offline bundle that appears later, on its update schedule."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from stockade.cli.main import main
from stockade.cli.matcher_cmd import parse_interval
from stockade.core import pki
from stockade.core.errors import ConfigError
from stockade.scanner.matcher.bundle import export_bundle
from stockade.scanner.matcher.service import DATA_HEALTH
from stockade.scanner.matcher.sources import make_updater
from stockade.scanner.matcher.store import VulnerabilityStore
from stockade.scanner.v1 import matcher_pb2 as mpb
from stockade.scanner.v1 import matcher_pb2_grpc as mpb_grpc

REQUESTS_OSV = (
    Path(__file__).resolve().parents[1]
    / ".."
    / ".."
    / "shared"
    / "vulndata"
    / "osv-pypi"
    / "vulns"
    / "requests"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_interval_parsing() -> None:
    assert parse_interval("90") == 90.0
    assert parse_interval("15m") == 900.0
    assert parse_interval("4h") == 14400.0
    assert parse_interval("1d") == 86400.0
    for bad in ("soon", "0s", "-1h", "4w"):
        with pytest.raises(ConfigError):
            parse_interval(bad)


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    db = ["scanner", "matcher", "--db-url", "postgresql://127.0.0.1:1/x"]
    with pytest.raises(SystemExit) as info:
        main([*db, "--tls-cert", str(cert)])
    assert info.value.code == 2
    assert "go together" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main([*db, "--update-interval", "soon"])
    assert info.value.code == 2
    # an unreachable Scanner DB is one sentence and exit code 3, not a traceback
    with pytest.raises(SystemExit) as info:
        main(db)
    assert info.value.code == 3
    err = capsys.readouterr().err
    assert "Scanner DB" in err and "Traceback" not in err


def _wait(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_matcher_serves_mtls_and_loads_a_bundle_later(
    tmp_path: Path, make_database: Callable[[], str]
) -> None:
    ca = pki.create_ca("Test CA")
    leaf = pki.issue(ca, "matcher", ip_addresses=["127.0.0.1"], organizational_unit="SCANNER")
    client = pki.issue(ca, "central", organizational_unit="CENTRAL", server=False)
    for name, data in (
        ("tls.crt", leaf.cert_pem),
        ("tls.key", leaf.key_pem),
        ("ca.pem", ca.cert_pem),
    ):
        (tmp_path / name).write_bytes(data)
    bundle = tmp_path / "vulns.bundle"
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stockade.cli.main",
            "scanner",
            "matcher",
            "--listen",
            f"127.0.0.1:{port}",
            "--tls-cert",
            str(tmp_path / "tls.crt"),
            "--tls-key",
            str(tmp_path / "tls.key"),
            "--tls-ca",
            str(tmp_path / "ca.pem"),
            "--db-url",
            make_database(),
            "--offline-bundle",
            str(bundle),
            "--update-interval",
            "1s",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    creds = grpc.ssl_channel_credentials(ca.cert_pem, client.key_pem, client.cert_pem)
    try:
        assert proc.stderr is not None
        assert "listening" in proc.stderr.readline()
        with grpc.secure_channel(f"127.0.0.1:{port}", creds) as channel:
            stub = mpb_grpc.MatcherServiceStub(channel)
            health = health_pb2_grpc.HealthStub(channel)
            meta = stub.GetMetadata(mpb.GetMetadataRequest(), timeout=10)
            assert meta.status_message == "no vulnerability data"
            assert not meta.has_vulnerability_data
            data = health.Check(health_pb2.HealthCheckRequest(service=DATA_HEALTH), timeout=10)
            assert data.status == health_pb2.HealthCheckResponse.NOT_SERVING
            # the bundle was not there: the round said so
            assert _wait(
                lambda: bool(stub.GetMetadata(mpb.GetMetadataRequest(), timeout=10).update_errors),
                10,
            )

            # Central drops a bundle in place; the next round loads it
            source = VulnerabilityStore(make_database())
            source.migrate()
            assert source.update(make_updater("osv-pypi", offline=REQUESTS_OSV)).status == "updated"
            export_bundle(source, bundle, None)
            assert _wait(
                lambda: (
                    stub.GetMetadata(mpb.GetMetadataRequest(), timeout=10).record_count
                    == source.count()
                ),
                15,
            )
            data = health.Check(health_pb2.HealthCheckRequest(service=DATA_HEALTH), timeout=10)
            assert data.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    # SIGTERM is a clean stop (calls under way finish), not a crash
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
