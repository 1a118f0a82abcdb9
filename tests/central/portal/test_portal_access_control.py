"""The access-control pages: API tokens (generated and shown once, listed, revoked), roles,
permission sets and access scopes (create, view, edit, delete through the API's handlers,
errors beside fields, built-ins read-only), and what a token session without write access
sees."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from .test_portal import CSRF, Browser, logged_in
from .test_portal_access import token_session

pytestmark = pytest.mark.integration


def field_error(html: str, dom_id: str) -> str:
    m = re.search(rf'<p class="field-error" id="{re.escape(dom_id)}-error"[^>]*>([^<]+)</p>', html)
    return m.group(1) if m else ""


async def test_generate_shows_the_token_once_and_revoke_ends_it(central) -> None:
    b = await logged_in(central)
    token = await b.csrf("/main/access/tokens")
    r = await b.post("/main/access/tokens", {"csrf_token": token, "name": "", "lifetime": "30"})
    assert r.status_code == 400
    assert field_error(r.text, "name") and field_error(r.text, "roles")
    r = await b.request(
        "POST",
        "/main/access/tokens",
        data={"csrf_token": token, "name": "ci-bot", "roles": ["Analyst"], "lifetime": "7"},
    )
    assert r.status_code == 200, r.text
    issued = re.search(r'id="issued-token" class="wide" readonly value="(stk_[^"]+)"', r.text)
    assert issued, r.text
    secret = issued.group(1)
    assert (await central.as_token(secret, "GET", "/v1/alerts")).status_code == 200
    # listed, never shown again
    listing = await b.get("/main/access/tokens")
    assert 'data-token="ci-bot"' in listing.text and secret not in listing.text
    (meta,) = [
        t
        for t in (await central.admin("GET", "/v1/apitokens")).json()["tokens"]
        if t["name"] == "ci-bot"
    ]
    assert meta["roles"] == ["Analyst"]
    r = await b.post(f"/main/access/tokens/{meta['id']}/revoke", {"csrf_token": token})
    assert r.status_code == 303
    assert (await central.as_token(secret, "GET", "/v1/alerts")).status_code == 401


async def test_permission_set_scope_and_role_round_trip(central) -> None:
    b = await logged_in(central)
    token = await b.csrf("/main/access/permission-sets/new")
    ps = {"csrf_token": token, "name": "Alert readers", "description": "reads alerts"}
    ps["access-Alert"] = "READ_ACCESS"
    ps["access-Image"] = "READ_WRITE_ACCESS"
    r = await b.post("/main/access/permission-sets/new", ps)
    assert r.status_code == 303, r.text
    sets = (await central.admin("GET", "/v1/permissionsets")).json()["permissionSets"]
    (mine,) = [s for s in sets if s["name"] == "Alert readers"]
    assert mine["resourceToAccess"]["Alert"] == "READ_ACCESS"
    assert mine["resourceToAccess"]["Image"] == "READ_WRITE_ACCESS"
    assert mine["resourceToAccess"]["Access"] == "NO_ACCESS"
    # the same name again: the API's conflict beside the name
    r = await b.post("/main/access/permission-sets/new", ps)
    assert r.status_code == 400 and "already exists" in field_error(r.text, "name")

    scope = {
        "csrf_token": token,
        "name": "Prod shop",
        "description": "",
        "clusters": "",
        "namespaces": "prod/shop\nprod",
        "cluster_selectors": "",
        "namespace_selectors": "",
    }
    r = await b.post("/main/access/scopes/new", scope)
    assert r.status_code == 400 and "cluster/namespace" in field_error(r.text, "namespaces")
    scope["namespaces"] = "prod/shop"
    scope["cluster_selectors"] = "env IN prod,stage; team EXISTS"
    r = await b.post("/main/access/scopes/new", scope)
    assert r.status_code == 303, r.text
    scopes = (await central.admin("GET", "/v1/simpleaccessscopes")).json()["accessScopes"]
    (sc,) = [s for s in scopes if s["name"] == "Prod shop"]
    assert sc["rules"]["includedNamespaces"] == [{"clusterName": "prod", "namespaceName": "shop"}]
    assert sc["rules"]["clusterLabelSelectors"][0]["requirements"] == [
        {"key": "env", "op": "IN", "values": ["prod", "stage"]},
        {"key": "team", "op": "EXISTS", "values": []},
    ]
    view = await b.get(f"/main/access/scopes/{sc['id']}")
    assert "env IN prod,stage; team EXISTS" in view.text

    role = {"csrf_token": token, "name": "Shop analyst", "description": "", "accessScopeId": ""}
    role["permissionSetId"] = mine["id"]
    r = await b.post("/main/access/roles/new", role)
    assert r.status_code == 400 and field_error(r.text, "accessScopeId")
    role["accessScopeId"] = sc["id"]
    r = await b.post("/main/access/roles/new", role)
    assert r.status_code == 303, r.text
    got = (await central.admin("GET", "/v1/roles/Shop%20analyst")).json()
    assert (got["permissionSetId"], got["accessScopeId"]) == (mine["id"], sc["id"])
    # edit the description; then the permission set in use cannot be deleted
    r = await b.post(
        "/main/access/roles/" + quote("Shop analyst"), {**role, "description": "edited"}
    )
    assert r.status_code == 303
    assert (await central.admin("GET", "/v1/roles/Shop%20analyst")).json()["description"] == (
        "edited"
    )
    r = await b.post(f"/main/access/permission-sets/{mine['id']}/delete", {"csrf_token": token})
    assert r.status_code == 409 and "still used by a role" in r.text
    r = await b.post(
        "/main/access/roles/" + quote("Shop analyst") + "/delete", {"csrf_token": token}
    )
    assert r.status_code == 303
    r = await b.post(f"/main/access/permission-sets/{mine['id']}/delete", {"csrf_token": token})
    assert r.status_code == 303
    r = await b.post(f"/main/access/scopes/{sc['id']}/delete", {"csrf_token": token})
    assert r.status_code == 303
    assert "Shop analyst" not in (await b.get("/main/access/roles")).text


async def test_builtins_are_read_only_and_analyst_cannot_change_anything(central) -> None:
    b = await logged_in(central)
    page = await b.get("/main/access/roles/Admin")
    assert page.status_code == 200 and "cannot be changed" in page.text
    assert "Save role" not in page.text and "<fieldset disabled>" in page.text
    roles = (await b.get("/main/access/roles")).text
    assert 'aria-label="Delete role Analyst"' not in roles  # built in: no delete button

    analyst: Browser = await token_session(central, await central.token_for("Analyst"))
    # Analyst reads every resource but Administration: the lists open, read-only
    page = await analyst.get("/main/access/roles")
    assert page.status_code == 200
    assert "Create role" not in page.text and "Delete" not in page.text
    tokens = await analyst.get("/main/access/tokens")
    assert tokens.status_code == 200 and "Generate a token" not in tokens.text
    # the forms and every change are refused by the server too
    assert (await analyst.get("/main/access/roles/new")).status_code == 403
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    r = await analyst.post("/main/access/roles/Analyst/delete", {"csrf_token": csrf})
    assert r.status_code == 403
    r = await analyst.request(
        "POST",
        "/main/access/tokens",
        data={"csrf_token": csrf, "name": "x", "roles": ["Analyst"], "lifetime": "7"},
    )
    assert r.status_code == 403

    # a role without Access or Integration read sees no link and gets 403
    ci = await token_session(central, await central.token_for("Continuous Integration"))
    dash = await ci.get("/main/dashboard")
    assert "/main/access" not in dash.text and "/main/integrations" not in dash.text
    for path in ("/main/access/roles", "/main/access/tokens", "/main/access/scopes"):
        assert (await ci.get(path)).status_code == 403, path
