"""Central test fixtures: a real Central (real PostgreSQL, real migrations, real secrets)
driven in-process through its ASGI app, plus helpers to seed inventory and make tokens."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb

from stockade.central.app import create_app
from stockade.central.config import load_config
from stockade.central.runtime import Central


@dataclass
class CentralHandle:
    central: Central
    client: httpx.AsyncClient
    data_dir: Path
    db_url: str

    @property
    def admin_password(self) -> str:
        return (self.data_dir / "admin-password").read_text().strip()

    def admin_auth(self) -> dict[str, str]:
        raw = base64.b64encode(f"admin:{self.admin_password}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}

    async def admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.admin_auth(), **kw.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kw)

    async def token_for(self, role: str, name: str | None = None) -> str:
        r = await self.admin(
            "POST", "/v1/apitokens/generate", json={"name": name or f"t-{role}", "role": role}
        )
        assert r.status_code == 200, r.text
        token: str = r.json()["token"]
        return token

    async def as_token(self, token: str, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kw)


StartCentral = Callable[..., Awaitable[CentralHandle]]


@pytest.fixture
async def start_central(
    tmp_path: Path, make_database: Callable[[], str]
) -> AsyncIterator[StartCentral]:
    # Depending on make_database orders teardown: every Central stops before its database
    # is dropped.
    started: list[CentralHandle] = []

    async def start(db_url: str, data_dir: Path | None = None, **overrides: Any) -> CentralHandle:
        ddir = data_dir or tmp_path / f"central-{len(started)}"
        flags = {"data_dir": ddir, "db_url": db_url, "tls": False, **overrides}
        cfg = load_config(flags, environ={})
        central = await Central.start(cfg)
        app = create_app(central)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
            base_url="http://central.test",
        )
        handle = CentralHandle(central, client, ddir, db_url)
        started.append(handle)
        return handle

    yield start
    for h in started:
        await h.client.aclose()
        await h.central.stop()


@pytest.fixture
async def central(start_central: StartCentral, database_url: str) -> CentralHandle:
    return await start_central(database_url)


def _seed_inventory(db_url: str, layout: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Create clusters, namespaces and deployments straight in Central DB (as Sensor will).

    ``layout`` = {cluster: {"labels": {...}, "namespaces": {ns: {"labels": {...},
    "deployments": [names]}}}}; returns {"cluster/ns/name": deployment id}.
    """
    ids: dict[str, str] = {}
    with psycopg.connect(db_url) as conn:
        for cluster, spec in layout.items():
            cid = uuid.uuid4()
            conn.execute(
                "INSERT INTO clusters (id, name, labels) VALUES (%s, %s, %s)",
                (cid, cluster, Jsonb(spec.get("labels", {}))),
            )
            ids[cluster] = str(cid)
            for ns, ns_spec in spec.get("namespaces", {}).items():
                conn.execute(
                    "INSERT INTO namespaces (id, cluster_id, name, labels) VALUES (%s, %s, %s, %s)",
                    (uuid.uuid4(), cid, ns, Jsonb(ns_spec.get("labels", {}))),
                )
                for dep in ns_spec.get("deployments", []):
                    did = uuid.uuid4()
                    name, _, replicas = dep.partition("*")
                    conn.execute(
                        "INSERT INTO deployments (id, cluster_id, namespace, name, labels, replicas)"
                        " VALUES (%s, %s, %s, %s, %s, %s)",
                        (did, cid, ns, name, Jsonb({"app": name}), int(replicas or 1)),
                    )
                    ids[f"{cluster}/{ns}/{name}"] = str(did)
    return ids


@pytest.fixture
def seed_inventory() -> Callable[[str, dict[str, dict[str, Any]]], dict[str, str]]:
    return _seed_inventory
