"""Migrations are idempotent and safe when several Centrals start at once; secrets are
generated once and shared; operator-provided secrets win."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import psycopg
import pytest

from stockade.central.config import load_config
from stockade.central.db.migrate import available_migrations, current_version, migrate
from stockade.central.runtime import prepare_database
from stockade.core import pki

pytestmark = pytest.mark.integration


async def test_migrations_apply_once_and_are_idempotent(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        first = await migrate(conn)
        second = await migrate(conn)
        assert first == [m.version for m in available_migrations()]
        assert second == []
        assert await current_version(conn) == first[-1]


async def test_two_centrals_starting_together_share_one_set_of_secrets(
    database_url: str, tmp_path: Path
) -> None:
    # Same master key (as replicas get from one Kubernetes Secret), separate data dirs.
    secrets_dir = tmp_path / "secret"
    secrets_dir.mkdir()
    (secrets_dir / "master-key").write_bytes(base64.b64encode(b"k" * 32))
    cfgs = [
        load_config(
            {"data_dir": tmp_path / f"c{i}", "db_url": database_url, "secrets_dir": secrets_dir},
            environ={},
        )
        for i in range(2)
    ]
    a, b = await asyncio.gather(*(prepare_database(database_url, c) for c in cfgs))
    assert a.ca.cert_pem == b.ca.cert_pem
    assert a.admin_password_hash == b.admin_password_hash
    assert a.data_key == b.data_key
    # exactly one of them generated the admin password
    written = [s.admin_password_written_to for s in (a, b) if s.admin_password_written_to]
    assert len(written) == 1
    with psycopg.connect(database_url) as conn:
        applied = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
        assert applied == len(available_migrations())
        roles = conn.execute("SELECT count(*) FROM roles").fetchone()[0]
        assert roles == 7


async def test_wrong_master_key_is_a_clear_start_error(database_url: str, tmp_path: Path) -> None:
    from stockade.central.errors import StartupError

    cfg = load_config({"data_dir": tmp_path / "a", "db_url": database_url}, environ={})
    await prepare_database(database_url, cfg)
    other = load_config({"data_dir": tmp_path / "b", "db_url": database_url}, environ={})
    with pytest.raises(StartupError, match="master key"):
        await prepare_database(database_url, other)


async def test_operator_provided_ca_and_password_are_used(
    start_central, database_url: str, tmp_path: Path
) -> None:
    ca = pki.create_ca("Operator CA")
    secrets_dir = tmp_path / "provided"
    secrets_dir.mkdir()
    (secrets_dir / "ca.pem").write_bytes(ca.cert_pem)
    (secrets_dir / "ca-key.pem").write_bytes(ca.key_pem)
    (secrets_dir / "admin-password").write_text("correct horse battery staple\n")
    c = await start_central(database_url, secrets_dir=secrets_dir)
    assert c.central.secrets.ca.cert_pem == ca.cert_pem
    assert not (c.data_dir / "admin-password").exists()
    auth = base64.b64encode(b"admin:correct horse battery staple").decode()
    r = await c.client.get("/v1/auth/status", headers={"Authorization": f"Basic {auth}"})
    assert r.status_code == 200
    cert, _key = c.central.server_certificate()
    assert pki.verify_issued_by(
        cert.read_bytes().split(b"-----END CERTIFICATE-----")[0] + b"-----END CERTIFICATE-----\n",
        ca.cert_pem,
    )
