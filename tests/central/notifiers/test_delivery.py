"""Each notifier type end to end through the API: create → test call → enqueue → the real
receiver has it → the queue shows it DELIVERED."""

from __future__ import annotations

import json

from .conftest import CentralHandle, alert, create, deliveries, eventually
from .receivers import HttpReceiver, SmtpReceiver, SyslogReceiver, TLSFiles


async def _delivered(c: CentralHandle, nid: str, n: int = 1) -> None:
    async def done() -> bool:
        d = await deliveries(c, nid)
        return bool(d["counts"]["delivered"] == n)

    await eventually(done, what="delivered")


async def test_generic_webhook_over_tls_with_headers_and_basic_auth(
    fast_central: CentralHandle, tls: TLSFiles
) -> None:
    receiver = await HttpReceiver(tls=tls.server_ctx).start()
    try:
        n = await create(
            fast_central,
            {
                "name": "hook",
                "type": "generic",
                "uiEndpoint": "https://stockade.example.com",
                "generic": {
                    "endpoint": receiver.url + "/hooks/alerts?x=1",
                    "caCert": tls.ca_pem,
                    "username": "hookuser",
                    "password": "hook-pass-123",
                    "headers": [{"key": "X-Api-Key", "value": "key-abc-987"}],
                    "extraFields": [{"key": "env", "value": "prod"}],
                },
            },
        )
        r = await fast_central.admin(
            "POST",
            "/v1/notifiers/test",
            json={
                **n,
                "generic": {
                    **n["generic"],
                    "password": "hook-pass-123",
                    "headers": [{"key": "X-Api-Key", "value": "key-abc-987"}],
                },
            },
        )
        assert r.status_code == 200, r.text
        assert len(receiver.requests) == 1
        assert receiver.requests[0].json()["alert"]["policy"]["name"] == "Stockade notifier test"

        added = await fast_central.central.notifications.enqueue([n["id"]], "alert:1", alert(1))
        assert added == 1
        await _delivered(fast_central, n["id"])
        req = receiver.requests[-1]
        assert req.method == "POST" and req.path == "/hooks/alerts?x=1"
        assert req.headers["x-api-key"] == "key-abc-987"
        assert req.headers["authorization"].startswith("Basic ")
        body = req.json()
        assert body["env"] == "prod"
        assert body["alert"] == alert(1)
        d = await deliveries(fast_central, n["id"])
        assert req.headers["idempotency-key"] == d["deliveries"][0]["id"]
    finally:
        await receiver.stop()


async def test_slack_webhook_message(
    fast_central: CentralHandle, http_receiver: HttpReceiver
) -> None:
    n = await create(
        fast_central,
        {
            "name": "slack",
            "type": "slack",
            "uiEndpoint": "https://stockade.example.com/",
            "labelKey": "slack-webhook",
            "labelDefault": http_receiver.url + "/services/T000/B000/XXXX",
        },
    )
    r = await fast_central.admin("POST", "/v1/notifiers/test", json=n)
    assert r.status_code == 200, r.text
    await fast_central.central.notifications.enqueue([n["id"]], "alert:1", alert(1))
    await _delivered(fast_central, n["id"])
    req = http_receiver.requests[-1]
    assert req.path == "/services/T000/B000/XXXX"
    msg = req.json()
    att = msg["attachments"][0]
    assert msg["text"] == "Deployment web in prod-east/shop violates policy 'Privileged Container'"
    assert att["color"] == "#ec7a08"  # high severity
    assert att["title_link"] == (
        "https://stockade.example.com/main/violations/00000000-0000-4000-8000-000000000001"
    )
    assert "Container 'web' is privileged" in att["text"]
    assert {"title": "Namespace", "value": "shop", "short": True} in att["fields"]

    # a deployment annotated with the notifier's labelKey gets its own webhook
    a = alert(2)
    a["deployment"]["annotations"] = {"slack-webhook": http_receiver.url + "/team-shop"}
    await fast_central.central.notifications.enqueue([n["id"]], "alert:2", a)
    await _delivered(fast_central, n["id"], 2)
    assert [r.path for r in http_receiver.requests[1:]] == [
        "/services/T000/B000/XXXX",
        "/team-shop",
    ]


async def test_splunk_hec_event(fast_central: CentralHandle, http_receiver: HttpReceiver) -> None:
    n = await create(
        fast_central,
        {
            "name": "splunk",
            "type": "splunk",
            "splunk": {
                "httpEndpoint": http_receiver.url + "/services/collector/event",
                "httpToken": "hec-token-0123",
                "sourceTypes": {"alert": "stockade:alert"},
            },
        },
    )
    await fast_central.central.notifications.enqueue([n["id"]], "alert:1", alert(1))
    await _delivered(fast_central, n["id"])
    req = http_receiver.requests[-1]
    assert req.headers["authorization"] == "Splunk hec-token-0123"
    ev = req.json()
    assert ev["sourcetype"] == "stockade:alert"
    assert ev["event"] == alert(1)
    assert ev["time"] == 1767323045.0


