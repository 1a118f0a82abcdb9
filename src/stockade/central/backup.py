"""``stockade central db backup|restore``: Central DB with Central's own keys, in one file.

A backup is a gzip'd tar: ``manifest.json`` (format, schema version, per-table row counts and
SHA-256 of every member), ``tables/<name>.copy`` (each table in PostgreSQL's binary COPY
format, all read in one REPEATABLE READ snapshot) and ``master.key``. Without the master key
the sealed secrets in the data (CA, admin password hash, data key) could not be opened, so
the file is written 0600 and must be kept as carefully as the key itself.

Why not pg_dump: its output carries settings of its own server version (a pg_dump 18 dump
does not restore into PostgreSQL 15), while Central's schema is ours: restore applies our
migrations up to the backup's schema version and loads the rows, which works across server
versions and lets a newer Central migrate the restored data forward as it starts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from stockade import __version__
from stockade.central.db.migrate import available_migrations
from stockade.central.errors import CentralError
from stockade.core.redact import redact

FORMAT = "stockade-central-backup/2"


class BackupError(CentralError):
    exit_code = 3


def _tables_in_dependency_order(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'schema_migrations'"
        " ORDER BY c.relname"
    ).fetchall()
    tables = [r[0] for r in rows]
    deps: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in conn.execute(
        "SELECT c.relname, p.relname FROM pg_constraint k"
        " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE k.contype = 'f' AND n.nspname = 'public'"
    ).fetchall():
        if child in deps and parent in deps and child != parent:
            deps[child].add(parent)
    ordered: list[str] = []
    while deps:
        ready = sorted(t for t, parents in deps.items() if not parents - set(ordered))
        if not ready:
            raise BackupError("foreign keys in Central DB form a cycle; cannot order tables")
        ordered.extend(ready)
        for t in ready:
            del deps[t]
    return ordered


def _connect(db_url: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(db_url, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = (str(exc).strip().splitlines() or ["unreachable"])[0]
        raise BackupError(
            f"cannot connect to Central DB at {redact(db_url)}: {redact(reason)}"
        ) from exc


def backup(db_url: str, master_key_file: Path, out: Path) -> dict[str, Any]:
    if not master_key_file.exists():
        raise BackupError(f"master key {master_key_file} not found; a backup needs it")
    key = master_key_file.read_bytes()
    members: dict[str, bytes] = {}
    rows: dict[str, int] = {}
    with _connect(db_url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        version_row = conn.execute(
            "SELECT coalesce(max(version), 0) FROM schema_migrations"
        ).fetchone()
        schema_version = int(version_row[0]) if version_row else 0
        tables = _tables_in_dependency_order(conn)
        for table in tables:
            buf = io.BytesIO()
            with conn.cursor().copy(
                sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(sql.Identifier(table))
            ) as copy:
                for chunk in copy:
                    buf.write(chunk)
            members[f"tables/{table}.copy"] = buf.getvalue()
            count = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()
            rows[table] = int(count[0]) if count else 0
    members["master.key"] = key
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "stockadeVersion": __version__,
        "schemaVersion": schema_version,
        "createdAt": dt.datetime.now(dt.UTC).isoformat(),
        "tables": tables,
        "rows": rows,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    tmp = out.with_name(out.name + ".partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
        for name, payload in [
            ("manifest.json", json.dumps(manifest, indent=2).encode()),
            *members.items(),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(payload))
    tmp.replace(out)  # never a half-written backup under the real name
    return manifest


def _read(backup_file: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    try:
        with tarfile.open(backup_file, mode="r:gz") as tar:
            payloads: dict[str, bytes] = {}
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                fh = tar.extractfile(member)
                assert fh is not None
                payloads[member.name] = fh.read()
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"cannot read backup {backup_file}: {exc}") from exc
    if "manifest.json" not in payloads:
        raise BackupError(f"{backup_file} is not a Stockade backup (no manifest.json)")
    try:
        manifest = json.loads(payloads["manifest.json"])
    except ValueError as exc:
        raise BackupError(f"{backup_file}: manifest.json is not valid JSON") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{backup_file} has unknown format {manifest.get('format')!r}")
    for name, digest in manifest.get("files", {}).items():
        if name not in payloads:
            raise BackupError(f"{backup_file}: {name} is missing")
        if hashlib.sha256(payloads[name]).hexdigest() != digest:
            raise BackupError(f"{backup_file}: {name} does not match its checksum")
    return manifest, payloads


def restore(backup_file: Path, db_url: str, master_key_file: Path) -> dict[str, Any]:
    """Restore into ``db_url`` (which must be empty) and put the master key in place."""
    manifest, payloads = _read(backup_file)
    key = payloads["master.key"]
    if master_key_file.exists() and master_key_file.read_bytes() != key:
        raise BackupError(
            f"{master_key_file} holds a different master key; move it away to restore this backup"
        )
    schema_version = int(manifest["schemaVersion"])
    migrations = [m for m in available_migrations() if m.version <= schema_version]
    if not migrations or migrations[-1].version != schema_version:
        raise BackupError(
            f"the backup has schema version {schema_version}, which this Stockade does not know"
        )
    with _connect(db_url) as conn:
        existing = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).fetchone()
        if existing and existing[0]:
            raise BackupError("the target database is not empty; restore needs an empty one")
        conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for mig in migrations:
            conn.execute(mig.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (mig.version, mig.name),
            )
        for table in manifest["tables"]:
            with conn.cursor().copy(
                sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(sql.Identifier(table))
            ) as copy:
                copy.write(payloads[f"tables/{table}.copy"])
        # serial columns continue after the restored rows
        for table, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND column_default LIKE 'nextval(%%'"
        ).fetchall():
            conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({}, {}), coalesce(max({}), 0) + 1, false)"
                    " FROM {}"
                ).format(
                    sql.Literal(table),
                    sql.Literal(column),
                    sql.Identifier(column),
                    sql.Identifier(table),
                )
            )
        conn.commit()  # one transaction: all of it or nothing
    master_key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(master_key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return manifest
