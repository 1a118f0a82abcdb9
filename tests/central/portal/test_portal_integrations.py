"""The integrations pages over Central's ASGI app: image registries (create, edit with the
stored password kept, test against a real registry, delete) and notifiers (every type's form,
a bad URL shown beside its field with nothing saved, test, edit, delete)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from stockade.central.portal.notifier_forms import FIELDS

from .test_portal import logged_in

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
# the Indexer suite's fixtures: a real registry with basic auth (alice / wonderland)
_spec = importlib.util.spec_from_file_location(
    "indexer_fixtures", REPO / "tests" / "scanner" / "indexer" / "conftest.py"
)
assert _spec and _spec.loader
_fixtures = sys.modules.get("indexer_fixtures") or importlib.util.module_from_spec(_spec)
if "indexer_fixtures" not in sys.modules:
    sys.modules["indexer_fixtures"] = _fixtures  # dataclasses look their module up
    _spec.loader.exec_module(_fixtures)
test_image = _fixtures.test_image
auth_registry = _fixtures.auth_registry


def field_error(html: str, dom_id: str) -> str:
    m = re.search(rf'<p class="field-error" id="{re.escape(dom_id)}-error"[^>]*>([^<]+)</p>', html)
    return m.group(1) if m else ""


async def test_registry_create_test_edit_keeps_password_and_delete(central, auth_registry) -> None:
    b = await logged_in(central)
    token = await b.csrf("/main/integrations/registries/new")
    form = {
        "csrf_token": token,
        "name": "local",
        "type": "docker",
        "endpoint": auth_registry.address,
        "username": "alice",
        "password": "wrong",
        "insecure": "true",
    }
    # Test: the registry refuses the wrong password, the reason is on the page, nothing saved
    r = await b.post("/main/integrations/registries/new", {**form, "action": "test"})
    assert r.status_code == 400 and 'data-ok="false"' in r.text
    assert "registry test failed" in r.text and "wrong" not in r.text.split("<main", 1)[1]
    r = await b.post(
        "/main/integrations/registries/new", {**form, "password": "wonderland", "action": "test"}
    )
    assert r.status_code == 200 and 'data-ok="true"' in r.text
    assert (await central.admin("GET", "/v1/imageintegrations")).json()["integrations"] == []

    # a bad endpoint: the API's message beside the endpoint field, nothing saved
    r = await b.post(
        "/main/integrations/registries/new", {**form, "endpoint": "not a host!", "action": "save"}
    )
    assert r.status_code == 400 and "not a registry host" in field_error(r.text, "endpoint")
    assert 'aria-describedby="endpoint-hint endpoint-error"' in r.text
    assert (await central.admin("GET", "/v1/imageintegrations")).json()["integrations"] == []

    r = await b.post(
        "/main/integrations/registries/new", {**form, "password": "wonderland", "action": "save"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/main/integrations"
    (saved,) = (await central.admin("GET", "/v1/imageintegrations")).json()["integrations"]
    assert saved["docker"]["password"] == "******"
    listing = (await b.get("/main/integrations")).text
    assert 'data-registry="local"' in listing and "wonderland" not in listing

    # edit: the password is never sent back; left blank, the stored one is kept and used
    edit = await b.get(f"/main/integrations/registries/{saved['id']}/edit")
    assert "wonderland" not in edit.text and "leave blank to keep it" in edit.text
    assert re.search(r'id="password" name="password" type="password" value=""', edit.text)
    blank = {**form, "password": "", "name": "local-renamed"}
    r = await b.post(
        f"/main/integrations/registries/{saved['id']}/edit", {**blank, "action": "test"}
    )
    assert r.status_code == 200 and 'data-ok="true"' in r.text, r.text
    r = await b.post(
        f"/main/integrations/registries/{saved['id']}/edit", {**blank, "action": "save"}
    )
    assert r.status_code == 303
    stored = await central.central.integrations.stored_password(saved["id"])
    assert stored == "wonderland"
    # another endpoint: the stored password is not carried over; asked for beside its field
    moved = {**blank, "endpoint": "127.0.0.1:9", "action": "save"}
    r = await b.post(f"/main/integrations/registries/{saved['id']}/edit", moved)
    assert r.status_code == 400
    assert "enter the password again" in field_error(r.text, "password"), r.text
    assert (await central.admin("GET", f"/v1/imageintegrations/{saved['id']}")).json()["docker"][
        "endpoint"
    ] == auth_registry.address
    assert (await central.admin("GET", f"/v1/imageintegrations/{saved['id']}")).json()[
        "name"
    ] == "local-renamed"

    # delete needs the CSRF token
    r = await b.post(f"/main/integrations/registries/{saved['id']}/delete", {})
    assert r.status_code == 403
    r = await b.post(f"/main/integrations/registries/{saved['id']}/delete", {"csrf_token": token})
    assert r.status_code == 303
    assert (await central.admin("GET", "/v1/imageintegrations")).json()["integrations"] == []


async def test_every_notifier_type_has_a_form(central) -> None:
    b = await logged_in(central)
    for kind, fields in FIELDS.items():
        r = await b.get(f"/main/integrations/notifiers/new?type={kind}")
        assert r.status_code == 200, kind
        for f in fields:
            if f.kind in ("pairs", "secret_pairs"):  # rows, added by posting back
                assert f'<fieldset id="{f.dom_id}"' in r.text, f.path
                assert f'value="add:{f.path}"' in r.text, f.path
                continue
            assert f'name="{f.path}"' in r.text, f.path
            assert re.search(rf'<label[^>]* for="{f.dom_id}"', r.text), f.path
    assert (await b.get("/main/integrations/notifiers/new?type=pager")).status_code == 404


async def test_notifier_bad_url_beside_field_then_save_edit_test_delete(central) -> None:
    b = await logged_in(central)
    token = await b.csrf("/main/integrations/notifiers/new?type=generic")
    form = {
        "csrf_token": token,
        "type": "generic",
        "name": "hooks",
        "generic.endpoint": "ftp://hooks.example.com/in",
        "generic.username": "bot",
        "generic.password": "s3cret-value",
        "action": "save",
    }
    r = await b.post("/main/integrations/notifiers/new", form)
    assert r.status_code == 400
    error = field_error(r.text, "f-generic-endpoint")
    assert "generic.endpoint" in error and "not supported" in error, r.text
    assert 'value="ftp://hooks.example.com/in"' in r.text  # kept for correction
    assert "s3cret-value" not in r.text  # a secret is not echoed back
    assert (await central.admin("GET", "/v1/notifiers")).json()["notifiers"] == []

    form["generic.endpoint"] = "https://hooks.example.com/in"
    r = await b.post("/main/integrations/notifiers/new", form)
    assert r.status_code == 303, r.text
    (saved,) = (await central.admin("GET", "/v1/notifiers")).json()["notifiers"]
    assert saved["generic"]["endpoint"] == "https://hooks.example.com/in"
    assert saved["generic"]["password"] == "******"

    # edit with the secret left blank: the stored secret stays
    edit = await b.get(f"/main/integrations/notifiers/{saved['id']}/edit")
    assert "s3cret-value" not in edit.text and "leave blank to keep it" in edit.text
    r = await b.post(
        f"/main/integrations/notifiers/{saved['id']}/edit",
        {**form, "name": "hooks-2", "generic.password": ""},
    )
    assert r.status_code == 303, r.text
    stored = await central.central.notifications.store.get(saved["id"])
    assert stored.full_doc()["generic"]["password"] == "s3cret-value"
    assert stored.name == "hooks-2"

    # Test: the receiver cannot be reached; the reason is shown, nothing changes
    r = await b.post(
        f"/main/integrations/notifiers/{saved['id']}/edit",
        {**form, "generic.endpoint": "https://unreachable.invalid/in", "action": "test"},
    )
    assert r.status_code == 400 and 'data-ok="false"' in r.text

    r = await b.post(f"/main/integrations/notifiers/{saved['id']}/delete", {"csrf_token": token})
    assert r.status_code == 303
    assert (await central.admin("GET", "/v1/notifiers")).json()["notifiers"] == []


async def test_integrations_are_read_only_without_write_access(central) -> None:
    from .test_portal_access import token_session

    analyst = await token_session(central, await central.token_for("Analyst"))
    page = await analyst.get("/main/integrations")
    assert page.status_code == 200
    assert "Add registry" not in page.text and "Delete" not in page.text
    assert (await analyst.get("/main/integrations/registries/new")).status_code == 403
    ci = await token_session(central, await central.token_for("Continuous Integration"))
    assert (await ci.get("/main/integrations")).status_code == 403


async def test_ecr_fields_map_to_the_api_and_errors_land_beside_them(central) -> None:
    b = await logged_in(central)
    token = await b.csrf("/main/integrations/registries/new")
    form = {
        "csrf_token": token,
        "name": "aws",
        "type": "ecr",
        "endpoint": "",
        "username": "AKIAEXAMPLEKEY123456",
        "password": "aws-secret-value",
        "action": "save",
    }
    r = await b.post("/main/integrations/registries/new", form)
    assert r.status_code == 400 and "ecr.region is required" in field_error(r.text, "region")
    r = await b.post(
        "/main/integrations/registries/new",
        {**form, "region": "eu-west-1", "registryId": "12345"},
    )
    assert r.status_code == 400 and "12-digit" in field_error(r.text, "registryId")
    assert (await central.admin("GET", "/v1/imageintegrations")).json()["integrations"] == []
    r = await b.post(
        "/main/integrations/registries/new",
        {**form, "region": "eu-west-1", "registryId": "123456789012"},
    )
    assert r.status_code == 303, r.text
    (saved,) = (await central.admin("GET", "/v1/imageintegrations")).json()["integrations"]
    assert saved["ecr"]["endpoint"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    assert saved["ecr"]["accessKeyId"] == "AKIAEXAMPLEKEY123456"
    assert saved["ecr"]["secretAccessKey"] == "******"
    edit = await b.get(f"/main/integrations/registries/{saved['id']}/edit")
    assert 'value="eu-west-1"' in edit.text and "aws-secret-value" not in edit.text
    assert "leave blank to keep it" in edit.text


def _receivers() -> object:
    """tests/central/notifiers/receivers.py (that folder is not a package)."""
    name = "notifier_receivers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, REPO / "tests" / "central" / "notifiers" / "receivers.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


async def test_notifier_test_button_delivers_to_a_real_receiver(
    start_central, database_url
) -> None:
    central = await start_central(database_url, notifier_allow_local_endpoints=True)
    receiver = await _receivers().HttpReceiver().start()  # type: ignore[attr-defined]
    try:
        b = await logged_in(central)
        token = await b.csrf("/main/integrations/notifiers/new?type=generic")
        form = {
            "csrf_token": token,
            "type": "generic",
            "name": "local hook",
            "generic.endpoint": receiver.url + "/hook",
            "action": "test",
        }
        r = await b.post("/main/integrations/notifiers/new", form)
        assert r.status_code == 200 and 'data-ok="true"' in r.text, r.text
        assert [q.path for q in receiver.requests] == ["/hook"]
        assert (await central.admin("GET", "/v1/notifiers")).json()["notifiers"] == []
        # the receiver refusing is shown as the test's failure
        receiver.status = lambda _r: 403
        r = await b.post("/main/integrations/notifiers/new", form)
        assert r.status_code == 400 and 'data-ok="false"' in r.text
        assert "403" in r.text
    finally:
        await receiver.stop()


async def test_syslog_over_udp_round_trips_through_the_form(central) -> None:
    b = await logged_in(central)
    token = await b.csrf("/main/integrations/notifiers/new?type=syslog")
    form = {
        "csrf_token": token,
        "type": "syslog",
        "name": "siem",
        "syslog.transport": "UDP",
        "syslog.tcpConfig.hostname": "siem.example.com",
        "syslog.tcpConfig.port": "70000",
        "syslog.tcpConfig.useTls": "true",
        "syslog.localFacility": "LOCAL3",
        "syslog.messageFormat": "CEF",
        "action": "save",
    }
    r = await b.post("/main/integrations/notifiers/new", form)
    assert r.status_code == 400
    assert "port must be" in field_error(r.text, "f-syslog-tcpConfig-port")
    r = await b.post("/main/integrations/notifiers/new", {**form, "syslog.tcpConfig.port": "514"})
    assert r.status_code == 303, r.text
    (saved,) = (await central.admin("GET", "/v1/notifiers")).json()["notifiers"]
    assert saved["syslog"]["udpConfig"] == {"hostname": "siem.example.com", "port": 514}
    assert "tcpConfig" not in saved["syslog"] and saved["syslog"]["localFacility"] == "LOCAL3"
    edit = await b.get(f"/main/integrations/notifiers/{saved['id']}/edit")
    assert '<option value="UDP" selected>' in edit.text
    assert 'value="siem.example.com"' in edit.text
