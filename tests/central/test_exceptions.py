"""The exception workflow: a requester asks, an approver decides, approved exceptions hide
findings from vulnerability lists and build checks until they expire; all of it audited."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from stockade.model.image import Component, Image, ImageName, Severity, Vulnerability

pytestmark = pytest.mark.integration

DIGEST = "sha256:" + "a" * 64
LOG4J = Component(
    "log4j-core",
    "2.14.1",
    "java",
    "/app/log4j.jar",
    1,
    (
        Vulnerability("CVE-2021-44228", cvss=10.0, severity=Severity.CRITICAL, fixed_by="2.15.0"),
        Vulnerability("CVE-2021-45046", cvss=9.0, severity=Severity.CRITICAL, fixed_by="2.16.0"),
    ),
)
CVE_POLICY = {
    "name": "No Log4Shell",
    "severity": "CRITICAL_SEVERITY",
    "lifecycleStages": ["BUILD"],
    "categories": ["Vulnerability Management"],
    "enforcementActions": ["FAIL_BUILD_ENFORCEMENT"],
    "policySections": [
        {"policyGroups": [{"fieldName": "CVE", "values": [{"value": "CVE-2021-44228"}]}]}
    ],
}
IMAGE_JSON = {
    "name": "quay.io/acme/web:1.0",
    "components": [
        {
            "name": "log4j-core",
            "version": "2.14.1",
            "source": "java",
            "vulns": [
                {"cve": "CVE-2021-44228", "cvss": 10.0, "severity": "CRITICAL", "fixedBy": "2.15.0"}
            ],
        }
    ],
}


async def cves(central, query: str = "") -> list[str]:
    r = await central.admin("GET", f"/v1/cves{query}")
    assert r.status_code == 200, r.text
    return sorted(c["cve"] for c in r.json()["cves"])


async def test_request_approve_hide_and_expire(central) -> None:
    await central.central.images.save_scan(
        Image(
            name=ImageName.parse("quay.io/acme/web:1.0"),
            id=DIGEST,
            components=(LOG4J,),
            scanned=dt.datetime.now(dt.UTC),
        )
    )
    assert (await central.admin("POST", "/v1/policies", json=CVE_POLICY)).status_code == 200
    requester = await central.token_for("Vulnerability Management Requester", "alice")
    approver = await central.token_for("Vulnerability Management Approver", "bob")
    ci = await central.token_for("Continuous Integration", "ci")

    async def build_check() -> set[str]:
        r = await central.as_token(ci, "POST", "/v1/detect/build", json={"image": IMAGE_JSON})
        return {a["policy"]["name"] for a in r.json()["alerts"]}

    assert "No Log4Shell" in await build_check()
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat()
    r = await central.as_token(
        requester,
        "POST",
        "/v2/vulnerability-exceptions/deferral",
        json={
            "cves": ["CVE-2021-44228"],
            "comment": "patched in the next release",
            "scope": {"imageScope": {"registry": "quay.io", "remote": "acme/web", "tag": ".*"}},
            "exceptionExpiry": {"expiryType": "TIME", "expiresOn": expires},
        },
    )
    assert r.status_code == 200, r.text
    exc = r.json()["exception"]
    assert exc["status"] == "PENDING" and exc["requester"]["name"] == "token:alice"
    # pending: nothing hidden yet; the requester cannot approve
    assert await cves(central) == ["CVE-2021-44228", "CVE-2021-45046"]
    r = await central.as_token(
        requester, "POST", f"/v2/vulnerability-exceptions/{exc['id']}/approve", json={}
    )
    assert r.status_code == 403
    r = await central.as_token(
        approver,
        "POST",
        f"/v2/vulnerability-exceptions/{exc['id']}/approve",
        json={"comment": "ok until the release"},
    )
    assert r.status_code == 200 and r.json()["exception"]["status"] == "APPROVED"

    assert await cves(central) == ["CVE-2021-45046"]
    assert await cves(central, "?query=Vulnerability%20State:DEFERRED") == ["CVE-2021-44228"]
    assert "No Log4Shell" not in await build_check()
    loaded = await central.central.images.load(DIGEST)
    assert [v.cve for v in loaded.components[0].vulnerabilities] == ["CVE-2021-45046"]
    # a second decision is refused
    r = await central.as_token(approver, "POST", f"/v2/vulnerability-exceptions/{exc['id']}/deny")
    assert r.status_code == 409

    # expiry brings the finding back
    with psycopg.connect(central.db_url) as conn:
        conn.execute("UPDATE vuln_exceptions SET expires_at = now() - interval '1 second'")
    assert await central.central.exceptions.expire_due() == 1
    assert await cves(central) == ["CVE-2021-44228", "CVE-2021-45046"]
    assert "No Log4Shell" in await build_check()

    events = (await central.admin("GET", "/v1/auditlog")).json()["events"]
    paths = {(e["principal"], e["path"].rsplit("/", 1)[-1]) for e in events}
    assert ("token:alice", "deferral") in paths and ("token:bob", "approve") in paths


async def test_false_positive_applies_to_images_scanned_later(central) -> None:
    admin_fp = await central.admin(
        "POST",
        "/v2/vulnerability-exceptions/false-positive",
        json={"cves": ["CVE-2021-45046"], "comment": "not reachable in our build"},
    )
    exc = admin_fp.json()["exception"]
    assert exc["scope"]["imageScope"] == {"registry": ".*", "remote": ".*", "tag": ".*"}
    # the requester cannot decide their own request, even as admin
    r = await central.admin("POST", f"/v2/vulnerability-exceptions/{exc['id']}/approve")
    assert r.status_code == 403
    approver = await central.token_for("Vulnerability Management Approver", "bob")
    r = await central.as_token(
        approver, "POST", f"/v2/vulnerability-exceptions/{exc['id']}/approve"
    )
    assert r.status_code == 200
    await central.central.images.save_scan(
        Image(
            name=ImageName.parse("quay.io/acme/other:3"),
            id="sha256:" + "b" * 64,
            components=(LOG4J,),
            scanned=dt.datetime.now(dt.UTC),
        )
    )
    assert await cves(central) == ["CVE-2021-44228"]
    assert await cves(central, "?query=Vulnerability%20State:FALSE_POSITIVE") == ["CVE-2021-45046"]


async def test_bad_requests_are_named(central) -> None:
    requester = await central.token_for("Vulnerability Management Requester")
    r = await central.as_token(
        requester,
        "POST",
        "/v2/vulnerability-exceptions/deferral",
        json={"cves": ["CVE-1"], "comment": " "},
    )
    assert r.status_code == 400 and "comment" in r.json()["message"]
    r = await central.as_token(
        requester,
        "POST",
        "/v2/vulnerability-exceptions/deferral",
        json={
            "cves": ["CVE-1"],
            "comment": "x",
            "exceptionExpiry": {"expiryType": "TIME", "expiresOn": "2001-01-01T00:00:00Z"},
        },
    )
    assert r.status_code == 400 and "future" in r.json()["message"]
    analyst = await central.token_for("Analyst")
    r = await central.as_token(
        analyst,
        "POST",
        "/v2/vulnerability-exceptions/false-positive",
        json={"cves": ["CVE-1"], "comment": "x"},
    )
    assert r.status_code == 403


async def test_cancel_withdraws_and_brings_findings_back(central) -> None:
    await central.central.images.save_scan(
        Image(
            name=ImageName.parse("quay.io/acme/web:1.0"),
            id=DIGEST,
            components=(LOG4J,),
            scanned=dt.datetime.now(dt.UTC),
        )
    )
    requester = await central.token_for("Vulnerability Management Requester", "alice")
    approver = await central.token_for("Vulnerability Management Approver", "bob")
    r = await central.as_token(
        requester,
        "POST",
        "/v2/vulnerability-exceptions/false-positive",
        json={"cves": ["CVE-2021-44228"], "comment": "unreachable"},
    )
    exc_id = r.json()["exception"]["id"]
    r = await central.as_token(approver, "POST", f"/v2/vulnerability-exceptions/{exc_id}/approve")
    assert r.status_code == 200
    assert await cves(central) == ["CVE-2021-45046"]
    r = await central.as_token(requester, "POST", f"/v2/vulnerability-exceptions/{exc_id}/cancel")
    assert r.status_code == 200 and r.json()["exception"]["status"] == "CANCELED"
    assert await cves(central) == ["CVE-2021-44228", "CVE-2021-45046"]
    r = await central.as_token(approver, "POST", f"/v2/vulnerability-exceptions/{exc_id}/other")
    assert r.status_code == 400
