"""The integrations, access-control and token sign-in pages and the dashboard's charts over
time in Chromium: each page visited and screenshotted, forms walked with the keyboard only,
nothing scrolling sideways at 1280x800, errors beside their fields."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest

from .dated_alerts import seed_alerts
from .test_browser import VIEWPORT, ServedCentral, browser, login, page, served, shot

pytestmark = [pytest.mark.integration, pytest.mark.slow]
__all__ = ["browser", "page", "served"]  # fixtures shared with the main browser suite


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"], page.url


def focused(page: Any) -> str:
    """The focused element as "tag#id" or, for a button, "button:Its text"."""
    return str(
        page.evaluate(
            "(() => { const e = document.activeElement;"
            " return e.tagName === 'BUTTON' ? 'button:' + e.textContent.trim()"
            " : e.tagName.toLowerCase() + '#' + e.id; })()"
        )
    )


def tab_through(page: Any, first: str, expected: list[str]) -> None:
    """Focus ``first`` and press Tab: focus must visit ``expected`` in order."""
    page.focus(first)
    seen = [focused(page)]
    for _ in expected[1:]:
        page.keyboard.press("Tab")
        seen.append(focused(page))
    assert seen == expected


def admin_call(served: ServedCentral, method: str, path: str) -> httpx.Response:
    auth = base64.b64encode(f"admin:{served.password}".encode()).decode()
    return httpx.request(
        method, served.url + path, headers={"Authorization": f"Basic {auth}"}, timeout=30
    )


def test_integrations_pages_by_keyboard(page: Any, served: ServedCentral) -> None:
    login(page, served)
    page.get_by_role("link", name="Integrations").click()
    page.wait_for_url("**/main/integrations")
    no_sideways_scroll(page)
    shot(page, "integrations")

    page.get_by_role("link", name="Add registry").click()
    tab_through(
        page,
        "#name",
        [
            "input#name",
            "select#type",
            "input#endpoint",
            "input#username",
            "input#password",
            "input#insecure",
            "input#region",
            "input#registryId",
            "input#sessionToken",
            "input#useIam",
            "textarea#serviceAccount",
            "button:Save",
            "button:Test",
        ],
    )
    # typed and submitted from the keyboard alone
    page.focus("#name")
    page.keyboard.type("keyboard registry")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.type("not a host!")
    page.keyboard.press("Enter")  # the first submit button: Save
    error = page.locator("#endpoint-error")
    assert "not a registry host" in error.inner_text()
    field, err = page.locator("#endpoint").bounding_box(), error.bounding_box()
    assert 0 <= err["y"] - (field["y"] + field["height"]) < 60  # right under the field
    assert page.locator("#endpoint").get_attribute("aria-invalid") == "true"
    no_sideways_scroll(page)
    shot(page, "registry-invalid")
    assert served.api("/v1/imageintegrations")["integrations"] == []

    page.goto("/main/integrations/notifiers/new?type=generic")
    tab_through(
        page,
        "#f-name",
        [
            "input#f-name",
            "input#f-generic-endpoint",
            "input#f-generic-username",
            "input#f-generic-password",
            "input#f-generic-skipTLSVerify",
            "textarea#f-generic-caCert",
            "button:Add header",
            "button:Add field",
            "input#f-uiEndpoint",
            "button:Save",
            "button:Test",
        ],
    )
    page.locator("#f-name").fill("Team hook")
    page.get_by_label("Endpoint URL").fill("ftp://hooks.example.com/in")
    page.get_by_role("button", name="Save").click()
    error = page.locator("#f-generic-endpoint-error")
    assert "not supported" in error.inner_text()
    assert page.get_by_label("Endpoint URL").input_value() == "ftp://hooks.example.com/in"
    no_sideways_scroll(page)
    shot(page, "notifier-invalid")
    assert served.api("/v1/notifiers")["notifiers"] == []
    page.get_by_label("Endpoint URL").fill("https://hooks.example.com/in")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/main/integrations")
    assert page.locator('tr[data-notifier="Team hook"]').count() == 1
    for kind in ("slack", "email", "syslog", "splunk"):
        page.goto(f"/main/integrations/notifiers/new?type={kind}")
        no_sideways_scroll(page)
        shot(page, f"notifier-{kind}")


def test_access_control_pages_by_keyboard(page: Any, served: ServedCentral) -> None:
    login(page, served)
    page.get_by_role("link", name="Access control").click()
    page.wait_for_url("**/main/access/tokens")
    roles = served.api("/v1/apitokens/generate/allowed-roles")["roleNames"]
    boxes = [f"input#role-{i + 1}" for i in range(len(roles))]
    tab_through(page, "#name", ["input#name", *boxes, "select#lifetime", "button:Generate token"])
    page.locator("#name").fill("browser-ci")
    page.get_by_label("Continuous Integration").check()
    page.get_by_label("Expires after").select_option("7")
    page.get_by_role("button", name="Generate token").click()
    token = page.locator("#issued-token").input_value()
    assert token.startswith("stk_")
    no_sideways_scroll(page)
    shot(page, "tokens-generated")
    page.goto("/main/access/tokens")  # shown once: not on the page again
    assert page.locator("#issued-token").count() == 0 and token not in page.content()

    for path, name in (
        ("/main/access/roles", "roles"),
        ("/main/access/permission-sets", "permission-sets"),
        ("/main/access/scopes", "scopes"),
        ("/main/access/roles/Analyst", "role-analyst"),
        ("/main/access/permission-sets/io.stockade.permissionset.analyst", "permission-set"),
    ):
        page.goto(path)
        no_sideways_scroll(page)
        shot(page, f"access-{name}")

    page.goto("/main/access/scopes/new")
    tab_through(
        page,
        "#name",
        [
            "input#name",
            "input#description",
            "textarea#clusters",
            "textarea#namespaces",
            "textarea#cluster_selectors",
            "textarea#namespace_selectors",
            "button:Save access scope",
        ],
    )
    page.locator("#name").fill("Browser scope")
    page.get_by_label("Cluster label selectors").fill("env BETWEEN a,b")
    page.get_by_role("button", name="Save access scope").click()
    assert "is not 'key OPERATOR values'" in page.locator("#cluster_selectors-error").inner_text()
    shot(page, "scope-invalid")
    names = [s["name"] for s in served.api("/v1/simpleaccessscopes")["accessScopes"]]
    assert "Browser scope" not in names


def test_analyst_token_sign_in_is_read_only_and_revoking_logs_out(
    page: Any, served: ServedCentral
) -> None:
    seed_alerts(served.db_url)
    token = served.post("/v1/apitokens/generate", {"name": "browser-analyst", "role": "Analyst"})
    page.goto("/login")
    page.get_by_label("API token", exact=True).fill(token["token"])
    page.get_by_role("button", name="Sign in with token").click()
    page.wait_for_url("**/main/dashboard")
    assert page.locator(".who").inner_text() == "browser-analyst"
    # the charts over time, with their text alternative
    chart = page.locator("#trend-severity-chart")
    assert chart.get_attribute("role") == "img"
    daily = served.api("/v1/alerts/summary/daily")
    high = next(g["counts"] for g in daily["groups"] if g["group"] == "HIGH_SEVERITY")
    cells = page.locator('#trend-severity-table td[data-group="High"]')
    assert [int(cells.nth(i).text_content() or "") for i in range(30)] == high
    no_sideways_scroll(page)
    shot(page, "dashboard-trends-analyst")

    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Violations").count() == 1
    assert nav.get_by_role("link", name="System").count() == 0
    page.get_by_role("link", name="Violations").click()
    page.locator("#violations tbody tr").first.get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/main/violations/[0-9a-f-]{36}$"))
    assert page.get_by_role("button", name="Resolve violation").count() == 0
    shot(page, "violation-analyst")
    page.goto("/main/access/roles")
    assert page.get_by_role("link", name="Create role").count() == 0
    page.goto("/main/system")
    assert page.locator(".error").get_attribute("data-status") == "403"

    tid = token["metadata"]["id"]
    assert admin_call(served, "PATCH", f"/v1/apitokens/revoke/{tid}").status_code == 200
    page.goto("/main/violations")
    assert page.url.endswith("/login")
    shot(page, "token-revoked-logged-out")
