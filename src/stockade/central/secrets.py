"""Central's own secrets: the CA, the admin password hash and the data key.

Where each comes from, first match wins:
1. a file in ``secrets_dir`` (a mounted Kubernetes Secret): ``ca.pem`` + ``ca-key.pem``,
   ``admin-password`` (plain, hashed on load) or ``admin-password-hash``, ``data-key``
   (32 bytes, base64);
2. Central DB, table ``central_secrets``, sealed with the master key;
3. generated now and stored there — under the migration advisory lock, so of several
   Centrals starting together exactly one generates and all end up sharing it.

The master key never enters the database. It is read from ``<secrets_dir>/master-key`` or
the master key file (default ``<data_dir>/master.key``, created 0600 on first start);
replicas share it through the same Kubernetes Secret.
"""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import psycopg

from stockade.central import crypto
from stockade.central.auth.passwords import generate_password, hash_password
from stockade.central.errors import StartupError
from stockade.core import pki
from stockade.core.errors import PKIError

logger = logging.getLogger(__name__)

ADMIN_PASSWORD_FILE = "admin-password"  # noqa: S105  (a file name)


@dataclass(frozen=True)
class CentralSecrets:
    ca: pki.KeyPair
    admin_password_hash: str
    data_key: bytes
    # Set only on the start that generated the admin password: where it was written.
    admin_password_written_to: Path | None = None


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)


def load_or_create_master_key(key_file: Path, secrets_dir: Path | None) -> bytes:
    if secrets_dir is not None and (secrets_dir / "master-key").exists():
        return _decode_key(secrets_dir / "master-key")
    if key_file.exists():
        return _decode_key(key_file)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = crypto.new_key()
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another Central on this data dir won the race
        return _decode_key(key_file)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(key) + b"\n")
    return key


def _decode_key(path: Path) -> bytes:
    try:
        key = base64.b64decode(path.read_bytes().strip(), validate=True)
    except (OSError, ValueError) as exc:
        raise StartupError(f"cannot read a base64 key from {path}") from exc
    if len(key) != crypto.KEY_BYTES:
        raise StartupError(f"{path} must hold a base64-encoded {crypto.KEY_BYTES}-byte key")
    return key


class SecretStore:
    """Sealed secrets in ``central_secrets``."""

    def __init__(self, conn: psycopg.AsyncConnection[object], master_key: bytes) -> None:
        self._conn = conn
        self._key = master_key

    async def get(self, name: str) -> bytes | None:
        cur = await self._conn.execute(
            "SELECT nonce, ciphertext FROM central_secrets WHERE name = %s", (name,)
        )
        row = await cur.fetchone()
        if row is None:
            return None
        nonce: bytes = row[0]  # type: ignore[index]
        ciphertext: bytes = row[1]  # type: ignore[index]
        try:
            return crypto.unseal(self._key, name, crypto.Sealed(bytes(nonce), bytes(ciphertext)))
        except crypto.DecryptionFailed as exc:
            raise StartupError(
                "the master key does not open Central's stored secrets; "
                "start with the master key this database was created with"
            ) from exc

    async def put(self, name: str, value: bytes) -> None:
        sealed = crypto.seal(self._key, name, value)
        await self._conn.execute(
            "INSERT INTO central_secrets (name, nonce, ciphertext) VALUES (%s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET nonce = excluded.nonce,"
            " ciphertext = excluded.ciphertext",
            (name, sealed.nonce, sealed.ciphertext),
        )


async def bootstrap_secrets(
    conn: psycopg.AsyncConnection[object],
    *,
    master_key: bytes,
    data_dir: Path,
    secrets_dir: Path | None,
) -> CentralSecrets:
    """Load or create every Central secret. Call with the migration lock held."""
    store = SecretStore(conn, master_key)

    def provided(name: str) -> bytes | None:
        if secrets_dir is None:
            return None
        path = secrets_dir / name
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StartupError(f"cannot read secret file {path}: {exc.strerror}") from exc

    # CA
    cert, key = provided("ca.pem"), provided("ca-key.pem")
    if cert is not None and key is not None:
        try:
            ca = pki.load_keypair(cert, key)
        except PKIError as exc:
            raise StartupError(f"the CA in {secrets_dir}: {exc.message}") from exc
    else:
        stored_cert, stored_key = await store.get("ca.pem"), await store.get("ca-key.pem")
        if stored_cert is None or stored_key is None:
            ca = pki.create_ca()
            await store.put("ca.pem", ca.cert_pem)
            await store.put("ca-key.pem", ca.key_pem)
            logger.info("created Central's certificate authority")
        else:
            ca = pki.KeyPair(stored_cert, stored_key)

    # Admin password
    written_to: Path | None = None
    plain = provided("admin-password")
    given_hash = provided("admin-password-hash")
    if plain is not None:
        admin_hash = hash_password(plain.decode().strip())
    elif given_hash is not None:
        admin_hash = given_hash.decode().strip()
    else:
        stored = await store.get("admin-password-hash")
        if stored is None:
            password = generate_password()
            admin_hash = hash_password(password)
            await store.put("admin-password-hash", admin_hash.encode())
            written_to = data_dir / ADMIN_PASSWORD_FILE
            _write_private(written_to, password.encode() + b"\n")
        else:
            admin_hash = stored.decode()

    # Data key for stored integration credentials
    data_key_file = provided("data-key")
    if data_key_file is not None:
        data_key = base64.b64decode(data_key_file.strip())
        if len(data_key) != crypto.KEY_BYTES:
            raise StartupError(f"data-key in {secrets_dir} must be {crypto.KEY_BYTES} bytes")
    else:
        stored_key_bytes = await store.get("data-key")
        if stored_key_bytes is None:
            data_key = crypto.new_key()
            await store.put("data-key", data_key)
        else:
            data_key = stored_key_bytes
    return CentralSecrets(ca, admin_hash, data_key, written_to)
