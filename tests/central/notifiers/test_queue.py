"""The delivery queue: a receiver that is down for a while gets every notification once it
is back and none twice; several Central replicas share one queue; notifications survive a
restart; permanent failures and used-up attempts end FAILED, visible in the API; enqueueing
never waits for a receiver."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY

from .conftest import FAST, CentralHandle, alert, create, deliveries, eventually
from .receivers import HttpReceiver, free_port

pytestmark = pytest.mark.slow


def _hook(port: int, name: str = "hook", **generic: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "generic",
        "generic": {"endpoint": f"http://127.0.0.1:{port}/alerts", **generic},
    }


async def _hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept, read, never answer; end when the client gives up."""
    while await reader.read(65536):
        pass
    writer.close()


def _keys(receiver: HttpReceiver) -> list[str]:
    return [r.headers["idempotency-key"] for r in receiver.requests]


async def _all_delivered(c: CentralHandle, nid: str, n: int) -> None:
    async def done() -> bool:
        return bool((await deliveries(c, nid))["counts"]["delivered"] == n)

    await eventually(done, timeout=30, what=f"{n} delivered")


async def test_receiver_down_then_up_gets_each_notification_once(
    fast_central: CentralHandle,
) -> None:
    port = free_port()
    n = await create(fast_central, _hook(port))
    svc = fast_central.central.notifications
    for i in range(12):
        assert await svc.enqueue([n["id"]], f"alert:{i}", alert(i)) == 1
    assert await svc.enqueue([n["id"]], "alert:3", alert(3)) == 0  # same event: once

    async def retried() -> bool:
        d = await deliveries(fast_central, n["id"])
        return all(x["attempts"] >= 2 for x in d["deliveries"])

    await eventually(retried, what="every row retried while the receiver is down")
    d = await deliveries(fast_central, n["id"])
    assert d["counts"] == {"pending": 12, "delivered": 0, "failed": 0}
    assert {x["lastError"] for x in d["deliveries"]} == {
        "cannot connect to 127.0.0.1: connection refused"
    }
    health = (await fast_central.admin("GET", "/v1/integrationhealth/notifiers")).json()
    assert health["integrationHealth"][0]["status"] == "UNHEALTHY"

    # back, but overloaded for a moment: 503 answers are retried too
    started = time.monotonic()
    receiver = HttpReceiver(
        port=port, status=lambda _r: 503 if time.monotonic() - started < 0.5 else 200
    )
    await receiver.start()
    try:
        await _all_delivered(fast_central, n["id"], 12)
        await asyncio.sleep(0.5)  # nothing more arrives later
        keys = _keys(receiver)
        assert len(keys) == 12 and len(set(keys)) == 12
        d = await deliveries(fast_central, n["id"])
        assert set(keys) == {x["id"] for x in d["deliveries"]}
        assert sorted(r.json()["alert"]["id"] for r in receiver.requests) == sorted(
            alert(i)["id"] for i in range(12)
        )
        health = (await fast_central.admin("GET", "/v1/integrationhealth/notifiers")).json()
        assert health["integrationHealth"][0]["status"] == "HEALTHY"
    finally:
        await receiver.stop()


async def test_two_replicas_share_the_queue_without_duplicates(
    start_central: Any, database_url: str, http_receiver: HttpReceiver, tmp_path: Any
) -> None:
    # replicas share the master key (a Kubernetes Secret in production)
    a = await start_central(database_url, data_dir=tmp_path / "c", **FAST)
    b = await start_central(database_url, data_dir=tmp_path / "c", **FAST)
    n = await create(a, _hook(http_receiver.port))
    for i in range(40):
        svc = (a if i % 2 else b).central.notifications
        await svc.enqueue([n["id"]], f"alert:{i}", alert(i))
    await _all_delivered(a, n["id"], 40)
    await asyncio.sleep(0.3)
    keys = _keys(http_receiver)
    assert len(keys) == 40 and len(set(keys)) == 40


async def test_notifications_survive_a_restart(
    start_central: Any, database_url: str, tmp_path: Any
) -> None:
    port = free_port()
    first = await start_central(database_url, data_dir=tmp_path / "c", **FAST)
    n = await create(
        first, _hook(port, headers=[{"key": "Authorization", "value": "Bearer tok-restart-42"}])
    )
    for i in range(5):
        await first.central.notifications.enqueue([n["id"]], f"alert:{i}", alert(i))

    async def tried() -> bool:
        d = await deliveries(first, n["id"])
        return all(x["attempts"] >= 1 for x in d["deliveries"])

    await eventually(tried, what="a failed attempt each")
    await first.central.stop()

    receiver = await HttpReceiver(port=port).start()
    try:
        await asyncio.sleep(0.3)
        assert receiver.requests == []  # nobody delivers while no Central runs
        second = await start_central(database_url, data_dir=tmp_path / "c", **FAST)
        await _all_delivered(second, n["id"], 5)
        await asyncio.sleep(0.3)
        assert len(receiver.requests) == 5
        assert {r.headers["authorization"] for r in receiver.requests} == {"Bearer tok-restart-42"}
    finally:
        await receiver.stop()


