"""The vulnerability report pages over Central's ASGI app: the form's errors beside their
inputs with nothing saved, create and edit, the list with schedule, next run and last state,
"Generate download" to a download only its requester gets, "Run now" mailed to a real SMTP
server, history, delete, and what analysts and scoped identities are offered."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.central.notifiers.receivers import SmtpReceiver
from tests.central.test_reports import csv_in_zip, setup, wait_state
from tests.central.test_scopes import scoped_token

from .test_portal import logged_in
from .test_portal_access import token_session
from .test_portal_integrations import field_error

pytestmark = pytest.mark.integration
BASE = "/main/reports"
DONE = {"GENERATED", "DELIVERED", "FAILURE"}


@pytest.fixture
def smtp() -> Any:
    r = SmtpReceiver().start()
    yield r
    r.stop()


async def configs(central: Any) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = (await central.admin("GET", "/v2/reports/configurations")).json()[
        "reportConfigs"
    ]
    return got


def queued_job(location: str) -> str:
    m = re.search(r"\?job=([0-9a-f-]+)$", location)
    assert m, location
    return m.group(1)


async def test_form_errors_create_run_download_and_delete(
    central: Any, seed_inventory: Any, smtp: SmtpReceiver
) -> None:
    coll_id, notifier_id = await setup(central, seed_inventory, smtp.port)
    b = await logged_in(central)
    page = await b.get(BASE + "/new")
    assert page.status_code == 200 and f'<option value="{coll_id}">prod shop</option>' in page.text
    assert f'<option value="{notifier_id}">reports mail</option>' in page.text
    token = await b.csrf(BASE + "/new")
    form: dict[str, Any] = {
        "csrf_token": token,
        "name": "shop weekly",
        "description": "prod shop findings",
        "collection": coll_id,
        "severity": ["CRITICAL", "IMPORTANT", "MODERATE"],
        "fixability": "BOTH",
        "since": "ALL_VULN",
        "nvd_cvss": "true",
        "interval": "WEEKLY",
        "time": "06:30",
        "day_of_week": ["1"],
        "notifier": notifier_id,
        "recipients": "team@example.com\nlead@example.com",
        "subject": "Shop vulnerabilities",
    }
    # each error beside its input, nothing saved
    cases = [
        ({"day_of_week": []}, "days_of_week", "schedule.daysOfWeek.days: is required"),
        ({"time": "25:00"}, "time", "schedule.hour: must be a whole number from 0 to 23"),
        ({"time": "soon"}, "time", "Give the time as HH:MM (UTC)."),
        ({"recipients": "not-an-address"}, "recipients", "is not an email address"),
        ({"notifier": ""}, "notifier", "a scheduled report needs at least one email notifier"),
        ({"collection": ""}, "collection", "resourceScope.collectionScope.collectionId"),
        ({"since": "START_DATE"}, "since_date", "Give the date findings are reported from."),
    ]
    for change, input_id, message in cases:
        r = await b.post(BASE + "/new", {**form, **change})
        assert r.status_code == 400, (change, r.text)
        assert message in field_error(r.text, input_id), (change, r.text)
    assert 'value="shop weekly"' in r.text  # the form comes back filled in
    assert await configs(central) == []

    r = await b.post(BASE + "/new", form)
    assert r.status_code == 303, r.text
    (cfg,) = await configs(central)
    assert r.headers["location"] == f"{BASE}/{cfg['id']}"
    assert cfg["schedule"] == {
        "intervalType": "WEEKLY",
        "hour": 6,
        "minute": 30,
        "daysOfWeek": {"days": [1]},
    }
    assert cfg["vulnReportFilters"]["severities"] == [
        "CRITICAL_VULNERABILITY_SEVERITY",
        "IMPORTANT_VULNERABILITY_SEVERITY",
        "MODERATE_VULNERABILITY_SEVERITY",
    ]
    assert cfg["vulnReportFilters"]["includeNvdCvss"] is True
    assert cfg["notifiers"][0]["emailConfig"]["mailingLists"] == [
        "team@example.com",
        "lead@example.com",
    ]
    r = await b.post(BASE + "/new", form)
    assert r.status_code == 400 and "already exists" in field_error(r.text, "name")

    listing = await b.get(BASE)
    row = re.search(r'<tr data-report="shop weekly">.*?</tr>', listing.text, re.S)
    assert row and "Weekly on Monday at 06:30 UTC" in row.group(0)
    assert cfg["nextRunAt"][:16].replace("T", " ") in row.group(0)
    assert 'data-last-state=""' in row.group(0) and "never run" in row.group(0)

    # edit shows what was stored and saves a change
    edit = await b.get(f"{BASE}/{cfg['id']}/edit")
    assert 'value="06:30"' in edit.text and "lead@example.com" in edit.text
    r = await b.post(f"{BASE}/{cfg['id']}/edit", {**form, "fixability": "FIXABLE"})
    assert r.status_code == 303, r.text
    assert (await configs(central))[0]["vulnReportFilters"]["fixability"] == "FIXABLE"

    # Generate download: queued, generated, downloaded by its requester only
    r = await b.post(f"{BASE}/{cfg['id']}/run", {"csrf_token": token, "method": "DOWNLOAD"})
    assert r.status_code == 303
    job = queued_job(r.headers["location"])
    assert (await wait_state(central, job, DONE))["runState"] == "GENERATED"
    detail = await b.get(r.headers["location"])
    assert 'id="queued"' in detail.text
    assert f'href="/main/reports/jobs/{job}/download"' in detail.text
    got = await b.get(f"/main/reports/jobs/{job}/download")
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    api = await central.admin("GET", f"/api/reports/jobs/download?id={job}")
    assert csv_in_zip(got.content) == csv_in_zip(api.content)
    assert "CVE-2021-44228" in csv_in_zip(got.content)

    other = await token_session(central, await central.token_for("Admin", "other admin"))
    page = await other.get(f"{BASE}/{cfg['id']}")
    assert "for its requester" in page.text and f"/jobs/{job}/download" not in page.text
    assert (await other.get(f"/main/reports/jobs/{job}/download")).status_code == 404

    # Run now: mailed to the recipients; the list shows the last state
    r = await b.post(f"{BASE}/{cfg['id']}/run", {"csrf_token": token, "method": "EMAIL"})
    mailed = queued_job(r.headers["location"])
    assert (await wait_state(central, mailed, DONE))["runState"] == "DELIVERED"
    (_sender, rcpts, msg) = smtp.mails[-1]
    assert rcpts == ["team@example.com", "lead@example.com"]
    assert msg["Subject"] == "Shop vulnerabilities"
    history = re.findall(
        r'data-job="([^"]+)" data-state="([A-Z]+)"', (await b.get(r.headers["location"])).text
    )
    assert history == [(mailed, "DELIVERED"), (job, "GENERATED")]
    listing = await b.get(BASE)
    assert 'data-last-state="DELIVERED"' in listing.text

    # the run needs the CSRF token
    r = await b.post(f"{BASE}/{cfg['id']}/run", {"method": "EMAIL"})
    assert r.status_code == 403

    r = await b.post(f"{BASE}/{cfg['id']}/delete", {"csrf_token": token})
    assert r.status_code == 303 and await configs(central) == []


async def test_what_analysts_and_scoped_identities_are_offered(
    central: Any, seed_inventory: Any
) -> None:
    coll_id, _ = await setup(central, seed_inventory, 1)
    doc = {
        "name": "on demand",
        "resourceScope": {"collectionScope": {"collectionId": coll_id}},
        "schedule": {"intervalType": "UNSET"},
    }
    r = await central.admin("POST", "/v2/reports/configurations", json=doc)
    assert r.status_code == 200, r.text
    cfg_id = r.json()["id"]

    # an analyst reads and runs (Image read, unscoped) but configures nothing
    analyst = await token_session(central, await central.token_for("Analyst"))
    page = await analyst.get(BASE)
    assert page.status_code == 200 and 'data-report="on demand"' in page.text
    assert "Generate download" in page.text
    assert "Run now" not in page.text  # no email notifier in this configuration
    assert "Add report" not in page.text and "Delete" not in page.text
    assert (await analyst.get(BASE + "/new")).status_code == 403
    assert (await analyst.get(f"{BASE}/{cfg_id}/edit")).status_code == 403
    token = await analyst.csrf(BASE)
    r = await analyst.post(f"{BASE}/{cfg_id}/delete", {"csrf_token": token})
    assert r.status_code == 403
    r = await analyst.post(f"{BASE}/{cfg_id}/run", {"csrf_token": token, "method": "DOWNLOAD"})
    assert r.status_code == 303

    # an analyst limited to one namespace may not run whole-collection reports
    rules = {"includedNamespaces": [{"clusterName": "prod", "namespaceName": "ops"}]}
    ops = await token_session(central, await scoped_token(central, "ops", rules))
    page = await ops.get(BASE)
    assert page.status_code == 200
    assert "Generate download" not in page.text and "Add report" not in page.text
    token = await ops.csrf(BASE)
    r = await ops.post(f"{BASE}/{cfg_id}/run", {"csrf_token": token, "method": "DOWNLOAD"})
    assert r.status_code == 403 and "without an access scope" in r.text
    assert (await ops.get(BASE + "/new")).status_code == 403

    ci = await token_session(central, await central.token_for("Continuous Integration"))
    assert (await ci.get(BASE)).status_code == 403
    # the main navigation links Reports for those who may read it
    assert 'href="/main/reports" aria-current="page"' in page.text
    assert 'href="/main/reports"' not in (await ci.get("/main/dashboard")).text
