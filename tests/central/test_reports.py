"""Vulnerability reports end to end on a real Central: collections and their dry run,
report configurations refused naming the wrong field, an on-demand report downloaded and
mailed (a real SMTP server receives the zip), compared row for row with a golden file, a
deferred CVE left out, and a scheduled report that fails while SMTP is down and is
delivered once it is back."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import time
import zipfile
from email.message import Message
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.central.notifiers.receivers import SmtpReceiver, free_port
from tests.central.test_vulnerabilities import image

from stockade.central.reports.schedule import Schedule, next_run
from stockade.model.image import Component, Severity, Vulnerability

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).parent / "golden" / "reports"
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
SEEN = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

LOG4J = Component(
    "log4j-core",
    "2.14.1",
    "java",
    "/app/lib/log4j-core-2.14.1.jar",
    1,
    (
        Vulnerability(
            "CVE-2021-44228",
            cvss=10.0,
            nvd_cvss=10.0,
            severity=Severity.CRITICAL,
            fixed_by="2.15.0, 2.12.2",  # a comma: the CSV must quote it
            epss=0.97,
        ),
        Vulnerability("CVE-2021-45046", cvss=9.0, severity=Severity.CRITICAL, fixed_by="2.16.0"),
    ),
)
OPENSSL = Component(
    "openssl",
    "3.0.11-1",
    "dpkg",
    "var/lib/dpkg/status",
    0,
    (Vulnerability("CVE-2023-5678", cvss=5.3, nvd_cvss=5.3, severity=Severity.MODERATE),),
)
REQUESTS = Component(
    "requests",
    "2.25.0",
    "pypi",
    "/usr/lib/python3/site-packages",
    2,
    (
        Vulnerability(
            "GHSA-j8r2-6x86-q33q", cvss=6.1, severity=Severity.MODERATE, fixed_by="2.31.0"
        ),
    ),
)
ZLIB = Component("zlib1g", "1:1.2.13", "dpkg", "var/lib/dpkg/status", 0)


async def seed(central: Any, seed_inventory: Any) -> dict[str, str]:
    """prod/shop: web (D1) and api (D2); prod/ops: job (D2); staging/shop: web (D1)."""
    ids: dict[str, str] = seed_inventory(
        central.db_url,
        {
            "prod": {
                "namespaces": {
                    "shop": {"deployments": ["web", "api"]},
                    "ops": {"deployments": ["job"]},
                }
            },
            "staging": {"namespaces": {"shop": {"deployments": ["web"]}}},
        },
    )
    store = central.central.images
    await store.save_scan(image(D1, "quay.io/acme/web:1.0", [LOG4J, OPENSSL, ZLIB]))
    await store.save_scan(image(D2, "quay.io/acme/api:2.0", [OPENSSL, REQUESTS, ZLIB]))
    uses = [
        ("prod/shop/web", "web", "quay.io/acme/web:1.0", D1),
        ("prod/shop/web", "sidecar", "quay.io/acme/web:1.0", D1),  # same image twice: one row
        ("prod/shop/api", "api", "quay.io/acme/api:2.0", D2),
        ("prod/ops/job", "job", "quay.io/acme/api:2.0", D2),
        ("staging/shop/web", "web", "quay.io/acme/web:1.0", D1),
    ]
    with psycopg.connect(central.db_url) as conn:
        for dep, container, name, digest in uses:
            conn.execute(
                "INSERT INTO deployment_images (deployment_id, container, image_name, image_id)"
                " VALUES (%s, %s, %s, %s)",
                (ids[dep], container, name, digest),
            )
        conn.execute("UPDATE image_cves SET first_seen_image = %s", (SEEN,))
    return ids


async def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def defer(central: Any, cve: str) -> None:
    requester = await central.token_for("Vulnerability Management Requester", "alice")
    exc = await ok(
        await central.as_token(
            requester,
            "POST",
            "/v2/vulnerability-exceptions/deferral",
            json={
                "cves": [cve],
                "comment": "not reachable",
                "exceptionExpiry": {"expiryType": "ALL_CVE_FIXABLE"},
            },
        )
    )
    await ok(
        await central.admin(
            "POST", f"/v2/vulnerability-exceptions/{exc['exception']['id']}/approve", json={}
        )
    )


SHOP = {
    "name": "prod shop",
    "description": "the shop namespace in prod",
    "resourceSelectors": [
        {
            "rules": [
                {"fieldName": "Cluster", "values": [{"value": "prod", "matchType": "EXACT"}]},
                {"fieldName": "Namespace", "values": [{"value": "sh.p", "matchType": "REGEX"}]},
            ]
        }
    ],
}


def email_notifier(port: int) -> dict[str, Any]:
    return {
        "type": "email",
        "name": "reports mail",
        "labelDefault": "security@example.com",
        "email": {
            "server": f"127.0.0.1:{port}",
            "sender": "stockade@example.com",
            "from": "Stockade",
            "disableTLS": True,
            "allowUnauthenticatedSmtp": True,
        },
    }


def report_config(collection_id: str, notifier_id: str, **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "shop weekly",
        "description": "prod shop findings",
        "type": "VULNERABILITY",
        "vulnReportFilters": {
            "fixability": "BOTH",
            "severities": [
                "CRITICAL_VULNERABILITY_SEVERITY",
                "IMPORTANT_VULNERABILITY_SEVERITY",
                "MODERATE_VULNERABILITY_SEVERITY",
            ],
            "allVuln": True,
            "includeNvdCvss": True,
            "includeEpssProbability": True,
        },
        "resourceScope": {"collectionScope": {"collectionId": collection_id}},
        "schedule": {
            "intervalType": "WEEKLY",
            "hour": 6,
            "minute": 30,
            "daysOfWeek": {"days": [1]},
        },
        "notifiers": [
            {
                "emailConfig": {
                    "notifierId": notifier_id,
                    "mailingLists": ["team@example.com", "lead@example.com"],
                    "customSubject": "Shop vulnerabilities",
                }
            }
        ],
    }
    doc.update(over)
    return doc


def csv_in_zip(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        (name,) = zf.namelist()
        assert name.endswith(".csv")
        return zf.read(name).decode()


def attachment(msg: Message) -> tuple[str, bytes]:
    parts = [p for p in msg.walk() if p.get_content_disposition() == "attachment"]
    (part,) = parts
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return str(part.get_filename()), payload


async def wait_state(central: Any, job_id: str, states: set[str], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        status = (await ok(await central.admin("GET", f"/v2/reports/jobs/{job_id}/status")))[
            "status"
        ]
        if status["runState"] in states:
            return status
        assert time.monotonic() < deadline, f"job still {status['runState']}"
        await asyncio.sleep(0.05)


async def run_report(central: Any, config_id: str, method: str) -> tuple[Any, Any]:
    """Run on demand; the job's status once it has finished."""
    body = {"reportConfigId": config_id, "reportNotificationMethod": method}
    run = await ok(await central.admin("POST", "/v2/reports/run", json=body))
    done = {"GENERATED", "DELIVERED", "FAILURE"}
    return run, await wait_state(central, run["reportId"], done)