async def test_clean_stop_hands_back_claimed_rows(fast_central: CentralHandle) -> None:
    """A delivery cut short by a stop is released, not left leased for minutes."""

    server = await asyncio.start_server(_hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        n = await create(fast_central, _hook(port))
        await fast_central.central.notifications.enqueue([n["id"]], "alert:1", alert(1))
        url = fast_central.db_url
        with psycopg.connect(url) as conn:

            def leased() -> bool:
                row = conn.execute(
                    "SELECT next_attempt_at > now() + interval '20 seconds' FROM notification_queue"
                ).fetchone()
                conn.commit()
                return bool(row and row[0])

            await eventually(leased, what="the row leased to the worker")
            await fast_central.central.notifications.stop(grace=0.2)
            row = conn.execute(
                "SELECT state, next_attempt_at <= now() FROM notification_queue"
            ).fetchone()
        assert row == ("PENDING", True)
    finally:
        server.close()


async def test_permanent_failure_is_failed_and_can_be_retried(
    fast_central: CentralHandle,
) -> None:
    status = {"code": 400}
    receiver = await HttpReceiver(status=lambda _r: status["code"]).start()
    try:
        n = await create(fast_central, _hook(receiver.port))
        failed_before = REGISTRY.get_sample_value(
            "stockade_notification_attempts_total", {"type": "generic", "result": "failed"}
        )
        await fast_central.central.notifications.enqueue([n["id"]], "alert:1", alert(1))

        async def failed() -> dict[str, Any] | None:
            d = await deliveries(fast_central, n["id"])
            return d if d["counts"]["failed"] == 1 else None

        d = await eventually(failed, what="FAILED")
        assert (
            REGISTRY.get_sample_value(
                "stockade_notification_attempts_total", {"type": "generic", "result": "failed"}
            )
            == (failed_before or 0) + 1
        )
        row = d["deliveries"][0]
        assert row["attempts"] == 1  # a 400 is not retried
        assert row["lastError"] == "127.0.0.1 answered HTTP 400"
        r = await fast_central.admin("GET", f"/v1/notifiers/{n['id']}/deliveries?state=failed")
        assert [x["id"] for x in r.json()["deliveries"]] == [row["id"]]

        status["code"] = 200
        r = await fast_central.admin("POST", f"/v1/notifiers/{n['id']}/deliveries/retry")
        assert r.json() == {"requeued": 1}
        await _all_delivered(fast_central, n["id"], 1)
        assert _keys(receiver) == [row["id"]]
    finally:
        await receiver.stop()


async def test_attempts_run_out(start_central: Any, database_url: str) -> None:
    c = await start_central(database_url, **{**FAST, "notifier_max_attempts": 3})
    n = await create(c, _hook(free_port()))
    await c.central.notifications.enqueue([n["id"]], "alert:1", alert(1))

    async def failed() -> dict[str, Any] | None:
        d = await deliveries(c, n["id"])
        return d if d["counts"]["failed"] == 1 else None

    d = await eventually(failed, what="FAILED after 3 attempts")
    assert d["deliveries"][0]["attempts"] == 3
    assert d["deliveries"][0]["nextAttemptAt"] is None


async def test_enqueue_inside_the_callers_transaction(fast_central: CentralHandle) -> None:
    n = await create(fast_central, _hook(free_port()))
    svc = fast_central.central.notifications
    db = fast_central.central.db
    try:
        async with db.connection() as conn, conn.transaction():
            assert (
                await svc.enqueue([n["id"], "no-such-notifier"], "alert:9", alert(9), conn=conn)
                == 1
            )
            raise RuntimeError("the caller's change fails")
    except RuntimeError:
        pass
    assert (await deliveries(fast_central, n["id"]))["counts"]["pending"] == 0
    async with db.connection() as conn:
        await svc.enqueue([n["id"]], "alert:9", alert(9), conn=conn)
    assert (await deliveries(fast_central, n["id"]))["counts"]["pending"] == 1


async def test_enqueue_never_waits_for_a_hanging_receiver(fast_central: CentralHandle) -> None:
    server = await asyncio.start_server(_hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        n = await create(fast_central, _hook(port))
        svc = fast_central.central.notifications
        await svc.enqueue([n["id"]], "alert:0", alert(0))
        await asyncio.sleep(0.2)  # the worker is now stuck on the receiver
        t = time.monotonic()
        for i in range(1, 21):
            await svc.enqueue([n["id"]], f"alert:{i}", alert(i))
        r = await fast_central.admin("GET", "/v1/notifiers")
        elapsed = time.monotonic() - t
        assert r.status_code == 200
        assert elapsed < 1.5, f"enqueue and the API waited {elapsed:.2f} s"

        async def timed_out() -> bool:
            d = await deliveries(fast_central, n["id"])
            return any("did not answer within 2 s" in x["lastError"] for x in d["deliveries"])

        await eventually(timed_out, timeout=20, what="a timeout recorded")
        await fast_central.central.notifications.stop(grace=0.1)  # no need to wait it out
    finally:
        server.close()


async def test_unreadable_secrets_fail_one_notifier_not_the_queue(
    fast_central: CentralHandle, http_receiver: HttpReceiver
) -> None:
    bad = await create(
        fast_central, _hook(http_receiver.port, "bad", password="pw-a", username="u")
    )
    good = await create(
        fast_central, _hook(http_receiver.port, "good", password="pw-b", username="u")
    )
    # a sealed blob moved to another record does not open there (the id is bound in)
    with psycopg.connect(fast_central.db_url) as conn:
        conn.execute(
            "UPDATE notifiers SET sealed_secrets ="
            " (SELECT sealed_secrets FROM notifiers WHERE id = %s) WHERE id = %s",
            (good["id"], bad["id"]),
        )
    svc = fast_central.central.notifications
    for i in range(3):
        await svc.enqueue([bad["id"], good["id"]], f"alert:{i}", alert(i))
    await _all_delivered(fast_central, good["id"], 3)

    async def failed() -> dict[str, Any] | None:
        d = await deliveries(fast_central, bad["id"])
        return d if d["counts"]["failed"] == 3 else None

    d = await eventually(failed, what="the unreadable notifier's rows FAILED")
    assert d["deliveries"][0]["lastError"] == (
        "the stored credentials of notifier 'bad' cannot be opened with this Central's data key"
    )
    r = await fast_central.admin("GET", "/v1/notifiers")
    assert r.status_code == 200 and len(r.json()["notifiers"]) == 2
    r = await fast_central.admin("PUT", f"/v1/notifiers/{bad['id']}", json=bad)
    assert r.status_code == 400  # a masked secret that cannot be read is not kept ...
    assert r.json()["message"] == "generic.password: has no stored value to keep"
    fixed = {**bad, "generic": {**bad["generic"], "password": "pw-a2"}}
    r = await fast_central.admin("PUT", f"/v1/notifiers/{bad['id']}", json=fixed)
    assert r.status_code == 200  # ... but giving it again repairs the notifier
    r = await fast_central.admin("POST", f"/v1/notifiers/{bad['id']}/deliveries/retry")
    assert r.json() == {"requeued": 3}
    await _all_delivered(fast_central, bad["id"], 3)


async def test_syslog_and_smtp_receivers_down_then_up(fast_central: CentralHandle) -> None:
    """The same promise over TCP syslog and SMTP: refused connections are retried, and
    every message arrives once when the servers are back."""
    from .receivers import SmtpReceiver, SyslogReceiver

    syslog_port, smtp_port = free_port(), free_port()
    log = await create(
        fast_central,
        {
            "name": "log",
            "type": "syslog",
            "syslog": {"tcpConfig": {"hostname": "127.0.0.1", "port": syslog_port}},
        },
    )
    mail = await create(
        fast_central,
        {
            "name": "mail",
            "type": "email",
            "labelDefault": "soc@example.com",
            "email": {
                "server": f"127.0.0.1:{smtp_port}",
                "sender": "stockade@example.com",
                "disableTLS": True,
                "allowUnauthenticatedSmtp": True,
            },
        },
    )
    svc = fast_central.central.notifications
    for i in range(5):
        await svc.enqueue([log["id"], mail["id"]], f"alert:{i}", alert(i))

    async def retried() -> bool:
        rows = [*(await deliveries(fast_central, log["id"]))["deliveries"]]
        rows += (await deliveries(fast_central, mail["id"]))["deliveries"]
        return len(rows) == 10 and all(x["attempts"] >= 2 for x in rows)

    await eventually(retried, what="retries while both servers are down")
    syslog_rx = await SyslogReceiver("tcp", port=syslog_port).start()
    smtp_rx = SmtpReceiver(port=smtp_port).start()
    try:
        await _all_delivered(fast_central, log["id"], 5)
        await _all_delivered(fast_central, mail["id"], 5)
        await asyncio.sleep(0.3)
        sd_keys = [
            m.split(b'idempotencyKey="')[1].split(b'"')[0].decode() for m in syslog_rx.messages
        ]
        assert len(sd_keys) == 5 and set(sd_keys) == {
            x["id"] for x in (await deliveries(fast_central, log["id"]))["deliveries"]
        }
        msg_ids = [m["Message-ID"] for _, _, m in smtp_rx.mails]
        assert len(msg_ids) == 5 and len(set(msg_ids)) == 5
    finally:
        await syslog_rx.stop()
        smtp_rx.stop()
