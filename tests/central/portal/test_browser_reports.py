"""Collections and vulnerability reports in Chromium: a collection previewed and saved (a bad
regular expression shown right under its box), a report configured on it, "Generate
download" followed to its download, a notifier header row added by posting back; each page
screenshotted, nothing scrolling sideways at 1280x800."""

from __future__ import annotations

import time
import zipfile
from typing import Any

import pytest

from .test_browser import ServedCentral, browser, login, page, served, shot
from .test_browser_admin import no_sideways_scroll

pytestmark = [pytest.mark.integration, pytest.mark.slow]
__all__ = ["browser", "page", "served"]  # fixtures shared with the main browser suite


def test_collection_preview_report_download(page: Any, served: ServedCentral) -> None:
    login(page, served)
    page.get_by_role("link", name="Reports").click()
    page.wait_for_url("**/main/reports")
    page.get_by_role("link", name="Collections").click()
    page.get_by_role("link", name="Add collection").click()
    page.get_by_label("Name").first.fill("staging shop")
    page.get_by_label("Cluster names (exact, one per line)").fill("staging")
    page.get_by_label("Namespace names matching a regular expression (one per line)").fill("(")
    page.get_by_role("button", name="Save").click()
    error = page.locator("#namespace-patterns-error")
    assert "is not a valid regular expression" in error.inner_text()
    box, err = page.locator("#namespace-patterns").bounding_box(), error.bounding_box()
    assert 0 <= err["y"] - (box["y"] + box["height"]) < 60  # right under the box
    shot(page, "collection-invalid")
    assert served.api("/v1/collections")["collections"] == []

    page.get_by_label("Namespace names matching a regular expression (one per line)").fill("sh.p")
    page.get_by_role("button", name="Preview").click()
    rows = page.locator("#preview tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.deployment)"
    )
    assert rows == ["staging/shop/db", "staging/shop/web"]
    no_sideways_scroll(page)
    shot(page, "collection-preview")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/main/collections")
    shot(page, "collections")

    page.get_by_role("link", name="Vulnerability reports").click()
    page.get_by_role("link", name="Add report").click()
    page.get_by_label("Name").first.fill("staging findings")
    page.get_by_label("Collection").select_option(label="staging shop")
    page.get_by_label("Repeat").select_option("UNSET")
    no_sideways_scroll(page)
    shot(page, "report-form")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/main/reports/*")
    assert page.locator("h1").inner_text() == "Report staging findings"

    page.get_by_role("button", name="Generate a download of staging findings").click()
    assert page.locator("#queued").is_visible()
    deadline = time.monotonic() + 30
    while page.locator('#history tr[data-state="GENERATED"]').count() == 0:
        assert time.monotonic() < deadline, "the report was not generated"
        time.sleep(0.3)
        page.get_by_role("link", name="check again").click()
    no_sideways_scroll(page)
    shot(page, "report-history")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    with zipfile.ZipFile(info.value.path()) as zf:
        (name,) = zf.namelist()
        header = zf.read(name).decode().splitlines()[0]
    assert header.startswith("Cluster,Namespace,Deployment")

    page.goto("/main/reports")
    row = page.locator('tr[data-report="staging findings"]')
    assert row.locator("[data-last-state]").get_attribute("data-last-state") == "GENERATED"
    shot(page, "reports")


def test_notifier_header_rows_by_post_back(page: Any, served: ServedCentral) -> None:
    login(page, served)
    page.goto("/main/integrations/notifiers/new?type=generic")
    page.get_by_role("button", name="Add header").click()
    page.get_by_label("Header 1 name").fill("Authorization")
    page.get_by_label("Header 1 value").fill("Bearer abc")
    page.get_by_role("button", name="Add header").click()
    assert page.get_by_label("Header 2 name").is_visible()
    # the secret typed is not sent back to the page
    assert page.get_by_label("Header 1 value").input_value() == ""
    page.get_by_role("button", name="Remove header 2").click()
    assert page.get_by_label("Header 2 name").count() == 0
    assert page.get_by_label("Header 1 name").input_value() == "Authorization"
    no_sideways_scroll(page)
    shot(page, "notifier-headers")
