"""The /v1/notifiers API: validation on save (400 naming the field, nothing saved), secrets
sealed at rest, masked in answers and kept out of logs, updates that keep stored secrets,
deletion while policies use a notifier, permissions."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from stockade.central.notifiers import documents
from stockade.central.notifiers.base import InvalidNotifier

from .conftest import CentralHandle, alert, create, deliveries, eventually
from .receivers import HttpReceiver

GOOD: dict[str, dict[str, Any]] = {
    "generic": {"name": "g", "type": "generic", "generic": {"endpoint": "https://h.example/x"}},
    "slack": {"name": "s", "type": "slack", "labelDefault": "https://hooks.example/T/B/X"},
    "email": {
        "name": "e",
        "type": "email",
        "labelDefault": "sec@example.com",
        "email": {
            "server": "smtp.example.com:587",
            "sender": "stockade@example.com",
            "username": "u",
            "password": "p",
            "startTLSAuthMethod": "PLAIN",
        },
    },
    "syslog": {
        "name": "l",
        "type": "syslog",
        "syslog": {"tcpConfig": {"hostname": "logs.example.com", "port": 6514, "useTls": True}},
    },
    "splunk": {
        "name": "k",
        "type": "splunk",
        "splunk": {
            "httpEndpoint": "https://splunk.example:8088/services/collector",
            "httpToken": "t",
        },
    },
}


def _with(kind: str, path: str, value: Any) -> dict[str, Any]:
    import copy

    doc = copy.deepcopy(GOOD[kind])
    *parents, last = path.split(".")
    cur = doc
    for p in parents:
        cur = cur[p]
    if value is _DEL:
        del cur[last]
    else:
        cur[last] = value
    return doc


_DEL = object()

BAD = [
    (
        _with("generic", "generic.endpoint", "ftp://h.example/x"),
        "generic.endpoint: URL scheme 'ftp' is not supported",
    ),
    (_with("generic", "generic.endpoint", "https:///x"), "generic.endpoint: has no host"),
    (
        _with("generic", "generic.endpoint", "https://h.example:99999/"),
        "generic.endpoint: port must be",
    ),
    (
        _with("generic", "generic.endpoint", "https://h.example:0/"),
        "generic.endpoint: port must be",
    ),
    (
        _with("generic", "generic.endpoint", "h.example/x"),
        "generic.endpoint: URL scheme is not supported",
    ),
    (
        _with("generic", "generic.endpoint", "https://u:pw@h.example/"),
        "generic.endpoint: must not carry credentials",
    ),
    (
        _with("generic", "generic.endpoint", "https://bad_host!/"),
        "generic.endpoint: host 'bad_host!'",
    ),
    (_with("generic", "generic.endpoint", _DEL), "generic.endpoint: is required"),
    (_with("generic", "generic.caCert", "not a cert"), "generic.caCert: is not a PEM certificate"),
    (
        _with("generic", "generic.headers", [{"key": "Bad Header", "value": "x"}]),
        "generic.headers[0].key: is not a valid HTTP header name",
    ),
    (
        _with("generic", "generic.headers", [{"key": "X-A", "value": "a\r\nX-B: b"}]),
        "generic.headers[0].value: must not contain line breaks",
    ),
    (_with("generic", "generic.username", "only-user"), "generic.password: is required when"),
    (_with("generic", "uiEndpoint", "javascript:alert(1)"), "uiEndpoint: URL scheme 'javascript'"),
    (_with("generic", "type", "pagerduty"), "type: 'pagerduty' is not supported"),
    (_with("generic", "name", ""), "name: is required"),
    (_with("generic", "generic", "x"), "generic: must be an object"),
    (_with("generic", "generic", _DEL), "generic: is required"),
    (_with("generic", "generic.ca_cert", "x"), "generic.ca_cert: is not a field of this type"),
    (_with("email", "email.pasword", "x"), "email.pasword: is not a field of this type"),
    (_with("slack", "labelDefault", ""), "labelDefault: is required"),
    (_with("slack", "labelDefault", "http://"), "labelDefault: has no host"),
    (_with("email", "email.server", "smtp.example.com:smtp"), "email.server: port must be"),
    (_with("email", "email.server", ""), "email.server: is required"),
    (
        _with("email", "email.sender", "not-an-address"),
        "email.sender: 'not-an-address' is not an email address",
    ),
    (
        _with("email", "email.password", ""),
        "email.password: is required unless allowUnauthenticatedSmtp",
    ),
    (
        _with("email", "email.startTLSAuthMethod", "CRAM"),
        "email.startTLSAuthMethod: must be one of",
    ),
    (_with("email", "labelDefault", "nobody"), "labelDefault: 'nobody' is not an email address"),
    (_with("syslog", "syslog.tcpConfig.port", 70000), "syslog.tcpConfig.port: port must be"),
    (_with("syslog", "syslog.tcpConfig.hostname", ""), "syslog.tcpConfig.hostname: is required"),
    (_with("syslog", "syslog.tcpConfig", _DEL), "syslog.tcpConfig: give exactly one"),
    (
        _with("syslog", "syslog.localFacility", "KERN"),
        "syslog.localFacility: must be one of LOCAL0",
    ),
    (
        _with("syslog", "syslog.messageFormat", "XML"),
        "syslog.messageFormat: must be one of LEGACY, CEF",
    ),
    (_with("splunk", "splunk.httpToken", ""), "splunk.httpToken: is required"),
    (
        _with("splunk", "splunk.httpEndpoint", "splunk.example:8088"),
        "splunk.httpEndpoint: URL scheme",
    ),
    (_with("splunk", "splunk.truncate", -1), "splunk.truncate: must be at least 0"),
]


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_good_documents_parse(kind: str) -> None:
    parsed = documents.parse(GOOD[kind], "id-1")
    assert parsed.common.type == kind


def test_product_fields_without_effect_are_accepted() -> None:
    doc = _with("splunk", "splunk.auditLoggingEnabled", False)
    doc["splunk"]["derivedSourceType"] = False
    doc["splunk"]["insecure"] = False
    doc["splunk"]["truncate"] = "10000"  # int64 as the product's gateway writes it
    assert documents.parse(doc, "id-1").config.truncate == 10000
    assert documents.parse(_with("generic", "generic.auditLoggingEnabled", True), "id-1")


@pytest.mark.parametrize(
    ("doc", "message"), BAD, ids=[m.split(":")[0] + f"-{i}" for i, (_, m) in enumerate(BAD)]
)
def test_bad_documents_name_the_field(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidNotifier) as exc:
        documents.parse(doc, "id-1")
    assert exc.value.message.startswith(message), exc.value.message


async def test_bad_url_refused_and_nothing_saved(fast_central: CentralHandle) -> None:
    for doc, message in [*BAD[:3], (GOOD["generic"] | {"type": ""}, "type: is required")]:
        r = await fast_central.admin("POST", "/v1/notifiers", json=doc)
        assert r.status_code == 400, r.text
        assert r.json()["message"].startswith(message)
    r = await fast_central.admin("POST", "/v1/notifiers", content=b"{not json")
    assert r.status_code == 400
    r = await fast_central.admin("GET", "/v1/notifiers")
    assert r.json() == {"notifiers": []}
    await create(fast_central, GOOD["generic"])
    r = await fast_central.admin("POST", "/v1/notifiers", json=GOOD["generic"])
    assert r.status_code == 409
    assert r.json()["message"] == "a notifier named 'g' already exists"


SECRETS = ("hook-password-5150", "header-token-8086", "hec-token-6502", "smtp-password-z80")


async def test_secrets_sealed_masked_and_never_logged(
    fast_central: CentralHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    g = await create(
        fast_central,
        {
            "name": "hook",
            "type": "generic",
            "generic": {
                "endpoint": "http://127.0.0.1:9/alerts",  # discard port: nobody listens
                "username": "u",
                "password": SECRETS[0],
                "headers": [
                    {"key": "Authorization", "value": f"Bearer {SECRETS[1]}"},
                    {"key": "X-Empty", "value": ""},
                ],
            },
        },
    )
    s = await create(fast_central, _with("splunk", "splunk.httpToken", SECRETS[2]))
    e = await create(fast_central, _with("email", "email.password", SECRETS[3]))
    assert g["generic"]["password"] == "******"
    assert g["generic"]["headers"] == [
        {"key": "Authorization", "value": "******"},
        {"key": "X-Empty", "value": ""},
    ]
    assert s["splunk"]["httpToken"] == "******"
    assert e["email"]["password"] == "******"
    for path in ("/v1/notifiers", f"/v1/notifiers/{g['id']}"):
        r = await fast_central.admin("GET", path)
        assert not any(x in r.text for x in SECRETS)

    # a failed delivery and a failed test call log nothing secret either
    await fast_central.central.notifications.enqueue([g["id"], s["id"]], "alert:1", alert(1))

    async def failed_once() -> bool:
        d = await deliveries(fast_central, g["id"])
        return bool(d["deliveries"] and d["deliveries"][0]["attempts"] >= 1)

    await eventually(failed_once)
    r = await fast_central.admin(
        "POST", "/v1/notifiers/test/updated", json={"notifier": g, "updatePassword": False}
    )
    assert r.status_code == 400
    assert r.json()["message"].startswith(
        "testing notifier 'hook' failed: cannot connect to 127.0.0.1"
    )

    with psycopg.connect(fast_central.db_url) as conn:
        rows = conn.execute("SELECT doc::text, sealed_secrets FROM notifiers").fetchall()
        queue = conn.execute("SELECT last_error FROM notification_queue").fetchall()
    dump = repr(rows) + repr(queue)
    assert all(row[1] for row in rows)  # sealed blobs exist ...
    assert not any(x in dump or x.encode() in b"".join(r[1] for r in rows) for x in SECRETS)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "notifier created" in logged and "not delivered; will retry" in logged
    assert not any(x in logged for x in SECRETS)


async def test_updates_keep_or_replace_stored_secrets(
    fast_central: CentralHandle, http_receiver: HttpReceiver
) -> None:
    doc = {
        "name": "hook",
        "type": "generic",
        "generic": {
            "endpoint": http_receiver.url + "/a",
            "headers": [{"key": "X-Token", "value": "first-token"}],
        },
    }
    n = await create(fast_central, doc)
    nid = n["id"]

    # PUT with the masked value: the stored header is kept
    n["name"] = "hook-renamed"
    r = await fast_central.admin("PUT", f"/v1/notifiers/{nid}", json=n)
    assert r.status_code == 200, r.text
    await fast_central.admin("POST", "/v1/notifiers/test", json={**n, "generic": doc["generic"]})
    r = await fast_central.admin(
        "POST", "/v1/notifiers/test/updated", json={"notifier": n, "updatePassword": False}
    )
    assert r.status_code == 200, r.text
    assert [q.headers["x-token"] for q in http_receiver.requests] == ["first-token"] * 2

    # sending kept credentials somewhere else is refused
    moved = {**n, "generic": {**n["generic"], "endpoint": "https://elsewhere.example/"}}
    for method, body in (("PUT", moved), ("PATCH", {"notifier": moved, "updatePassword": False})):
        r = await fast_central.admin(method, f"/v1/notifiers/{nid}", json=body)
        assert r.status_code == 400
        assert r.json()["message"] == (
            "generic.endpoint: changed, so the stored credentials cannot be kept: give them again"
        )
    r = await fast_central.admin(
        "POST", "/v1/notifiers/test/updated", json={"notifier": moved, "updatePassword": False}
    )
    assert r.status_code == 400

    # PATCH with updatePassword: the new value replaces the stored one
    fresh = {
        **n,
        "generic": {**n["generic"], "headers": [{"key": "X-Token", "value": "second-token"}]},
    }
    r = await fast_central.admin(
        "PATCH", f"/v1/notifiers/{nid}", json={"notifier": fresh, "updatePassword": True}
    )
    assert r.status_code == 200, r.text
    got = (await fast_central.admin("GET", f"/v1/notifiers/{nid}")).json()
    assert got["name"] == "hook-renamed"
    assert got["generic"]["headers"] == [{"key": "X-Token", "value": "******"}]
    await fast_central.central.notifications.enqueue([nid], "alert:1", alert(1))
    await eventually(lambda: len(http_receiver.requests) == 3)
    assert http_receiver.requests[-1].headers["x-token"] == "second-token"


async def test_delete_while_policies_use_it(
    fast_central: CentralHandle, http_receiver: HttpReceiver
) -> None:
    n = await create(
        fast_central,
        {"name": "hook", "type": "generic", "generic": {"endpoint": http_receiver.url}},
    )
    with psycopg.connect(fast_central.db_url) as conn:
        row = conn.execute("SELECT id, doc FROM policies ORDER BY name LIMIT 1").fetchone()
        assert row is not None
        pid, pdoc = row
        conn.execute(
            "UPDATE policies SET doc = %s WHERE id = %s",
            (Jsonb({**pdoc, "notifiers": ["other", n["id"]]}), pid),
        )
    r = await fast_central.admin("DELETE", f"/v1/notifiers/{n['id']}")
    assert r.status_code == 409
    assert f"notifier is used by policies {pdoc['name']!r}" in r.json()["message"]
    await fast_central.central.notifications.enqueue([n["id"]], "x", alert(1))

    r = await fast_central.admin("DELETE", f"/v1/notifiers/{n['id']}?force=true")
    assert r.status_code == 200
    r = await fast_central.admin("GET", f"/v1/policies/{pid}")
    assert r.json()["notifiers"] == ["other"]
    assert (await fast_central.admin("GET", f"/v1/notifiers/{n['id']}")).status_code == 404
    with psycopg.connect(fast_central.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM notification_queue").fetchone() == (0,)


async def test_permissions(fast_central: CentralHandle) -> None:
    n = await create(fast_central, _with("splunk", "splunk.httpToken", "tok-perm-1"))
    analyst = await fast_central.token_for("Analyst")
    ci = await fast_central.token_for("Continuous Integration")
    r = await fast_central.as_token(analyst, "GET", "/v1/notifiers")
    assert r.status_code == 200 and "tok-perm-1" not in r.text
    for method, path, body in (
        ("POST", "/v1/notifiers", GOOD["slack"]),
        ("DELETE", f"/v1/notifiers/{n['id']}", None),
        ("POST", "/v1/notifiers/test", GOOD["slack"]),
    ):
        r = await fast_central.as_token(analyst, method, path, json=body)
        assert r.status_code == 403, (method, path)
    assert (await fast_central.as_token(ci, "GET", "/v1/notifiers")).status_code == 403


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("notifier_max_attempts", "0", "notifier_max_attempts must be at least 1"),
        ("notifier_timeout_seconds", "0", "notifier_timeout_seconds must be more than 0"),
        ("notifier_retry_max_seconds", "1", "notifier_retry_max_seconds must be at least"),
    ],
)
def test_delivery_settings_are_checked(setting: str, value: str, message: str) -> None:
    from stockade.central.config import load_config
    from stockade.core.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        load_config({}, environ={f"STOCKADE_{setting.upper()}": value})
    assert exc.value.message.startswith(message)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "https://metadata.localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9000/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_local_endpoints_refused_unless_allowed(url: str) -> None:
    for kind, field in (
        ("generic", "generic.endpoint"),
        ("splunk", "splunk.httpEndpoint"),
        ("slack", "labelDefault"),
    ):
        doc = _with(kind, field, url)
        with pytest.raises(InvalidNotifier) as exc:
            documents.parse(doc, "id-1", allow_local=False)
        assert exc.value.message == (
            f"{field}: must not point at this host or a link-local address"
        )
        documents.parse(doc, "id-1", allow_local=True)
    assert documents.parse(GOOD["generic"], "id-1", allow_local=False)


async def test_default_central_refuses_a_loopback_webhook(
    start_central: Any, database_url: str
) -> None:
    c = await start_central(database_url)
    r = await c.admin(
        "POST", "/v1/notifiers", json=_with("generic", "generic.endpoint", "http://127.0.0.1:9/")
    )
    assert r.status_code == 400
    assert (
        r.json()["message"]
        == "generic.endpoint: must not point at this host or a link-local address"
    )


async def test_slack_annotation_cannot_point_at_a_local_address() -> None:
    from stockade.central.notifiers.base import DeliveryFailed, DeliveryOptions, Notification

    doc = {**GOOD["slack"], "labelKey": "team-slack"}
    parsed = documents.parse(doc, "id-1", allow_local=False)
    a = alert(1)
    a["deployment"]["annotations"] = {"team-slack": "http://169.254.169.254/latest/"}
    with pytest.raises(DeliveryFailed) as exc:
        await parsed.plugin.send(parsed.config, Notification(a, "k"), DeliveryOptions(timeout=1))
    assert not exc.value.retryable
    assert exc.value.message == "the webhook from annotation 'team-slack' points at a local address"
