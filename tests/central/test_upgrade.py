"""Upgrade from the previous schema version: a database left by a Central of schema 1 (core
only) is migrated forward at start, keeping its secrets, tokens and inventory."""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path

import psycopg
import pytest

from stockade.central import crypto
from stockade.central.db.migrate import available_migrations, migrate
from stockade.central.secrets import bootstrap_secrets, load_or_create_master_key
from stockade.central.store.access import seed_builtins

pytestmark = pytest.mark.integration


async def test_schema_1_database_upgrades_in_place(
    start_central, database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "central"
    key = load_or_create_master_key(data_dir / "master.key", None)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        first = [m for m in available_migrations() if m.version == 1]

        async def as_version_1_did() -> None:
            async with conn.transaction():
                await bootstrap_secrets(conn, master_key=key, data_dir=data_dir, secrets_dir=None)
                await seed_builtins(conn)  # type: ignore[arg-type]

        assert await migrate(conn, first, also_under_lock=as_version_1_did) == [1]
        token = "stk_" + "u" * 43
        await conn.execute(
            "INSERT INTO api_tokens (id, name, roles, token_hash, expires_at)"
            " VALUES (%s, 'old', %s, %s, now() + interval '1 day')",
            (uuid.uuid4(), ["Analyst"], hashlib.sha256(token.encode()).digest()),
        )
        cid = uuid.uuid4()
        await conn.execute("INSERT INTO clusters (id, name) VALUES (%s, 'legacy')", (cid,))
    password = (data_dir / "admin-password").read_text().strip()

    c = await start_central(database_url, data_dir=data_dir)
    with psycopg.connect(database_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == [m.version for m in available_migrations()]
        assert conn.execute("SELECT count(*) FROM policies").fetchone()[0] > 0
    auth = base64.b64encode(f"admin:{password}".encode()).decode()
    r = await c.client.get("/v1/auth/status", headers={"Authorization": f"Basic {auth}"})
    assert r.status_code == 200
    r = await c.as_token(token, "GET", "/v1/clusters")
    assert [x["name"] for x in r.json()["clusters"]] == ["legacy"]


def test_integration_credentials_are_sealed_with_the_data_key() -> None:
    vault = crypto.CredentialVault(b"d" * 32)
    blob = vault.seal("registry-1", "hunter2")
    assert b"hunter2" not in blob
    assert vault.open("registry-1", blob) == "hunter2"
    with pytest.raises(crypto.DecryptionFailed):
        vault.open("registry-2", blob)  # bound to its record
    with pytest.raises(crypto.DecryptionFailed):
        crypto.CredentialVault(b"e" * 32).open("registry-1", blob)
