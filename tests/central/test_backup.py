"""Backup, drop the database, restore: Central comes back with the same admin password, CA
and API tokens."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def stockade(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stockade.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("STOCKADE_")},
    )


async def test_backup_drop_restore_keeps_password_ca_and_tokens(
    start_central, make_database, pg_admin_url: str, tmp_path: Path
) -> None:
    url = make_database()
    data_dir = tmp_path / "before"
    c = await start_central(url, data_dir=data_dir)
    password = c.admin_password
    ca_before = c.central.secrets.ca.cert_pem
    token = await c.token_for("Analyst", "survivor")
    await c.client.aclose()
    await c.central.stop()

    backup = tmp_path / "central.backup"
    out = stockade(
        "central", "--data-dir", str(data_dir), "--db-url", url, "db", "backup", "-o", str(backup)
    )
    assert out.returncode == 0, out.stderr
    assert backup.stat().st_mode & 0o777 == 0o600

    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')

    restored_dir = tmp_path / "after"  # a new machine: no master key yet
    out = stockade(
        "central", "--data-dir", str(restored_dir), "--db-url", url, "db", "restore", str(backup)
    )
    assert out.returncode == 0, out.stderr
    assert (restored_dir / "master.key").stat().st_mode & 0o777 == 0o600

    c2 = await start_central(url, data_dir=restored_dir)
    assert c2.central.secrets.ca.cert_pem == ca_before
    assert not (restored_dir / "admin-password").exists()  # not regenerated
    auth = base64.b64encode(f"admin:{password}".encode()).decode()
    r = await c2.client.get("/v1/auth/status", headers={"Authorization": f"Basic {auth}"})
    assert r.status_code == 200
    r = await c2.as_token(token, "GET", "/v1/deployments")
    assert r.status_code == 200


def test_restore_refuses_a_tampered_backup(tmp_path: Path) -> None:
    import io
    import json
    import tarfile

    bad = tmp_path / "bad.backup"
    with tarfile.open(bad, "w:gz") as tar:
        for name, payload in (
            (
                "manifest.json",
                json.dumps(
                    {
                        "format": "stockade-central-backup/2",
                        "schemaVersion": 1,
                        "tables": ["clusters"],
                        "files": {"tables/clusters.copy": "0" * 64, "master.key": "0" * 64},
                    }
                ).encode(),
            ),
            ("tables/clusters.copy", b"junk"),
            ("master.key", b"key"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    out = stockade(
        "central",
        "--data-dir",
        str(tmp_path / "d"),
        "--db-url",
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "db",
        "restore",
        str(bad),
    )
    assert out.returncode == 3
    assert "does not match its checksum" in out.stderr
    assert "Traceback" not in out.stderr