async def setup(central: Any, seed_inventory: Any, smtp_port: int) -> tuple[str, str]:
    await seed(central, seed_inventory)
    await defer(central, "CVE-2021-45046")
    coll = (await ok(await central.admin("POST", "/v1/collections", json=SHOP)))["collection"]
    notifier = await ok(
        await central.admin("POST", "/v1/notifiers", json=email_notifier(smtp_port))
    )
    return coll["id"], notifier["id"]


@pytest.fixture
def smtp() -> Any:
    r = SmtpReceiver().start()
    yield r
    r.stop()


async def test_collection_dry_run_and_crud(central: Any, seed_inventory: Any) -> None:
    await seed(central, seed_inventory)
    dry = await ok(await central.admin("POST", "/v1/collections/dryrun", json=SHOP))
    assert [(d["clusterName"], d["namespace"], d["name"]) for d in dry["deployments"]] == [
        ("prod", "shop", "api"),
        ("prod", "shop", "web"),
    ]
    by_label = {
        "resourceSelectors": [
            {
                "rules": [
                    {"fieldName": "Deployment Label", "values": [{"value": "app=job"}]},
                ]
            },
            {"rules": [{"fieldName": "Cluster", "values": [{"value": "staging"}]}]},
        ]
    }
    dry = await ok(await central.admin("POST", "/v1/collections/dryrun", json=by_label))
    assert [(d["clusterName"], d["name"]) for d in dry["deployments"]] == [
        ("prod", "job"),
        ("staging", "web"),
    ]
    coll = (await ok(await central.admin("POST", "/v1/collections", json=SHOP)))["collection"]
    assert coll["createdBy"]["name"] == "admin"
    got = await ok(await central.admin("GET", f"/v1/collections/{coll['id']}"))
    assert got["collection"]["resourceSelectors"][0]["rules"][1]["values"] == [
        {"value": "sh.p", "matchType": "REGEX"}
    ]
    assert (await ok(await central.admin("GET", "/v1/collectionscount")))["count"] == 1
    r = await central.admin("POST", "/v1/collections", json=SHOP)
    assert r.status_code == 409
    renamed = {**SHOP, "name": "shop (prod)"}
    r = await central.admin("PATCH", f"/v1/collections/{coll['id']}", json=renamed)
    assert (await ok(r))["collection"]["name"] == "shop (prod)"
    assert (await ok(await central.admin("GET", "/v1/collections/selectors")))["selectors"][0] == (
        "Cluster"
    )
    await ok(await central.admin("DELETE", f"/v1/collections/{coll['id']}"))
    assert (await central.admin("GET", f"/v1/collections/{coll['id']}")).status_code == 404
    # the audit log has every change
    with psycopg.connect(central.db_url) as conn:
        rows = conn.execute(
            "SELECT method, path, status FROM audit_log WHERE path LIKE '/v1/collections%%'"
            " ORDER BY id"
        ).fetchall()
    assert [(m, s) for m, path, s in rows if not path.endswith("/dryrun")] == [
        ("POST", 200),
        ("POST", 409),
        ("PATCH", 200),
        ("DELETE", 200),
    ]


