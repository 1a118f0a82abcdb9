"""The collections pages over Central's ASGI app: preview (the API's dry run) without saving,
a bad regular expression shown beside its box with nothing saved, create, edit with an
embedded collection, the list, delete refused while a report uses it, and read-only
viewers."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from tests.central.test_reports import SHOP, seed

from .test_portal import logged_in
from .test_portal_access import token_session
from .test_portal_integrations import field_error

pytestmark = pytest.mark.integration
BASE = "/main/collections"


async def stored(central: Any) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = (await central.admin("GET", "/v1/collections")).json()[
        "collections"
    ]
    return got


def previewed(html: str) -> list[str]:
    return re.findall(r'data-deployment="([^"]+)"', html)


async def test_preview_errors_create_edit_embed_and_delete(central, seed_inventory) -> None:
    await seed(central, seed_inventory)
    b = await logged_in(central)
    token = await b.csrf(BASE + "/new")
    form = {
        "csrf_token": token,
        "name": "prod shop",
        "description": "shop in prod",
        "cluster-names": "prod",
        "namespace-patterns": "sh.p\n",
    }
    r = await b.post(BASE + "/new", {**form, "action": "preview"})
    assert r.status_code == 200, r.text
    assert previewed(r.text) == ["prod/shop/api", "prod/shop/web"]
    assert 'value="prod shop"' in r.text and await stored(central) == []

    # a bad pattern: the database's reason beside the pattern box, nothing saved
    bad = {**form, "namespace-patterns": "sh.p\n(", "action": "save"}
    r = await b.post(BASE + "/new", bad)
    assert r.status_code == 400
    assert "is not a valid regular expression" in field_error(r.text, "namespace-patterns")
    assert "resourceSelectors[0].rules[1].values[1].value" in field_error(
        r.text, "namespace-patterns"
    )
    r = await b.post(BASE + "/new", {**bad, "action": "preview"})
    assert r.status_code == 400 and field_error(r.text, "namespace-patterns")
    # a label must be key=value
    r = await b.post(BASE + "/new", {**form, "deployment-labels": "app", "action": "save"})
    assert r.status_code == 400 and "is not key=value" in field_error(r.text, "deployment-labels")
    # nothing to select by
    r = await b.post(BASE + "/new", {"csrf_token": token, "name": "empty", "action": "save"})
    assert r.status_code == 400 and "non-empty list" in field_error(r.text, "selectors")
    assert await stored(central) == []

    r = await b.post(BASE + "/new", {**form, "action": "save"})
    assert r.status_code == 303 and r.headers["location"] == BASE
    (shop,) = await stored(central)
    assert shop["resourceSelectors"] == [
        {
            "rules": [
                {
                    "fieldName": "Cluster",
                    "operator": "OR",
                    "values": [{"value": "prod", "matchType": "EXACT"}],
                },
                {
                    "fieldName": "Namespace",
                    "operator": "OR",
                    "values": [{"value": "sh.p", "matchType": "REGEX"}],
                },
            ]
        }
    ]
    r = await b.post(BASE + "/new", {**form, "action": "save"})
    assert r.status_code == 400 and "already exists" in field_error(r.text, "name")

    # a second collection by label embeds the first; its preview holds both
    ops = {
        "csrf_token": token,
        "name": "prod plus",
        "deployment-labels": "app=job",
        "embedded": shop["id"],
    }
    r = await b.post(BASE + "/new", {**ops, "action": "preview"})
    assert previewed(r.text) == ["prod/ops/job", "prod/shop/api", "prod/shop/web"]
    r = await b.post(BASE + "/new", {**ops, "action": "save"})
    assert r.status_code == 303, r.text
    plus = next(c for c in await stored(central) if c["name"] == "prod plus")
    assert plus["embeddedCollections"] == [{"id": shop["id"]}]

    listing = await b.get(BASE)
    assert 'data-collection="prod shop"' in listing.text
    assert "Cluster: prod; Namespace: ~ sh.p" in listing.text

    # edit shows what was stored; the shop cannot embed "prod plus" (a cycle)
    edit = await b.get(f"{BASE}/{shop['id']}/edit")
    assert re.search(r'id="namespace-patterns"[^>]*>sh.p</textarea>', edit.text)
    r = await b.post(
        f"{BASE}/{shop['id']}/edit", {**form, "embedded": plus["id"], "action": "save"}
    )
    assert r.status_code == 400 and "a cycle" in field_error(r.text, "embedded")
    r = await b.post(f"{BASE}/{shop['id']}/edit", {**form, "description": "renamed"})
    assert r.status_code == 303
    assert next(c for c in await stored(central) if c["id"] == shop["id"])["description"] == (
        "renamed"
    )

    # an embedded collection cannot be deleted: the API's reason
    r = await b.post(f"{BASE}/{shop['id']}/delete", {"csrf_token": token})
    assert r.status_code == 409 and 'data-collection="prod shop"' in r.text
    refused = re.search(r'<p class="error" id="refused"[^>]*>([^<]+)</p>', r.text)
    assert refused and "used by collection 'prod plus'" in html.unescape(refused.group(1))
    r = await b.post(f"{BASE}/{plus['id']}/delete", {"csrf_token": token})
    assert r.status_code == 303
    assert [c["name"] for c in await stored(central)] == ["prod shop"]


async def test_api_written_selectors_are_kept_when_edited(central) -> None:
    doc = {
        "name": "two selectors",
        "resourceSelectors": [
            {"rules": [{"fieldName": "Cluster", "values": [{"value": "a"}]}]},
            {"rules": [{"fieldName": "Cluster", "values": [{"value": "b"}]}]},
        ],
    }
    made = (await central.admin("POST", "/v1/collections", json=doc)).json()["collection"]
    b = await logged_in(central)
    edit = await b.get(f"{BASE}/{made['id']}/edit")
    assert "written through the API" in edit.text and 'id="cluster-names"' not in edit.text
    token = await b.csrf(BASE)
    r = await b.post(
        f"{BASE}/{made['id']}/edit",
        {"csrf_token": token, "name": "two selectors", "description": "kept", "action": "save"},
    )
    assert r.status_code == 303, r.text
    (after,) = await stored(central)
    assert after["description"] == "kept" and len(after["resourceSelectors"]) == 2


async def test_read_only_viewers_see_the_list_only(central) -> None:
    await central.admin("POST", "/v1/collections", json=SHOP)
    analyst = await token_session(central, await central.token_for("Analyst"))
    page = await analyst.get(BASE)
    assert page.status_code == 200 and 'data-collection="prod shop"' in page.text
    assert "Add collection" not in page.text and "Delete" not in page.text
    assert (await analyst.get(BASE + "/new")).status_code == 403
    ci = await token_session(central, await central.token_for("Continuous Integration"))
    assert (await ci.get(BASE)).status_code == 403
