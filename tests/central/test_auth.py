"""Admin login, API tokens per role, revocation, expiry and failed-login limiting, against a
real Central on a real PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt

import psycopg
import pytest

from stockade.central.auth.model import BUILTIN_ROLES

pytestmark = pytest.mark.integration


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_admin_password_file_is_private_and_logs_in(central) -> None:
    pw_file = central.data_dir / "admin-password"
    assert pw_file.stat().st_mode & 0o777 == 0o600
    ok = await central.client.get("/v1/auth/status", headers=basic("admin", central.admin_password))
    assert ok.status_code == 200
    body = ok.json()
    assert body["userId"] == "admin"
    assert body["userInfo"]["permissions"]["resourceToAccess"]["Administration"] == (
        "READ_WRITE_ACCESS"
    )


async def test_wrong_password_and_unknown_user_are_refused(central) -> None:
    for headers in (basic("admin", "not-it"), basic("root", central.admin_password), {}):
        r = await central.client.get("/v1/auth/status", headers=headers)
        assert r.status_code == 401
        assert r.json()["code"] == 16
        assert central.admin_password not in r.text


async def test_password_stored_only_as_argon2_hash(central) -> None:
    with psycopg.connect(central.db_url) as conn:
        blobs = conn.execute("SELECT ciphertext FROM central_secrets").fetchall()
    assert all(central.admin_password.encode() not in bytes(b[0]) for b in blobs)
    assert central.central.secrets.admin_password_hash.startswith("$argon2")


# Route -> resource and access it needs; each role below is allowed or refused accordingly.
ROUTES = [
    ("GET", "/v1/deployments", "Deployment", 1),
    ("GET", "/v1/clusters", "Cluster", 1),
    ("POST", "/v1/clusters", "Cluster", 2),
    ("GET", "/v1/apitokens", "Integration", 1),
    ("GET", "/v1/roles", "Access", 1),
    ("GET", "/v1/auditlog", "Administration", 1),
]


@pytest.mark.parametrize("role", [r.name for r in BUILTIN_ROLES])
async def test_each_role_is_allowed_exactly_what_its_permission_set_grants(central, role) -> None:
    token = await central.token_for(role)
    perms = next(r for r in BUILTIN_ROLES if r.name == role).permission_set
    for method, path, resource, needed in ROUTES:
        kw = {"json": {"name": f"c-{role}-{method}"}} if method == "POST" else {}
        r = await central.as_token(token, method, path, **kw)
        if perms.access(resource) >= needed:
            assert r.status_code == 200, (role, path, r.text)
        else:
            assert r.status_code == 403, (role, path, r.text)
            assert resource in r.json()["message"]


async def test_token_cannot_be_issued_with_more_power_than_the_caller(central) -> None:
    # The Admin role can grant anything; a Sensor Creator token holds no Integration access.
    analyst = await central.token_for("Analyst")
    r = await central.as_token(
        analyst, "POST", "/v1/apitokens/generate", json={"name": "x", "role": "Admin"}
    )
    assert r.status_code == 403


async def test_revoked_token_is_refused_at_once(central) -> None:
    token = await central.token_for("Analyst", "to-revoke")
    assert (await central.as_token(token, "GET", "/v1/deployments")).status_code == 200
    listed = (await central.admin("GET", "/v1/apitokens")).json()["tokens"]
    token_id = next(t["id"] for t in listed if t["name"] == "to-revoke")
    r = await central.admin("PATCH", f"/v1/apitokens/revoke/{token_id}")
    assert r.status_code == 200
    r = await central.as_token(token, "GET", "/v1/deployments")
    assert r.status_code == 401
    assert "revoked" in r.json()["message"]
    revoked = (await central.admin("GET", "/v1/apitokens?revoked=true")).json()["tokens"]
    assert [t["id"] for t in revoked] == [token_id]


async def test_expired_token_is_refused(central) -> None:
    token = await central.token_for("Analyst", "short-lived")
    with psycopg.connect(central.db_url) as conn:
        conn.execute(
            "UPDATE api_tokens SET expires_at = %s WHERE name = 'short-lived'",
            (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),),
        )
    central.central.token_provider._cache.clear()
    r = await central.as_token(token, "GET", "/v1/deployments")
    assert r.status_code == 401
    assert "expired" in r.json()["message"]


async def test_token_expiry_in_the_past_is_rejected_at_generation(central) -> None:
    r = await central.admin(
        "POST",
        "/v1/apitokens/generate",
        json={"name": "old", "role": "Analyst", "expiration": "2020-01-01T00:00:00Z"},
    )
    assert r.status_code == 400
    assert "future" in r.json()["message"]


async def test_tokens_are_stored_only_as_sha256(central) -> None:
    token = await central.token_for("Analyst", "hashed")
    with psycopg.connect(central.db_url) as conn:
        row = conn.execute("SELECT token_hash FROM api_tokens WHERE name='hashed'").fetchone()
        dump = str(conn.execute("SELECT * FROM api_tokens").fetchall())
    import hashlib

    assert bytes(row[0]) == hashlib.sha256(token.encode()).digest()
    assert token not in dump


async def test_unknown_and_malformed_bearer_tokens_are_refused(central) -> None:
    for value in ("stk_" + "A" * 43, "not-a-token", "stk_"):
        r = await central.as_token(value, "GET", "/v1/deployments")
        assert r.status_code == 401


async def test_failed_logins_are_limited_per_source(start_central, database_url) -> None:
    c = await start_central(database_url, login_failures_per_minute=3)
    for _ in range(3):
        r = await c.client.get("/v1/auth/status", headers=basic("admin", "wrong"))
        assert r.status_code == 401
    r = await c.client.get("/v1/auth/status", headers=basic("admin", c.admin_password))
    assert r.status_code == 429
    assert "Retry-After" in r.headers
    # another source is not affected
    import httpx

    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=c.client._transport.app, client=("127.0.0.2", 1)),
        base_url="http://central.test",
    )
    async with other:
        r = await other.get("/v1/auth/status", headers=basic("admin", c.admin_password))
        assert r.status_code == 200


async def test_mutating_calls_are_audited_with_principal(central) -> None:
    await central.token_for("Analyst", "audited")
    await central.client.post("/v1/clusters", json={"name": "x"})  # anonymous, refused
    events = (await central.admin("GET", "/v1/auditlog")).json()["events"]
    mine = [e for e in events if e["path"] == "/v1/apitokens/generate"]
    assert mine and mine[0]["principal"] == "admin" and mine[0]["status"] == 200
    refused = [e for e in events if e["path"] == "/v1/clusters"]
    assert refused and refused[0]["principal"] == "anonymous" and refused[0]["status"] == 401
    # reads are not audited
    assert not [e for e in events if e["method"] == "GET"]