async def test_on_demand_download_and_email_match_golden(
    central: Any, seed_inventory: Any, smtp: SmtpReceiver
) -> None:
    coll_id, notifier_id = await setup(central, seed_inventory, smtp.port)
    cfg = await ok(
        await central.admin(
            "POST", "/v2/reports/configurations", json=report_config(coll_id, notifier_id)
        )
    )
    assert cfg["nextRunAt"] is not None and cfg["vulnReportFilters"]["allVuln"] is True
    golden = (GOLDEN / "prod-shop.csv").read_bytes().decode()  # CRLF, as written

    run, status = await run_report(central, cfg["id"], "DOWNLOAD")
    assert status["runState"] == "GENERATED", status
    assert status["reportRequestType"] == "ON_DEMAND" and status["rows"] == 4
    r = await central.admin("GET", f"/api/reports/jobs/download?id={run['reportId']}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert "Stockade_Vulnerability_Report_shop_weekly_" in r.headers["content-disposition"]
    text = csv_in_zip(r.content)
    assert text == golden
    assert "CVE-2021-45046" not in text  # deferred
    # only its requester downloads it
    other = await central.token_for("Admin", "someone")
    r = await central.as_token(other, "GET", f"/api/reports/jobs/download?id={run['reportId']}")
    assert r.status_code == 404

    run, status = await run_report(central, cfg["id"], "EMAIL")
    assert status["runState"] == "DELIVERED", status
    (sender, rcpts, msg) = smtp.mails[-1]
    assert sender == "stockade@example.com"
    assert rcpts == ["team@example.com", "lead@example.com"]
    assert msg["Subject"] == "Shop vulnerabilities"
    name, data = attachment(msg)
    assert name.startswith("Stockade_Vulnerability_Report_shop_weekly_") and name.endswith(".zip")
    assert csv_in_zip(data) == golden
    # an on-demand email does not move "last sent" (only scheduled deliveries do)
    assert (await ok(await central.admin("GET", f"/v2/reports/configurations/{cfg['id']}")))[
        "lastSentAt"
    ] is None
    hist = await ok(await central.admin("GET", f"/v2/reports/configurations/{cfg['id']}/history"))
    assert [
        (h["reportStatus"]["runState"], h["isDownloadAvailable"]) for h in hist["reportSnapshots"]
    ] == [
        ("DELIVERED", False),
        ("GENERATED", True),
    ]


async def test_scheduled_report_retries_until_smtp_is_back(
    central: Any, seed_inventory: Any
) -> None:
    port = free_port()  # nothing listens yet
    coll_id, notifier_id = await setup(central, seed_inventory, port)
    doc = report_config(coll_id, notifier_id)
    doc["vulnReportFilters"] = {
        **doc["vulnReportFilters"],
        "allVuln": False,
        "sinceLastSentScheduledReport": True,
        "severities": [],
        "fixability": "FIXABLE",
    }
    cfg = await ok(await central.admin("POST", "/v2/reports/configurations", json=doc))
    service = central.central.reports
    await service.stop()  # this test ticks by hand, with its own clock
    now = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC)  # a Wednesday
    service.clock = lambda: now
    with psycopg.connect(central.db_url) as conn:
        conn.execute(
            "UPDATE report_configs SET next_run_at = %s WHERE id = %s",
            (now - dt.timedelta(minutes=1), cfg["id"]),
        )
    await service.tick()
    stored = await ok(await central.admin("GET", f"/v2/reports/configurations/{cfg['id']}"))
    assert stored["nextRunAt"] == "2026-03-09T06:30:00Z"  # the next Monday
    assert stored["nextRunAt"] == next_run(
        Schedule("WEEKLY", 6, 30, (1,)), now
    ).isoformat().replace("+00:00", "Z")
    (job,) = (
        await ok(await central.admin("GET", f"/v2/reports/configurations/{cfg['id']}/history"))
    )["reportSnapshots"]
    status = job["reportStatus"]
    assert status["runState"] == "FAILURE" and status["reportRequestType"] == "SCHEDULED"
    assert status["errorMsg"] == (
        f"email through notifier 'reports mail' failed: cannot connect to 127.0.0.1:{port}"
    )
    assert stored["lastSentAt"] is None

    smtp = SmtpReceiver(port=port).start()
    try:
        await service.tick()  # the failed job is retried on the next tick
        status = await wait_state(central, job["reportJobId"], {"DELIVERED"}, timeout=0)
        assert status["attempts"] == 2
        assert len(smtp.mails) == 1
        with psycopg.connect(central.db_url) as conn:
            row = conn.execute(
                "SELECT content IS NULL, content_size > 0 FROM report_jobs WHERE id = %s",
                (job["reportJobId"],),
            ).fetchone()
        assert row == (True, True)  # the zip was kept for the retry, dropped once delivered
        text = csv_in_zip(attachment(smtp.mails[0][2])[1])
        assert [line.split(",")[6] for line in text.splitlines()[1:]] == [
            "GHSA-j8r2-6x86-q33q",
            "CVE-2021-44228",
        ]  # fixable only, in prod/shop (api, then web), deferred CVE left out
        stored = await ok(await central.admin("GET", f"/v2/reports/configurations/{cfg['id']}"))
        assert stored["lastSentAt"] == "2026-03-04T09:00:00Z"

        # the next run reports only what was found since: one new finding
        with psycopg.connect(central.db_url) as conn:
            conn.execute(
                "UPDATE image_cves SET first_seen_image = %s WHERE cve_id = 'CVE-2021-44228'",
                (now + dt.timedelta(days=2),),
            )
            conn.execute(
                "UPDATE report_configs SET next_run_at = %s WHERE id = %s", (now, cfg["id"])
            )
        later = now + dt.timedelta(days=5)
        service.clock = lambda: later
        await service.tick()
        assert len(smtp.mails) == 2
        text = csv_in_zip(attachment(smtp.mails[1][2])[1])
        assert [line.split(",")[:7] for line in text.splitlines()[1:]] == [
            [
                "prod",
                "shop",
                "web",
                "quay.io/acme/web:1.0",
                "log4j-core",
                "2.14.1",
                "CVE-2021-44228",
            ]
        ]
    finally:
        smtp.stop()


