"""Central with the Indexer and Matcher run apart, on real parts: `stockade scanner indexer`
and `stockade scanner matcher` as subprocesses with certificates from `stockade scanner
certs`, real OSV PyPI advisories in the Matcher's database, the test image in a real registry
with basic auth, and Central pointed at the services."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from stockade.central.scanning import LocalScanner, to_image
from stockade.core import pki
from stockade.core.errors import ConfigError
from stockade.scanner.indexer.registry import RegistryOptions
from stockade.scanner.matcher.sources import make_updater
from stockade.scanner.matcher.store import VulnerabilityStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HERE = Path(__file__).resolve().parent

# The scan suite's fixtures and data loader: the real test image, a registry with basic auth.
_spec = importlib.util.spec_from_file_location("central_scan_e2e", HERE / "test_scan_e2e.py")
assert _spec and _spec.loader
_e2e = importlib.util.module_from_spec(_spec)
sys.modules["central_scan_e2e"] = _e2e
_spec.loader.exec_module(_e2e)
test_image = _e2e.test_image
auth_registry = _e2e.auth_registry
load_pypi_advisories = _e2e.load_pypi_advisories
OSV_PYPI = _e2e.OSV_PYPI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stockade(*args: str) -> list[str]:
    return [sys.executable, "-m", "stockade.cli.main", *args]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("STOCKADE_")}


@dataclass
class Service:
    proc: subprocess.Popen[str]
    endpoint: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: the service stops taking calls and exits
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _start(args: list[str], port: int) -> Service:
    proc = subprocess.Popen(
        args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            pytest.fail(f"{args[3:5]} exited: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return Service(proc, f"127.0.0.1:{port}")
        except OSError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"{args[3:5]} did not listen within 60 s")


@dataclass
class Scanner:
    certs: Path
    indexer: Service
    matcher: Service
    db_url: str


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    out = tmp_path / "certs"
    subprocess.run(
        _stockade("scanner", "certs", "--out", str(out)), env=_env(), check=True, timeout=60
    )
    return out


@pytest.fixture
def scanner(make_database, certs: Path) -> Iterator[Scanner]:
    db_url = make_database()
    assert load_pypi_advisories(db_url) > 0
    tls = [
        "--tls-cert",
        str(certs / "scanner.pem"),
        "--tls-key",
        str(certs / "scanner-key.pem"),
        "--tls-ca",
        str(certs / "ca.pem"),
    ]
    iport, mport = _free_port(), _free_port()
    indexer = _start(_stockade("scanner", "indexer", "--listen", f"127.0.0.1:{iport}", *tls), iport)
    try:
        matcher = _start(
            _stockade(
                "scanner",
                "matcher",
                "--listen",
                f"127.0.0.1:{mport}",
                "--db-url",
                db_url,
                "--update-interval",
                "1s",  # picks up what another process stores within a second
                *tls,
            ),
            mport,
        )
    except BaseException:
        indexer.stop()
        raise
    yield Scanner(certs, indexer, matcher, db_url)
    matcher.stop()
    indexer.stop()


def _remote_flags(s: Scanner, cert: Path, key: Path) -> dict[str, object]:
    return {
        "scanner_indexer_endpoint": s.indexer.endpoint,
        "scanner_matcher_endpoint": s.matcher.endpoint,
        "scanner_tls_ca": s.certs / "ca.pem",
        "scanner_tls_cert": cert,
        "scanner_tls_key": key,
    }


def _integration(address: str) -> dict[str, object]:
    return {
        "name": "local",
        "type": "docker",
        "docker": {
            "endpoint": address,
            "username": "alice",
            "password": "wonderland",
            "insecure": True,
        },
    }


def _in_process_cves(scanner_db_url: str, image: str, address: str) -> set[str]:
    """The same image scanned by the in-process Indexer and Matcher on the same data."""
    local = LocalScanner(scanner_db_url)
    options = RegistryOptions(
        insecure=frozenset([address]), credentials={address: ("alice", "wonderland")}
    )
    report = local.index(image, options)
    found = to_image(image, report, local.match(report))
    return {v.cve for c in found.components for v in c.vulnerabilities}


def _stored_counts(db_url: str, image_id: str) -> tuple[int, int, int]:
    """The image's CVE count, its finding rows and its component rows."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT cves_count, (SELECT count(*) FROM image_cves WHERE image_id = %s),"
            " (SELECT count(*) FROM image_components WHERE image_id = %s) FROM images"
            " WHERE id = %s",
            (image_id, image_id, image_id),
        ).fetchone()
    assert row is not None
    return (row[0], row[1], row[2])


