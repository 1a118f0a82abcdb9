"""Fixtures for notifier tests: a Central with short retry intervals, and receivers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from .receivers import HttpReceiver, SmtpReceiver, SyslogReceiver, TLSFiles, make_tls

# tests/central/conftest.py's CentralHandle and StartCentral (that folder is not a package)
CentralHandle = Any
StartCentral = Any

FAST = {
    "notifier_poll_seconds": 0.05,
    "notifier_retry_base_seconds": 0.05,
    "notifier_retry_max_seconds": 0.3,
    "notifier_timeout_seconds": 2.0,
    "notifier_allow_local_endpoints": True,  # the receivers run on loopback
}


async def eventually(check: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def fast_central(start_central: StartCentral, database_url: str) -> CentralHandle:
    return await start_central(database_url, **FAST)


@pytest.fixture(scope="session")
def tls() -> TLSFiles:
    return make_tls()


@pytest.fixture
async def http_receiver() -> AsyncIterator[HttpReceiver]:
    r = await HttpReceiver().start()
    yield r
    await r.stop()


@pytest.fixture
async def syslog_tcp() -> AsyncIterator[SyslogReceiver]:
    r = await SyslogReceiver("tcp").start()
    yield r
    await r.stop()


@pytest.fixture
def smtp_tls(tls: TLSFiles) -> Iterator[SmtpReceiver]:
    r = SmtpReceiver(tls=tls.server_ctx).start()
    yield r
    r.stop()


async def create(c: CentralHandle, doc: dict[str, Any]) -> dict[str, Any]:
    r = await c.admin("POST", "/v1/notifiers", json=doc)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def deliveries(c: CentralHandle, notifier_id: str) -> dict[str, Any]:
    r = await c.admin("GET", f"/v1/notifiers/{notifier_id}/deliveries")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def alert(n: int = 1, **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "policy": {
            "id": "pol-1",
            "name": "Privileged Container",
            "severity": "HIGH_SEVERITY",
            "categories": ["Privileges", "Security Best Practices"],
            "description": "Alert on deployments with containers running in privileged mode.",
            "rationale": "Privileged containers can reach the host.",
            "remediation": "Run containers without privileged mode.",
        },
        "lifecycleStage": "DEPLOY",
        "state": "ACTIVE",
        "deployment": {
            "id": "dep-1",
            "name": "web",
            "namespace": "shop",
            "clusterName": "prod-east",
            "annotations": {},
        },
        "violations": [{"message": "Container 'web' is privileged"}],
        "time": "2026-01-02T03:04:05Z",
    }
    doc.update(over)
    return doc