async def test_bad_configurations_are_refused_naming_the_field(
    central: Any, seed_inventory: Any, smtp: SmtpReceiver
) -> None:
    coll_id, notifier_id = await setup(central, seed_inventory, smtp.port)
    webhook = await ok(
        await central.admin(
            "POST",
            "/v1/notifiers",
            json={
                "type": "generic",
                "name": "hook",
                "generic": {"endpoint": "https://hooks.example.com/x"},
            },
        )
    )
    base = report_config(coll_id, notifier_id)
    email = base["notifiers"][0]["emailConfig"]
    cases = [
        (
            {**base, "notifiers": [{"emailConfig": {**email, "notifierId": "nope"}}]},
            "notifiers[0].emailConfig.notifierId: notifier 'nope' does not exist",
        ),
        (
            {**base, "notifiers": [{"emailConfig": {**email, "notifierId": webhook["id"]}}]},
            f"notifiers[0].emailConfig.notifierId: notifier '{webhook['id']}' is not an email"
            " notifier",
        ),
        (
            {**base, "schedule": {"intervalType": "WEEKLY", "hour": 6}},
            "schedule.daysOfWeek.days: is required",
        ),
        (
            {**base, "schedule": {"intervalType": "DAILY", "hour": 25}},
            "schedule.hour: must be a whole number from 0 to 23",
        ),
        (
            {
                **base,
                "resourceScope": {
                    "collectionScope": {"collectionId": "3f1e0b8e-0000-4000-8000-000000000000"}
                },
            },
            "resourceScope.collectionScope.collectionId: collection"
            " '3f1e0b8e-0000-4000-8000-000000000000' does not exist",
        ),
        (
            {**base, "vulnReportFilters": {"severities": ["SEVERE"]}},
            "vulnReportFilters.severities[0]: 'SEVERE' is not a severity",
        ),
        (
            {**base, "notifiers": [{"emailConfig": {**email, "mailingLists": ["not-an-address"]}}]},
            "notifiers[0].emailConfig.mailingLists[0]: 'not-an-address' is not an email address",
        ),
        (
            {**base, "notifiers": []},
            "notifiers: a scheduled report needs at least one email notifier",
        ),
    ]
    for doc, message in cases:
        r = await central.admin("POST", "/v2/reports/configurations", json=doc)
        assert r.status_code == 400, (message, r.text)
        assert r.json()["message"].startswith(message), r.json()["message"]
    bad_collections = [
        (
            {
                "name": "x",
                "resourceSelectors": [
                    {
                        "rules": [
                            {
                                "fieldName": "Namespace",
                                "values": [{"value": "(", "matchType": "REGEX"}],
                            }
                        ]
                    }
                ],
            },
            "resourceSelectors[0].rules[0].values[0].value: is not a valid regular expression",
        ),
        (
            {
                "name": "x",
                "resourceSelectors": [
                    {
                        "rules": [
                            {
                                "fieldName": "Namespace Label",
                                "values": [{"value": "a=.*", "matchType": "REGEX"}],
                            }
                        ]
                    }
                ],
            },
            "resourceSelectors[0].rules[0].values[0].matchType: labels match EXACT only",
        ),
        (
            {
                "name": "x",
                "resourceSelectors": [
                    {"rules": [{"fieldName": "Image", "values": [{"value": "a"}]}]}
                ],
            },
            "resourceSelectors[0].rules[0].fieldName: 'Image' is not one of",
        ),
        ({"name": "x", "resourceSelectors": []}, "resourceSelectors: must be a non-empty list"),
    ]
    for doc, message in bad_collections:
        r = await central.admin("POST", "/v1/collections", json=doc)
        assert r.status_code == 400, (message, r.text)
        assert r.json()["message"].startswith(message), r.json()["message"]
    assert (await ok(await central.admin("GET", "/v2/reports/configuration-count")))["count"] == 0
    # a collection or a notifier a report uses cannot go
    await ok(await central.admin("POST", "/v2/reports/configurations", json=base))
    r = await central.admin("DELETE", f"/v1/collections/{coll_id}")
    assert r.status_code == 409 and "shop weekly" in r.json()["message"]
    r = await central.admin("DELETE", f"/v1/notifiers/{notifier_id}?force=true")
    assert r.status_code == 409 and "report configurations 'shop weekly'" in r.json()["message"]
    await ok(await central.admin("DELETE", f"/v1/notifiers/{webhook['id']}"))