def _load_only_urllib3(db_url: str, tmp: Path) -> None:
    """Replace the Matcher's OSV PyPI data with urllib3's advisories alone."""
    subset = tmp / "osv-pypi-urllib3"
    shutil.copytree(OSV_PYPI / "vulns" / "urllib3", subset / "urllib3")
    store = VulnerabilityStore(db_url)
    run = store.update(make_updater("osv-pypi", offline=subset))
    assert run.status == "updated", run


async def test_scan_through_indexer_and_matcher_run_apart(
    start_central, make_database, scanner: Scanner, auth_registry, tmp_path: Path
) -> None:
    certs = scanner.certs
    c = await start_central(
        make_database(), **_remote_flags(scanner, certs / "central.pem", certs / "central-key.pem")
    )
    assert c.central.scanner_url == ""  # no Scanner DB of Central's own
    assert c.central.vuln_data is None  # and no data loading: the Matcher owns the data
    with psycopg.connect(c.db_url) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]
        assert (
            conn.execute(
                "SELECT count(*) FROM pg_database WHERE datname = %s", (f"{name}_scanner",)
            ).fetchone()[0]
            == 0
        )

    data = (await c.admin("GET", "/v1/scanner/vulnerability-data")).json()
    assert data["status"] == "LOADED"
    assert {s["name"] for s in data["sources"]} == {"osv-pypi"}
    assert all(s["records"] > 0 for s in data["sources"])
    ready = await c.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["scanner"] == {"status": "LOADED"}

    image = f"{auth_registry.address}/private/test:latest"
    r = await c.admin("POST", "/v1/imageintegrations", json=_integration(auth_registry.address))
    assert r.status_code == 200, r.text
    r = await c.admin("POST", "/v1/images/scan", json={"imageName": image})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scanState"] == "SCANNED" and body["id"].startswith("sha256:")
    remote_cves = {v["cve"] for comp in body["components"] for v in comp.get("vulns", [])}
    assert {"CVE-2021-33503", "CVE-2020-28493"} <= remote_cves
    expected = await asyncio.to_thread(
        _in_process_cves, scanner.db_url, image, auth_registry.address
    )
    assert remote_cves == expected

    # re-matching goes through the remote Indexer's stored report and the remote Matcher
    service = c.central.scanner
    assert service is not None
    assert await service.rematch_all() == 1

    # the Matcher's data changes (only urllib3's advisories now): Central notices and
    # re-matches the stored image through the remote services, without a new scan
    watcher = c.central.data_watcher
    assert watcher is not None
    assert await watcher.check_once() is False  # the baseline is already taken
    await asyncio.to_thread(_load_only_urllib3, scanner.db_url, tmp_path)
    changed = False
    for _ in range(40):  # the Matcher reloads on its 1 s schedule
        await asyncio.sleep(0.5)
        if await watcher.check_once():
            changed = True
            break
    assert changed
    r = await c.admin("GET", f"/v1/images/{body['id']}")
    now_cves = {v["cve"] for comp in r.json()["components"] for v in comp.get("vulns", [])}
    assert "CVE-2021-33503" in now_cves and "CVE-2020-28493" not in now_cves  # jinja2's gone
    assert now_cves < remote_cves  # fewer, none new

    before = _stored_counts(c.db_url, body["id"])
    assert before[0] == len(now_cves) and before[1] > 0

    # the Matcher goes away: the scan fails with the reason on the image, results untouched
    scanner.matcher.stop()
    r = await c.admin("POST", "/v1/images/scan", json={"imageName": image, "force": True})
    assert r.status_code == 502, r.text
    message = r.json()["message"]
    assert "Matcher" in message and "cannot be reached" in message
    with psycopg.connect(c.db_url) as conn:
        state, error = conn.execute(
            "SELECT scan_state, scan_error FROM images WHERE id = %s", (body["id"],)
        ).fetchone()
    assert state == "FAILED" and "Matcher" in error
    assert _stored_counts(c.db_url, body["id"]) == before  # nothing half-written
    assert await watcher.check_once() is False  # the next scheduled question finds it down
    data = (await c.admin("GET", "/v1/scanner/vulnerability-data")).json()
    assert data["status"] == "UNAVAILABLE" and "Matcher" in data["message"]
    ready = await c.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["scanner"] == {"status": "UNAVAILABLE"}


