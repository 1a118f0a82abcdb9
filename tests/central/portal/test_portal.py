"""The portal over Central's ASGI app in-process: sessions, CSRF, headers, permissions and
forms. The browser suite (test_browser.py) covers the same flows in Chromium."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from stockade.central.portal.security import CONTENT_SECURITY_POLICY
from stockade.central.portal.sessions import COOKIE, LOGIN_CSRF_COOKIE

from .seed import seed_portal

pytestmark = pytest.mark.integration

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A cookie-keeping client: httpx's jar would not send Secure cookies over plain http."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        if self.cookies:
            kw.setdefault("headers", {})["Cookie"] = "; ".join(
                f"{k}={v}" for k, v in self.cookies.items()
            )
        r = await self.client.request(method, path, **kw)
        for header in r.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value in ("", '""') or "Max-Age=0" in header:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return r

    async def get(self, path: str) -> httpx.Response:
        return await self.request("GET", path)

    async def post(self, path: str, data: dict[str, Any]) -> httpx.Response:
        return await self.request("POST", path, data=data)

    async def csrf(self, path: str) -> str:
        r = await self.get(path)
        assert r.status_code == 200, r.text
        m = CSRF.search(r.text)
        assert m, "no CSRF token on " + path
        return m.group(1)

    async def login(self, password: str) -> httpx.Response:
        token = await self.csrf("/login")
        return await self.post(
            "/login", {"csrf_token": token, "username": "admin", "password": password}
        )


async def logged_in(central: Any) -> Browser:
    b = Browser(central.client)
    r = await b.login(central.admin_password)
    assert r.status_code == 303 and r.headers["location"] == "/main/dashboard", r.text
    return b


async def test_login_cookie_flags_csp_and_logout_ends_session(central) -> None:
    anon = Browser(central.client)
    r = await anon.get("/main/dashboard")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    r = await anon.get("/login")
    login_cookie = r.headers["set-cookie"]
    assert LOGIN_CSRF_COOKIE in login_cookie and "HttpOnly" in login_cookie

    b = Browser(central.client)
    assert (await b.login("wrong-password")).status_code == 401
    assert COOKIE not in b.cookies
    r = await b.login(central.admin_password)
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    session = b.cookies[COOKIE]
    page = await b.get("/main/dashboard")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "<script>" not in page.text and "style=" not in page.text
    css = await b.get("/static/portal/portal.css")
    assert css.status_code == 200 and "content-security-policy" in css.headers

    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    r = await b.post("/logout", {"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    # the old cookie, replayed, no longer opens anything: the session is gone server-side
    replay = await central.client.get("/main/dashboard", headers={"Cookie": f"{COOKIE}={session}"})
    assert replay.status_code == 303 and replay.headers["location"] == "/login"
    # the session does not unlock the API either (it takes tokens or basic auth)
    api = await central.client.get("/v1/alerts", headers={"Cookie": f"{COOKIE}={session}"})
    assert api.status_code == 401


async def test_forms_without_csrf_are_refused(central) -> None:
    b = await logged_in(central)
    r = await b.post("/logout", {})
    assert r.status_code == 403 and "security token" in r.text
    assert (await b.get("/main/dashboard")).status_code == 200  # still logged in
    policies = (await central.admin("GET", "/v1/policies?query=Policy:Latest tag")).json()
    pid = policies["policies"][0]["id"]
    r = await b.post(f"/main/policies/{pid}/toggle", {"disabled": "true", "csrf_token": "forged"})
    assert r.status_code == 403
    assert (await central.admin("GET", f"/v1/policies/{pid}")).json()["disabled"] is False
    # the login form's own token is checked too
    fresh = Browser(central.client)
    r = await fresh.post("/login", {"password": central.admin_password})
    assert r.status_code == 403 and COOKIE not in fresh.cookies


async def test_invalid_regex_is_shown_beside_the_field_and_nothing_saved(central) -> None:
    b = await logged_in(central)
    token = await b.csrf("/main/policies/new")
    before = (await central.admin("GET", "/v1/policies")).json()["totalCount"]
    policy = (
        '{"categories": ["DevOps Best Practices"], "policySections": [{"policyGroups": ['
        '{"fieldName": "Image Tag", "values": [{"value": "r/([unclosed"}]}]}]}'
    )
    r = await b.post(
        "/main/policies/new",
        {
            "csrf_token": token,
            "name": "Bad regex",
            "severity": "HIGH_SEVERITY",
            "lifecycleStages": "BUILD",
            "policy_json": policy,
        },
    )
    assert r.status_code == 400
    error = re.search(r'<p class="field-error" id="policy_json-error"[^>]*>([^<]+)</p>', r.text)
    assert error and "regular expression" in error.group(1).lower(), r.text
    assert 'aria-describedby="policy_json-hint policy_json-error"' in r.text
    assert "r/([unclosed" in r.text  # the user's text is kept for correction
    assert (await central.admin("GET", "/v1/policies")).json()["totalCount"] == before

    # a good policy saves, and a second one with the same name errs beside the name
    good = policy.replace("r/([unclosed", "latest")
    form = {
        "csrf_token": token,
        "name": "Portal policy",
        "severity": "HIGH_SEVERITY",
        "lifecycleStages": "BUILD",
        "policy_json": good,
    }
    r = await b.post("/main/policies/new", form)
    assert r.status_code == 303, r.text
    found = await central.admin("GET", '/v1/policies?query=Policy:"Portal policy"')
    assert found.json()["policies"][0]["severity"] == "HIGH_SEVERITY"
    r = await b.post("/main/policies/new", form)
    assert r.status_code == 400 and 'id="name-error"' in r.text


async def test_pages_use_the_api_numbers(central, seed_inventory) -> None:
    seeded = await seed_portal(central, seed_inventory, images=16)
    b = await logged_in(central)
    page = (await b.get("/main/dashboard")).text
    summary = (
        await central.admin("GET", "/v1/alerts/summary/counts?query=Violation%20State:ACTIVE")
    ).json()
    for count in summary["groups"][0]["counts"]:
        sev = count["severity"].removesuffix("_SEVERITY")
        assert f'data-severity="{sev}">{count["count"]}<' in page
    r = await b.get("/main/vulnerabilities?severity=CRITICAL&fixable=true&sort=CVSS")
    api = await central.admin("GET", "/v1/cves?query=Severity:CRITICAL%2BFixable:true")
    assert f'data-count="{api.json()["totalCount"]}"' in r.text
    r = await b.get(f"/main/vulnerabilities/cves/{seeded.known_cve}")
    assert r.status_code == 200 and seeded.known_cve in r.text
    digest = next(iter(seeded.images))
    r = await b.get(f"/main/vulnerabilities/images/{digest}")
    assert r.status_code == 200 and "apt-get install -y libfoo" in r.text
    r = await b.get("/main/violations?query=Namespace:(")
    assert r.status_code in (200, 400)
    r = await b.get("/main/violations/not-an-id")
    assert r.status_code == 404 and "does not exist" in r.text


async def test_policy_filters_export_and_import(central) -> None:
    b = await logged_in(central)
    r = await b.get("/main/policies?severity=HIGH_SEVERITY&status=enabled&stage=DEPLOY")
    q = "Severity:HIGH_SEVERITY%2BDisabled:false%2BLifecycle%20Stage:DEPLOY"
    api = (await central.admin("GET", f"/v1/policies?query={q}")).json()
    assert api["totalCount"] > 0
    assert f'data-count="{api["totalCount"]}"' in r.text
    assert sorted(re.findall(r'<tr data-policy="([^"]+)"', r.text)) == sorted(
        p["name"] for p in api["policies"]
    )

    r = await b.get("/main/policies/export")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    exported = r.json()["policies"]
    assert len(exported) == (await central.admin("GET", "/v1/policies")).json()["totalCount"]

    token = await b.csrf("/main/policies")
    one = {k: v for k, v in exported[0].items() if k != "id"}
    upload = {"policies": [{**one, "name": "Imported from the portal"}, {"name": "broken"}]}
    r = await b.request(
        "POST",
        "/main/policies/import",
        data={"csrf_token": token},
        files={"file": ("p.json", json.dumps(upload).encode(), "application/json")},
    )
    assert r.status_code == 400  # one of the two failed; the other was imported
    assert "Imported</td>" in r.text and "Some policies were not imported" in r.text
    found = await central.admin("GET", '/v1/policies?query=Policy:"Imported from the portal"')
    assert found.json()["totalCount"] == 1
    # without the CSRF token nothing is imported
    r = await b.request(
        "POST",
        "/main/policies/import",
        files={"file": ("p.json", json.dumps(upload).encode(), "application/json")},
    )
    assert r.status_code == 403


async def test_toggle_policy_is_audited_as_the_session_and_shown_on_system_page(central) -> None:
    b = await logged_in(central)
    found = await central.admin("GET", '/v1/policies?query=Policy:"Latest tag"')
    pid = found.json()["policies"][0]["id"]
    token = await b.csrf("/main/policies")
    r = await b.post(f"/main/policies/{pid}/toggle", {"csrf_token": token, "disabled": "true"})
    assert r.status_code == 303
    assert (await central.admin("GET", f"/v1/policies/{pid}")).json()["disabled"] is True
    events = (await central.admin("GET", "/v1/auditlog")).json()["events"]
    toggle = next(e for e in events if e["path"] == f"/main/policies/{pid}/toggle")
    assert (toggle["principal"], toggle["authMethod"], toggle["status"]) == (
        "admin",
        "session",
        303,
    )
    page = await b.get("/main/system")
    assert page.status_code == 200
    assert f"POST /main/policies/{pid}/toggle" in page.text
    version = (await central.admin("GET", "/v1/metadata")).json()["version"]
    assert f'<dd id="central-version">{version}</dd>' in page.text
