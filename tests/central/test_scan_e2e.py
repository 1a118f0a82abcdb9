"""End to end on real parts: the test image in a real registry with basic auth, an image
integration holding its credentials, real PyPI advisories from OSV loaded into the Matcher's
store, a scan through Central's API, the expected CVEs stored, and a FAIL_BUILD policy."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

import psycopg
import pytest

from stockade.central.scanning import ensure_scanner_database
from stockade.scanner.matcher.sources import make_updater
from stockade.scanner.matcher.store import VulnerabilityStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
OSV_PYPI = REPO / ".." / "shared" / "vulndata" / "osv-pypi"

# The Indexer suite's fixtures: the real test image and a real registry with basic auth.
_spec = importlib.util.spec_from_file_location(
    "indexer_fixtures", REPO / "tests" / "scanner" / "indexer" / "conftest.py"
)
assert _spec and _spec.loader
_fixtures = importlib.util.module_from_spec(_spec)
sys.modules["indexer_fixtures"] = _fixtures  # dataclasses look their module up
_spec.loader.exec_module(_fixtures)
test_image = _fixtures.test_image
auth_registry = _fixtures.auth_registry


def load_pypi_advisories(db_url: str) -> int:
    store = VulnerabilityStore(db_url)
    store.migrate()
    run = store.update(make_updater("osv-pypi", offline=OSV_PYPI))
    assert run.status == "updated", run
    return store.count()


async def test_scan_through_api_with_registry_credentials(central, auth_registry) -> None:
    assert await asyncio.to_thread(load_pypi_advisories, central.central.scanner_url) > 0
    image = f"{auth_registry.address}/private/test:latest"

    # without credentials the registry refuses: the reason is stored, nothing else is
    r = await central.admin("POST", "/v1/images/scan", json={"imageName": image})
    assert r.status_code == 502, r.text
    assert "private/test" in r.json()["message"]
    with psycopg.connect(central.db_url) as conn:
        row = conn.execute("SELECT scan_state, scan_error, cves_count FROM images").fetchone()
        assert row[0] == "FAILED" and row[1] and row[2] == 0
        assert conn.execute("SELECT count(*) FROM image_cves").fetchone()[0] == 0

    integ = {
        "name": "local",
        "type": "docker",
        "docker": {
            "endpoint": auth_registry.address,
            "username": "alice",
            "password": "wrong",
            "insecure": True,
        },
    }
    r = await central.admin("POST", "/v1/imageintegrations/test", json=integ)
    assert r.status_code == 400 and "registry test failed" in r.json()["message"]
    integ["docker"]["password"] = "wonderland"
    assert (
        await central.admin("POST", "/v1/imageintegrations/test", json=integ)
    ).status_code == 200
    r = await central.admin("POST", "/v1/imageintegrations", json=integ)
    assert r.status_code == 200, r.text
    assert r.json()["docker"]["password"] == "******"
    listed = (await central.admin("GET", "/v1/imageintegrations")).text
    assert "wonderland" not in listed
    with psycopg.connect(central.db_url) as conn:
        sealed = conn.execute("SELECT password FROM image_integrations").fetchone()[0]
        assert b"wonderland" not in bytes(sealed)

    policy = {
        "name": "No vulnerable urllib3",
        "severity": "HIGH_SEVERITY",
        "lifecycleStages": ["BUILD"],
        "categories": ["Vulnerability Management"],
        "enforcementActions": ["FAIL_BUILD_ENFORCEMENT"],
        "policySections": [
            {
                "policyGroups": [
                    {"fieldName": "Image Component", "values": [{"value": "urllib3="}]},
                    {"fieldName": "Fixed By", "values": [{"value": ".*"}]},
                ]
            }
        ],
    }
    assert (await central.admin("POST", "/v1/policies", json=policy)).status_code == 200

    ci = await central.token_for("Continuous Integration")
    r1, r2 = await asyncio.gather(  # concurrent scans of one image share one run
        central.as_token(ci, "POST", "/v1/images/scan", json={"imageName": image, "force": True}),
        central.as_token(ci, "POST", "/v1/images/scan", json={"imageName": image, "force": True}),
    )
    assert r1.status_code == 200, r1.text
    assert r1.json()["id"] == r2.json()["id"]
    body = r1.json()
    assert body["scanState"] == "SCANNED" and body["id"].startswith("sha256:")
    comps = {c["name"]: c for c in body["components"]}
    assert "urllib3" in comps and "jinja2" in {n.lower() for n in comps}
    ids = {v["cve"] for c in body["components"] for v in c.get("vulns", [])}
    # urllib3 1.26.4 and Jinja2 2.11.2 carry these advisories in the real OSV data (by CVE
    # alias where one exists)
    assert {"CVE-2021-33503", "CVE-2023-43804", "CVE-2023-45803", "CVE-2020-28493"} <= ids

    r = await central.admin("GET", "/v1/cves?query=Component:urllib3")
    assert "CVE-2021-33503" in {c["cve"] for c in r.json()["cves"]}
    r = await central.admin("GET", "/v1/alerts?query=Lifecycle%20Stage:BUILD")
    assert "No vulnerable urllib3" in {a["policy"]["name"] for a in r.json()["alerts"]}
    r = await central.as_token(ci, "POST", "/v1/detect/build", json={"imageName": image})
    assert r.status_code == 200, r.text
    enforced = [a for a in r.json()["alerts"] if a.get("enforcement")]
    assert "No vulnerable urllib3" in {a["policy"]["name"] for a in enforced}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_scan_and_sbom_against_a_running_central(
    make_database, auth_registry, tmp_path: Path
) -> None:
    import base64
    import json
    import os
    import ssl
    import subprocess
    import time

    import httpx

    db_url = make_database()
    load_pypi_advisories(ensure_scanner_database(db_url))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKADE_")}
    central = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stockade.cli.main",
            "central",
            "--data-dir",
            str(tmp_path),
            "--db-url",
            db_url,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ca = tmp_path / "ca.pem"
        base = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if ca.exists():
                try:
                    httpx.get(f"{base}/v1/ping", verify=ssl.create_default_context(cafile=str(ca)))
                    break
                except httpx.TransportError:
                    pass
            assert central.poll() is None, central.stderr.read() if central.stderr else ""
            time.sleep(0.3)
        verify = ssl.create_default_context(cafile=str(ca))
        password = (tmp_path / "admin-password").read_text().strip()
        auth = {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}
        r = httpx.post(
            f"{base}/v1/imageintegrations",
            verify=verify,
            headers=auth,
            json={
                "name": "local",
                "type": "docker",
                "docker": {
                    "endpoint": auth_registry.address,
                    "username": "alice",
                    "password": "wonderland",
                    "insecure": True,
                },
            },
        )
        assert r.status_code == 200, r.text
        token = httpx.post(
            f"{base}/v1/apitokens/generate",
            verify=verify,
            headers=auth,
            json={"name": "ci", "role": "Continuous Integration"},
        ).json()["token"]
        token_file = tmp_path / "token"
        token_file.write_text(token)
        image = f"{auth_registry.address}/private/test:latest"

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "stockade.cli.main",
                    "image",
                    *args,
                    "-i",
                    image,
                    "-e",
                    f"127.0.0.1:{port}",
                    "--token-file",
                    str(token_file),
                    "--ca",
                    str(ca),
                ],
                capture_output=True,
                text=True,
                timeout=600,
                env=env,
                check=False,
            )

        out = cli("scan", "-o", "json")
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        cves = {f["cve"] for f in doc["findings"]}
        assert {"CVE-2021-33503", "CVE-2020-28493"} <= cves
        out = cli("scan", "--severity", "CRITICAL,IMPORTANT", "--fail", "-o", "csv")
        assert out.returncode == 1
        rows = out.stdout.splitlines()[1:]
        assert rows and all(",CRITICAL," in r or ",IMPORTANT," in r for r in rows)
        out = cli("scan", "-o", "sarif")
        sarif = json.loads(out.stdout)
        assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
        out = cli("sbom")
        assert out.returncode == 0, out.stderr
        spdx = json.loads(out.stdout)
        assert spdx["spdxVersion"] == "SPDX-2.3"
        assert "urllib3" in {p["name"] for p in spdx["packages"]}
        # a build-stage FAIL_BUILD policy on one of the image's CVEs fails the CI check
        out = cli("check", "-o", "json")
        enforcing = {
            v["policy"]["name"]
            for result in json.loads(out.stdout)["results"]
            for v in result["violations"]
            if v["policy"]["enforcementActions"]
        }
        assert out.returncode == (1 if enforcing else 0), out.stderr
        # the default policies that fail this build are disabled, so that ours decides
        listed = httpx.get(f"{base}/v1/policies", verify=verify, headers=auth).json()
        for p in listed["policies"]:
            if p["name"] in enforcing:
                r = httpx.patch(
                    f"{base}/v1/policies/{p['id']}",
                    verify=verify,
                    headers=auth,
                    json={"disabled": True},
                )
                assert r.status_code == 200, r.text
        out = cli("check", "-o", "json")
        assert out.returncode == 0, out.stdout + out.stderr
        r = httpx.post(
            f"{base}/v1/policies",
            verify=verify,
            headers=auth,
            json={
                "name": "No vulnerable urllib3",
                "severity": "HIGH_SEVERITY",
                "categories": ["Vulnerability Management"],
                "lifecycleStages": ["BUILD"],
                "enforcementActions": ["FAIL_BUILD_ENFORCEMENT"],
                "policySections": [
                    {
                        "policyGroups": [
                            {"fieldName": "CVE", "values": [{"value": "CVE-2021-33503"}]}
                        ]
                    }
                ],
            },
        )
        assert r.status_code == 200, r.text
        out = cli("check", "-o", "json")
        assert out.returncode == 1, out.stdout + out.stderr
        assert "No vulnerable urllib3" in out.stdout
        out = cli("scan", "--severity", "SEVERE")
        assert out.returncode == 2 and "unknown severity" in out.stderr
        bad = subprocess.run(
            [
                sys.executable,
                "-m",
                "stockade.cli.main",
                "image",
                "scan",
                "-i",
                "UPPER/Case",
                "-e",
                f"127.0.0.1:{port}",
                "--token-file",
                str(token_file),
                "--ca",
                str(ca),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert bad.returncode == 3 and "not a valid reference" in bad.stderr
        assert "Traceback" not in bad.stderr
    finally:
        central.terminate()
        central.wait(timeout=60)


async def test_new_vulnerability_data_rematches_without_reindexing(central, auth_registry) -> None:
    image = f"{auth_registry.address}/private/test:latest"
    integ = {
        "name": "local",
        "type": "docker",
        "docker": {
            "endpoint": auth_registry.address,
            "username": "alice",
            "password": "wonderland",
            "insecure": True,
        },
    }
    assert (await central.admin("POST", "/v1/imageintegrations", json=integ)).status_code == 200
    r = await central.admin("POST", "/v1/images/scan", json={"imageName": image})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cves"] == 0
    assert any("no vulnerability data" in n for n in body["notes"])  # not "clean"

    await asyncio.to_thread(load_pypi_advisories, central.central.scanner_url)
    service = central.central.scanner
    calls: list[str] = []
    original = service.backend.index

    def spy(reference, options):  # a re-index would call this
        calls.append(reference)
        return original(reference, options)

    service.backend.index = spy
    assert await service.rematch_all() == 1
    assert calls == []
    r = await central.admin("GET", f"/v1/images/{body['id']}")
    after = r.json()
    assert after["cves"] > 0
    assert not any("no vulnerability data has been loaded" in n for n in after["notes"])