async def test_scoped_and_read_only_callers(central: Any, seed_inventory: Any) -> None:
    coll_id, notifier_id = await setup(central, seed_inventory, free_port())
    cfg = await ok(
        await central.admin(
            "POST", "/v2/reports/configurations", json=report_config(coll_id, notifier_id)
        )
    )
    scope = await ok(
        await central.admin(
            "POST",
            "/v1/simpleaccessscopes",
            json={
                "name": "ops",
                "rules": {"includedNamespaces": [{"clusterName": "prod", "namespaceName": "ops"}]},
            },
        )
    )
    await ok(
        await central.admin(
            "POST",
            "/v1/roles/ops-admin",
            json={
                "permissionSetId": "io.stockade.permissionset.admin",
                "accessScopeId": scope["id"],
            },
        )
    )
    ops = await central.token_for("ops-admin")
    # a dry run shows only deployments in the caller's scope
    dry = await ok(await central.as_token(ops, "POST", "/v1/collections/dryrun", json=SHOP))
    assert dry["deployments"] == []
    everything = {
        "resourceSelectors": [{"rules": [{"fieldName": "Cluster", "values": [{"value": "prod"}]}]}]
    }
    dry = await ok(await central.as_token(ops, "POST", "/v1/collections/dryrun", json=everything))
    assert [d["name"] for d in dry["deployments"]] == ["job"]
    # a report covers its whole collection: a scoped caller can neither run nor configure one
    body = {"reportConfigId": cfg["id"], "reportNotificationMethod": "DOWNLOAD"}
    r = await central.as_token(ops, "POST", "/v2/reports/run", json=body)
    assert r.status_code == 403 and "without an access scope" in r.json()["message"]
    doc = report_config(coll_id, notifier_id, name="ops copy")
    r = await central.as_token(ops, "POST", "/v2/reports/configurations", json=doc)
    assert r.status_code == 403
    # an analyst reads configurations but changes nothing
    analyst = await central.token_for("Analyst")
    assert (await central.as_token(analyst, "GET", "/v2/reports/configurations")).status_code == 200
    r = await central.as_token(analyst, "POST", "/v1/collections", json={**SHOP, "name": "mine"})
    assert r.status_code == 403
    r = await central.as_token(analyst, "DELETE", f"/v2/reports/configurations/{cfg['id']}")
    assert r.status_code == 403