async def test_email_starttls_with_auth_and_refused_credentials(
    fast_central: CentralHandle, smtp_tls: SmtpReceiver, tls: TLSFiles
) -> None:
    n = await create(
        fast_central,
        {
            "name": "mail",
            "type": "email",
            "labelDefault": "secops@example.com",
            "uiEndpoint": "https://stockade.example.com",
            "email": {
                "server": f"127.0.0.1:{smtp_tls.port}",
                "sender": "stockade@example.com",
                "from": "Stockade",
                "username": smtp_tls.user,
                "password": smtp_tls.password,
                "startTLSAuthMethod": "LOGIN",
                "caCert": tls.ca_pem,
            },
        },
    )
    r = await fast_central.admin(
        "POST",
        "/v1/notifiers/test/updated",
        json={"notifier": n, "updatePassword": False},
    )
    assert r.status_code == 200, r.text
    assert smtp_tls.mails[-1][2]["Subject"].startswith("[Stockade test] ")

    await fast_central.central.notifications.enqueue([n["id"]], "alert:1", alert(1))
    await _delivered(fast_central, n["id"])
    sender, rcpts, msg = smtp_tls.mails[-1]
    assert sender == "stockade@example.com" and rcpts == ["secops@example.com"]
    assert msg["From"] == "Stockade <stockade@example.com>"
    assert (
        msg["Subject"].strip()
        == "Deployment web in prod-east/shop violates policy 'Privileged Container'"
    )
    d = await deliveries(fast_central, n["id"])
    assert msg["Message-ID"] == f"<{d['deliveries'][0]['id']}@example.com>"
    text = msg.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert "Remediation:\nRun containers without privileged mode." in text
    assert "  - Container 'web' is privileged" in text
    assert "https://stockade.example.com/main/violations/" in text

    # a wrong password fails the test call with the server's refusal, secret-free
    doc = {
        "name": "mail",
        "type": "email",
        "labelDefault": "secops@example.com",
        "email": {
            "server": f"127.0.0.1:{smtp_tls.port}",
            "sender": "stockade@example.com",
            "username": smtp_tls.user,
            "password": "wrong-password",
            "startTLSAuthMethod": "PLAIN",
            "caCert": tls.ca_pem,
        },
    }
    r = await fast_central.admin("POST", "/v1/notifiers/test", json=doc)
    assert r.status_code == 400
    assert r.json()["message"] == (
        f"testing notifier 'mail' failed: 127.0.0.1:{smtp_tls.port} refused the credentials"
    )
    assert "wrong-password" not in r.text
    assert len(smtp_tls.mails) == 2  # nothing more arrived


async def test_syslog_tcp_and_udp_rfc5424(
    fast_central: CentralHandle, syslog_tcp: SyslogReceiver
) -> None:
    n = await create(
        fast_central,
        {
            "name": "syslog",
            "type": "syslog",
            "syslog": {
                "localFacility": "LOCAL4",
                "tcpConfig": {"hostname": "127.0.0.1", "port": syslog_tcp.port},
                "extraFields": [{"key": "env", "value": 'pr"od]'}],
            },
        },
    )
    r = await fast_central.admin("POST", "/v1/notifiers/test", json=n)
    assert r.status_code == 200, r.text
    await fast_central.central.notifications.enqueue([n["id"]], "alert:1", alert(1))
    await _delivered(fast_central, n["id"])
    assert len(syslog_tcp.messages) == 2
    msg = syslog_tcp.messages[-1]
    head, sep, body = msg.partition(b"\xef\xbb\xbf")
    assert sep
    # <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD]; local4 (20) * 8 + error (3) = 163
    fields = head.decode().split(" ", 6)
    assert fields[0] == "<163>1" and fields[3] == "stockade" and fields[5] == "alert"
    sd = fields[6]
    assert sd.startswith("[stockadeAlert@32473 ")
    assert 'policy="Privileged Container"' in sd
    assert 'env="pr\\"od\\]"' in sd
    assert json.loads(body) == alert(1)

    # the same over UDP: one datagram per message
    receiver = await SyslogReceiver("udp").start()
    try:
        n = await create(
            fast_central,
            {
                "name": "syslog-udp",
                "type": "syslog",
                "syslog": {"udpConfig": {"hostname": "127.0.0.1", "port": receiver.port}},
            },
        )
        await fast_central.central.notifications.enqueue([n["id"]], "alert:1", alert(1))
        await _delivered(fast_central, n["id"])
        await eventually(lambda: receiver.messages, what="datagram")
        assert receiver.messages[0].startswith(b"<131>1 ")  # local0 (16) * 8 + error
    finally:
        await receiver.stop()


async def test_syslog_tls_cef(fast_central: CentralHandle, tls: TLSFiles) -> None:
    receiver = await SyslogReceiver("tcp", tls=tls.server_ctx).start()
    try:
        n = await create(
            fast_central,
            {
                "name": "syslog-tls",
                "type": "syslog",
                "syslog": {
                    "messageFormat": "CEF",
                    "tcpConfig": {
                        "hostname": "localhost",
                        "port": receiver.port,
                        "useTls": True,
                        "caCert": tls.ca_pem,
                    },
                },
            },
        )
        a = alert(3)
        a["violations"] = [{"message": "a=b | c\\d\nnext"}]
        await fast_central.central.notifications.enqueue([n["id"]], "alert:3", a)
        await _delivered(fast_central, n["id"])
        text = receiver.messages[-1].decode()
        header, _, cef = text.partition(" - CEF:")
        assert header.split(" ")[5] == "CEF"
        parts = ("CEF:" + cef).split("|", 7)
        assert parts[:3] == ["CEF:0", "Stockade", "Stockade"]
        assert parts[4] == "pol-1" and parts[6] == "8"
        assert "msg=a\\=b | c\\\\d\\nnext" in parts[7]
        assert "cs4=web" in parts[7]
    finally:
        await receiver.stop()
