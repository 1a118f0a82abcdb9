"""Notifier form fields beyond the basics: a generic webhook's custom headers (rows added and
removed by posting back, values never shown again, blank keeps them, sent by Test to a real
receiver) and extra fields, Splunk's source type, an email notifier's recipient, syslog's
extra fields."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .test_portal import logged_in
from .test_portal_integrations import _receivers, field_error

pytestmark = pytest.mark.integration
NEW = "/main/integrations/notifiers/new"


def rows(html: str, path: str) -> list[str]:
    return re.findall(rf'data-row="({re.escape(path)}\.\d+)"', html)


async def notifiers(central: Any) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = (await central.admin("GET", "/v1/notifiers")).json()["notifiers"]
    return got


async def test_generic_headers_rows_secrets_and_delivery(start_central, database_url) -> None:
    central = await start_central(database_url, notifier_allow_local_endpoints=True)
    receiver = await _receivers().HttpReceiver().start()  # type: ignore[attr-defined]
    try:
        b = await logged_in(central)
        token = await b.csrf(NEW + "?type=generic")
        form = {
            "csrf_token": token,
            "type": "generic",
            "name": "hook",
            "generic.endpoint": receiver.url + "/in",
        }
        # rows are added and removed by posting back; nothing is saved meanwhile
        r = await b.post(NEW, {**form, "action": "add:generic.headers"})
        assert r.status_code == 200 and rows(r.text, "generic.headers") == ["generic.headers.0"]
        r = await b.post(
            NEW,
            {
                **form,
                "generic.headers.0.key": "X-Team",
                "generic.headers.0.value": "blue",
                "action": "add:generic.headers",
            },
        )
        assert rows(r.text, "generic.headers") == ["generic.headers.0", "generic.headers.1"]
        assert 'value="X-Team"' in r.text and "blue" not in r.text  # header values are secrets
        r = await b.post(
            NEW,
            {
                **form,
                "generic.headers.0.key": "X-Team",
                "generic.headers.1.key": "X-Drop",
                "action": "remove:generic.headers:1",
            },
        )
        assert rows(r.text, "generic.headers") == ["generic.headers.0"]
        assert "X-Drop" not in r.text
        assert await notifiers(central) == []

        with_rows = {
            **form,
            "generic.headers.0.key": "Bad Header",
            "generic.headers.0.value": "tok-secret-1",
            "generic.extraFields.0.key": "env",
            "generic.extraFields.0.value": "prod",
            "action": "save",
        }
        # the API's error lands beside the row's input; nothing saved, the secret not echoed
        r = await b.post(NEW, with_rows)
        assert r.status_code == 400
        assert "not a valid HTTP header name" in field_error(r.text, "f-generic-headers-0-key")
        assert "tok-secret-1" not in r.text and 'value="prod"' in r.text
        assert await notifiers(central) == []

        # Test sends the header and the extra field to the receiver
        r = await b.post(
            NEW, {**with_rows, "generic.headers.0.key": "Authorization", "action": "test"}
        )
        assert r.status_code == 200 and 'data-ok="true"' in r.text, r.text
        (req,) = receiver.requests
        assert req.headers["authorization"] == "tok-secret-1"
        assert req.json()["env"] == "prod" and "alert" in req.json()

        r = await b.post(NEW, {**with_rows, "generic.headers.0.key": "Authorization"})
        assert r.status_code == 303, r.text
        (saved,) = await notifiers(central)
        assert saved["generic"]["headers"] == [{"key": "Authorization", "value": "******"}]
        assert saved["generic"]["extraFields"] == [{"key": "env", "value": "prod"}]

        # edit: the stored value is never shown; left blank it is kept
        edit_url = f"/main/integrations/notifiers/{saved['id']}/edit"
        edit = await b.get(edit_url)
        assert "tok-secret-1" not in edit.text and "A value is stored" in edit.text
        assert 'value="Authorization"' in edit.text
        r = await b.post(
            edit_url,
            {
                **form,
                "generic.headers.0.key": "Authorization",
                "generic.headers.0.value": "",
                "generic.headers.1.key": "X-Extra",
                "generic.headers.1.value": "two",
                "action": "save",
            },
        )
        assert r.status_code == 303, r.text
        stored = await central.central.notifications.store.get(saved["id"])
        assert stored.full_doc()["generic"]["headers"] == [
            {"key": "Authorization", "value": "tok-secret-1"},
            {"key": "X-Extra", "value": "two"},
        ]
        assert stored.full_doc()["generic"]["extraFields"] == []  # its row was not posted
        # every row removed: no headers left
        r = await b.post(edit_url, {**form, "action": "save"})
        assert r.status_code == 303
        stored = await central.central.notifications.store.get(saved["id"])
        assert stored.full_doc()["generic"]["headers"] == []
    finally:
        await receiver.stop()


async def test_splunk_source_type_email_recipient_and_syslog_extra_fields(central) -> None:
    b = await logged_in(central)
    token = await b.csrf(NEW + "?type=splunk")
    page = await b.get(NEW + "?type=splunk")
    assert '<datalist id="f-splunk-sourceTypes-alert-options">' in page.text
    r = await b.post(
        NEW,
        {
            "csrf_token": token,
            "type": "splunk",
            "name": "hec",
            "splunk.httpEndpoint": "https://splunk.example.com:8088/services/collector",
            "splunk.httpToken": "hec-token",
            "splunk.sourceTypes.alert": "_json",
            "action": "save",
        },
    )
    assert r.status_code == 303, r.text
    (splunk,) = await notifiers(central)
    assert splunk["splunk"]["sourceTypes"] == {"alert": "_json"}
    edit = await b.get(f"/main/integrations/notifiers/{splunk['id']}/edit")
    assert re.search(r'id="f-splunk-sourceTypes-alert"[^>]* value="_json"', edit.text)

    email = {
        "csrf_token": token,
        "type": "email",
        "name": "mail",
        "email.server": "smtp.example.com:587",
        "email.sender": "stockade@example.com",
        "email.allowUnauthenticatedSmtp": "true",
        "labelDefault": "not an address",
        "action": "save",
    }
    r = await b.post(NEW, email)
    assert r.status_code == 400 and "labelDefault" in field_error(r.text, "f-labelDefault")
    r = await b.post(NEW, {**email, "labelDefault": "security@example.com"})
    assert r.status_code == 303, r.text
    mail = next(n for n in await notifiers(central) if n["type"] == "email")
    assert mail["labelDefault"] == "security@example.com"

    r = await b.post(
        NEW,
        {
            "csrf_token": token,
            "type": "syslog",
            "name": "siem",
            "syslog.transport": "TCP",
            "syslog.tcpConfig.hostname": "siem.example.com",
            "syslog.tcpConfig.port": "6514",
            "syslog.extraFields.0.key": "site",
            "syslog.extraFields.0.value": "eu-1",
            "action": "save",
        },
    )
    assert r.status_code == 303, r.text
    syslog = next(n for n in await notifiers(central) if n["type"] == "syslog")
    assert syslog["syslog"]["extraFields"] == [{"key": "site", "value": "eu-1"}]
    edit = await b.get(f"/main/integrations/notifiers/{syslog['id']}/edit")
    assert 'value="eu-1"' in edit.text