async def test_a_report_over_the_size_limit_fails_with_the_reason(
    start_central: Any, database_url: str, seed_inventory: Any
) -> None:
    central = await start_central(database_url, report_max_bytes=300)
    coll_id, notifier_id = await setup(central, seed_inventory, free_port())
    doc = report_config(coll_id, notifier_id, schedule={"intervalType": "UNSET"})
    cfg = await ok(await central.admin("POST", "/v2/reports/configurations", json=doc))
    assert cfg["nextRunAt"] is None
    run, status = await run_report(central, cfg["id"], "DOWNLOAD")
    assert status["runState"] == "FAILURE"
    assert status["errorMsg"].startswith(
        "the zipped report is larger than the limit of 300 bytes (report_max_bytes)"
    )
    assert status["nextAttemptAt"] is None  # not retried: the same data gives the same size
    r = await central.admin("GET", f"/api/reports/jobs/download?id={run['reportId']}")
    assert r.status_code == 400
    # a finished job can be deleted; a waiting one only cancelled
    await ok(await central.admin("DELETE", f"/v2/reports/jobs/{run['reportId']}/delete"))
    assert (
        await central.admin("GET", f"/v2/reports/jobs/{run['reportId']}/status")
    ).status_code == 404
    await central.central.reports.stop()  # nothing picks the next job up
    body = {"reportConfigId": cfg["id"], "reportNotificationMethod": "DOWNLOAD"}
    waiting = (await ok(await central.admin("POST", "/v2/reports/run", json=body)))["reportId"]
    status = await ok(await central.admin("GET", f"/v2/reports/jobs/{waiting}/status"))
    assert status["status"]["runState"] == "WAITING"
    r = await central.admin("DELETE", f"/v2/reports/jobs/{waiting}/delete")
    assert r.status_code == 409
    await ok(await central.admin("DELETE", f"/v2/reports/jobs/{waiting}/cancel"))
    assert (await central.admin("GET", f"/v2/reports/jobs/{waiting}/status")).status_code == 404


