"""Signing in to the portal with an API token: the session holds the token's roles, pages
and actions follow them, and revoking the token ends the session."""

from __future__ import annotations

import re

import psycopg
import pytest

from stockade.central.portal.sessions import COOKIE

from .dated_alerts import seed_alerts
from .test_portal import Browser, logged_in

pytestmark = pytest.mark.integration


async def token_session(central, token: str) -> Browser:  # type: ignore[no-untyped-def]
    b = Browser(central.client)
    csrf = await b.csrf("/login")
    r = await b.post("/login/token", {"csrf_token": csrf, "api_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/main/dashboard", r.text
    assert COOKIE in b.cookies
    return b


async def test_analyst_token_session_is_read_only_and_ends_when_revoked(central) -> None:
    seed_alerts(central.db_url)
    token = await central.token_for("Analyst", "analyst-portal")
    b = await token_session(central, token)
    dash = await b.get("/main/dashboard")
    assert dash.status_code == 200 and "analyst-portal" in dash.text
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', dash.text, re.S).group(1)  # type: ignore[union-attr]
    assert "/main/violations" in nav and "/main/system" not in nav  # no Administration

    page = await b.get("/main/violations")
    assert page.status_code == 200
    alert_id = re.search(r'href="/main/violations/([0-9a-f-]{36})"', page.text).group(1)  # type: ignore[union-attr]
    detail = await b.get(f"/main/violations/{alert_id}")
    assert detail.status_code == 200 and "Resolve violation" not in detail.text
    policies = await b.get("/main/policies")
    assert policies.status_code == 200
    assert "/edit" not in policies.text and "Create policy" not in policies.text
    # hidden, and refused anyway
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', detail.text).group(1)  # type: ignore[union-attr]
    r = await b.post(f"/main/violations/{alert_id}/resolve", {"csrf_token": csrf})
    assert r.status_code == 403
    assert (await central.admin("GET", f"/v1/alerts/{alert_id}")).json()["state"] == "ACTIVE"
    assert (await b.get("/main/system")).status_code == 403

    # the audit log names the token, not the admin
    events = (await central.admin("GET", "/v1/auditlog")).json()["events"]
    refused = next(e for e in events if e["path"] == f"/main/violations/{alert_id}/resolve")
    assert refused["principal"] == "token:analyst-portal"

    # revoking the token (here through the API) logs the browser out at its next request
    tid = next(
        t["id"]
        for t in (await central.admin("GET", "/v1/apitokens")).json()["tokens"]
        if t["name"] == "analyst-portal"
    )
    assert (await central.admin("PATCH", f"/v1/apitokens/revoke/{tid}")).status_code == 200
    r = await b.get("/main/violations")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    # and signing in with it again is refused, the reason beside the token field
    again = Browser(central.client)
    csrf = await again.csrf("/login")
    r = await again.post("/login/token", {"csrf_token": csrf, "api_token": token})
    assert r.status_code == 401 and 'id="api_token-error"' in r.text
    assert "revoked" in r.text and token not in r.text and COOKIE not in again.cookies


async def test_token_sign_in_needs_the_login_csrf_and_a_token(central) -> None:
    token = await central.token_for("Analyst")
    b = Browser(central.client)
    await b.get("/login")
    r = await b.post("/login/token", {"api_token": token})
    assert r.status_code == 403 and COOKIE not in b.cookies
    csrf = await b.csrf("/login")
    r = await b.post("/login/token", {"csrf_token": csrf, "api_token": ""})
    assert r.status_code == 400 and "Enter an API token" in r.text
    csrf = await b.csrf("/login")
    r = await b.post("/login/token", {"csrf_token": csrf, "api_token": "stk_" + "x" * 40})
    assert r.status_code == 401 and COOKIE not in b.cookies
    # the admin's password session still works as before
    admin = await logged_in(central)
    assert (await admin.get("/main/system")).status_code == 200


async def test_an_expired_token_ends_its_session(central) -> None:
    token = await central.token_for("Analyst", "short-lived")
    b = await token_session(central, token)
    assert (await b.get("/main/dashboard")).status_code == 200
    with psycopg.connect(central.db_url) as conn:
        conn.execute(
            "UPDATE api_tokens SET expires_at = now() - interval '1 second'"
            " WHERE name = 'short-lived'"
        )
    r = await b.get("/main/dashboard")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    with psycopg.connect(central.db_url) as conn:  # the session row is gone, not just refused
        left = conn.execute("SELECT count(*) FROM portal_sessions WHERE token_id IS NOT NULL")
        assert left.fetchone()[0] == 0  # type: ignore[index]