async def test_status_of_a_matcher_that_never_answers_does_not_hold_readiness(
    start_central, make_database, certs: Path
) -> None:
    # a listening socket that never accepts or reads: every question runs to its deadline
    with socket.socket() as blackhole:
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(64)
        address = f"127.0.0.1:{blackhole.getsockname()[1]}"
        flags = {
            "scanner_indexer_endpoint": address,
            "scanner_matcher_endpoint": address,
            "scanner_tls_ca": certs / "ca.pem",
            "scanner_tls_cert": certs / "central.pem",
            "scanner_tls_key": certs / "central-key.pem",
        }
        c = await start_central(make_database(), **flags)
        watcher = c.central.data_watcher
        assert watcher is not None
        backend = c.central.scanner.backend
        asking = {"now": 0, "most": 0, "total": 0}
        ask = backend.data_status

        def counted() -> object:
            asking["now"] += 1
            asking["total"] += 1
            asking["most"] = max(asking["most"], asking["now"])
            try:
                return ask()
            finally:
                asking["now"] -= 1

        backend.data_status = counted

        async def probe() -> tuple[float, dict[str, object]]:
            started = time.monotonic()
            r = await c.client.get("/readyz")
            assert r.status_code == 200, r.text
            return time.monotonic() - started, r.json()

        # no answer yet: readiness says so at once, however many probes arrive
        answers = await asyncio.gather(*(probe() for _ in range(20)))
        assert all(took < 1.0 for took, _ in answers), answers
        assert {body["scanner"]["status"] for _, body in answers} <= {"UNKNOWN"}

        # the question out (the watcher's first, up to the 5 s deadline) is shared
        status = await asyncio.wait_for(watcher.status(), timeout=30)
        assert status.status == "UNAVAILABLE" and "Matcher" in status.message
        took, body = await probe()
        assert took < 1.0 and body["scanner"] == {"status": "UNAVAILABLE"}

        # stale: probes still answer at once; the status route asks again, one question
        # for all the callers arriving together
        watcher.status_max_age = 0.0
        took, body = await probe()
        assert took < 1.0 and body["scanner"] == {"status": "UNAVAILABLE"}
        routes = await asyncio.wait_for(
            asyncio.gather(*(c.admin("GET", "/v1/scanner/vulnerability-data") for _ in range(5))),
            timeout=30,
        )
        assert all(r.json()["status"] == "UNAVAILABLE" for r in routes)
        assert asking["most"] == 1  # never two questions at once
        assert asking["total"] <= 3  # the probe's background one, and the routes' one


async def test_client_certificate_with_another_unit_is_refused(
    start_central, make_database, scanner: Scanner, auth_registry, tmp_path: Path
) -> None:
    certs = scanner.certs
    ca = pki.load_keypair((certs / "ca.pem").read_bytes(), (certs / "ca-key.pem").read_bytes())
    sensor = pki.issue(ca, "sensor", organizational_unit="SENSOR", server=False)
    (tmp_path / "sensor.pem").write_bytes(sensor.cert_pem)
    (tmp_path / "sensor-key.pem").write_bytes(sensor.key_pem)
    c = await start_central(
        make_database(),
        **_remote_flags(scanner, tmp_path / "sensor.pem", tmp_path / "sensor-key.pem"),
    )
    data = (await c.admin("GET", "/v1/scanner/vulnerability-data")).json()
    assert data["status"] == "UNAVAILABLE"
    assert "refused this client's certificate" in data["message"]
    await c.admin("POST", "/v1/imageintegrations", json=_integration(auth_registry.address))
    image = f"{auth_registry.address}/private/test:latest"
    r = await c.admin("POST", "/v1/images/scan", json={"imageName": image})
    assert r.status_code == 502
    assert "refused this client's certificate" in r.json()["message"]


def test_vulnerability_bundle_with_remote_scanner_is_refused(tmp_path: Path) -> None:
    from stockade.central.config import load_config

    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(b"")
    flags = {
        "scanner_indexer_endpoint": "127.0.0.1:1",
        "scanner_matcher_endpoint": "127.0.0.1:2",
        "scanner_tls_ca": tmp_path / "ca.pem",
        "scanner_tls_cert": tmp_path / "c.pem",
        "scanner_tls_key": tmp_path / "k.pem",
        "vuln_bundle": bundle,
    }
    with pytest.raises(ConfigError, match=r"--vuln-bundle .* Matcher owns the vulnerability data"):
        load_config(flags, environ={})
    flags.pop("vuln_bundle")
    flags.pop("scanner_tls_key")
    with pytest.raises(ConfigError, match="scanner_tls_key"):
        load_config(flags, environ={})