async def test_embedded_collections(central: Any, seed_inventory: Any) -> None:
    await seed(central, seed_inventory)
    shop = (await ok(await central.admin("POST", "/v1/collections", json=SHOP)))["collection"]
    ops_doc = {
        "name": "prod ops",
        "resourceSelectors": [
            {
                "rules": [
                    {"fieldName": "Cluster", "values": [{"value": "prod"}]},
                    {"fieldName": "Namespace", "values": [{"value": "ops"}]},
                ]
            }
        ],
    }
    ops = (await ok(await central.admin("POST", "/v1/collections", json=ops_doc)))["collection"]
    parent_doc = {"name": "all prod", "embeddedCollectionIds": [shop["id"], ops["id"]]}
    dry = await ok(await central.admin("POST", "/v1/collections/dryrun", json=parent_doc))
    assert [(d["namespace"], d["name"]) for d in dry["deployments"]] == [
        ("ops", "job"),
        ("shop", "api"),
        ("shop", "web"),
    ]
    parent = (await ok(await central.admin("POST", "/v1/collections", json=parent_doc)))[
        "collection"
    ]
    assert parent["embeddedCollections"] == [{"id": shop["id"]}, {"id": ops["id"]}]
    top = await ok(
        await central.admin(
            "POST",
            "/v1/collections",
            json={"name": "top", "embeddedCollections": [{"id": parent["id"]}]},
        )
    )
    # a cycle, an unknown collection and deleting an embedded one are refused
    r = await central.admin(
        "PATCH",
        f"/v1/collections/{shop['id']}",
        json={**SHOP, "embeddedCollectionIds": [top["collection"]["id"]]},
    )
    assert r.status_code == 400
    assert r.json()["message"] == (
        "embeddedCollectionIds: would make the collection embed itself (a cycle)"
    )
    r = await central.admin(
        "POST",
        "/v1/collections",
        json={"name": "x", "embeddedCollectionIds": [shop["id"], "not-a-collection"]},
    )
    assert r.status_code == 400
    assert r.json()["message"] == (
        "embeddedCollectionIds[1]: collection 'not-a-collection' does not exist"
    )
    r = await central.admin("DELETE", f"/v1/collections/{ops['id']}")
    assert r.status_code == 409
    assert r.json()["message"] == "collection is used by collection 'all prod'; change them first"
    # a report over the top collection holds every embedded deployment's findings
    doc = report_config(top["collection"]["id"], "", notifiers=[])
    doc["schedule"] = {"intervalType": "UNSET"}
    cfg = await ok(await central.admin("POST", "/v2/reports/configurations", json=doc))
    run, status = await run_report(central, cfg["id"], "DOWNLOAD")
    assert status["runState"] == "GENERATED", status
    r = await central.admin("GET", f"/api/reports/jobs/download?id={run['reportId']}")
    lines = csv_in_zip(r.content).splitlines()[1:]
    assert sorted({tuple(line.split(",")[1:3]) for line in lines}) == [
        ("ops", "job"),
        ("shop", "api"),
        ("shop", "web"),
    ]
    assert len(lines) == 7  # ops/job 2 (D2), shop/api 2 (D2), shop/web 3 (D1)


