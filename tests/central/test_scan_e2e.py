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
    assert await asyncio.to_thread(load_pypi_advisories, central.db_url) > 0
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