async def test_a_retry_mails_only_the_targets_that_did_not_accept(
    central: Any, seed_inventory: Any, smtp: Any
) -> None:
    down = free_port()  # the second notifier's server is not up yet
    coll_id, first = await setup(central, seed_inventory, smtp.port)
    second = (
        await ok(
            await central.admin(
                "POST",
                "/v1/notifiers",
                json={**email_notifier(down), "name": "second mail"},
            )
        )
    )["id"]
    doc = report_config(coll_id, first)
    doc["notifiers"] = [
        *doc["notifiers"],
        {"emailConfig": {"notifierId": second, "mailingLists": ["ops@example.com"]}},
    ]
    cfg = await ok(await central.admin("POST", "/v2/reports/configurations", json=doc))
    service = central.central.reports
    await service.stop()  # ticked by hand
    now = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC)
    service.clock = lambda: now
    with psycopg.connect(central.db_url) as conn:
        conn.execute(
            "UPDATE report_configs SET next_run_at = %s WHERE id = %s",
            (now - dt.timedelta(minutes=1), cfg["id"]),
        )
    await service.tick()
    (job,) = (
        await ok(await central.admin("GET", f"/v2/reports/configurations/{cfg['id']}/history"))
    )["reportSnapshots"]
    assert job["reportStatus"]["runState"] == "FAILURE"
    assert len(smtp.mails) == 1  # the first target accepted before the second failed

    later = SmtpReceiver(port=down).start()
    try:
        await service.tick()
        status = await wait_state(central, job["reportJobId"], {"DELIVERED"}, timeout=0)
        assert status["attempts"] == 2
        assert len(smtp.mails) == 1  # not mailed again
        assert [rcpts for _, rcpts, _ in later.mails] == [["ops@example.com"]]
    finally:
        later.stop()


async def test_a_report_whose_query_runs_out_of_time_fails_with_the_reason(
    start_central: Any, database_url: str, seed_inventory: Any, monkeypatch: Any
) -> None:
    """The report query has its own time limit; running out of it ends the job as FAILURE
    with the reason (as a lost database it would stay PREPARING and be leased again)."""
    from stockade.central.reports import csvreport

    central = await start_central(database_url)
    coll_id, notifier_id = await setup(central, seed_inventory, free_port())
    doc = report_config(coll_id, notifier_id, schedule={"intervalType": "UNSET"})
    cfg = await ok(await central.admin("POST", "/v2/reports/configurations", json=doc))
    monkeypatch.setattr(csvreport, "QUERY_TIMEOUT_MS", 300)
    with psycopg.connect(central.db_url) as blocker:  # the findings are locked meanwhile
        blocker.execute("LOCK TABLE image_cves IN ACCESS EXCLUSIVE MODE")
        _, status = await run_report(central, cfg["id"], "DOWNLOAD")
    assert status["runState"] == "FAILURE"
    assert status["errorMsg"].startswith("reading the report's rows took longer than 0.3 s")
