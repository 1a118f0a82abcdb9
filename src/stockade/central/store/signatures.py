"""Signature integrations: named sets of cosign public keys. An image is "verified by" an
integration when one of its cosign signatures verifies with one of the integration's keys
(``central/signatures.py``).

The JSON is the product's: ``{"id": "io.stackrox.signatureintegration.<uuid>", "name",
"cosign": {"publicKeys": [{"name", "publicKeyPemEnc"}]}}``. Keyless verification
(``cosignCertificates``) and transparency-log checks (``transparencyLog``) need Fulcio/Rekor
trust material fetched over the network; this Central keeps those keys in its answers (empty /
disabled) and refuses a request that asks for them, rather than accepting and ignoring it.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from stockade.central.db.database import Database
from stockade.central.errors import BadRequest, Conflict, NotFound
from stockade.scanner.indexer.cosign import InvalidPublicKey, NamedKey, load_public_key

ID_PREFIX = "io.stackrox.signatureintegration."
MAX_KEYS = 32
MAX_NAME = 256


@dataclass(frozen=True)
class KeyEntry:
    name: str
    pem: str


@dataclass(frozen=True)
class SignatureIntegration:
    id: str  # io.stackrox.signatureintegration.<uuid>
    name: str
    public_keys: tuple[KeyEntry, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "cosign": {
                "publicKeys": [{"name": k.name, "publicKeyPemEnc": k.pem} for k in self.public_keys]
            },
            "cosignCertificates": [],
            "transparencyLog": {"enabled": False},
        }

    @functools.cached_property
    def parsed_keys(self) -> tuple[NamedKey, ...]:
        """The keys, parsed once per integration object (they were validated when stored);
        a re-verification checks hundreds of images against the same integrations."""
        return tuple(NamedKey(k.name, load_public_key(k.pem, k.name)) for k in self.public_keys)


def full_id(key: uuid.UUID) -> str:
    return f"{ID_PREFIX}{key}"


def parse_id(text: str) -> uuid.UUID:
    """The uuid of ``io.stackrox.signatureintegration.<uuid>``; NotFound for anything else."""
    if text.startswith(ID_PREFIX):
        try:
            return uuid.UUID(text.removeprefix(ID_PREFIX))
        except ValueError:
            pass
    raise NotFound(f"signature integration {text[:120]!r} does not exist")


def _unsupported(doc: dict[str, Any]) -> None:
    certs = doc.get("cosignCertificates")
    if certs not in (None, []):
        raise BadRequest(
            "cosignCertificates (keyless certificate verification) is not supported by this "
            "Central; give the signer's public keys in cosign.publicKeys"
        )
    tlog = doc.get("transparencyLog")
    if tlog is None:
        return
    if not isinstance(tlog, dict):
        raise BadRequest("transparencyLog must be an object")
    if tlog.get("enabled"):
        raise BadRequest(
            "transparencyLog verification is not supported by this Central (it needs the "
            "Rekor service); set transparencyLog.enabled to false"
        )


def validate(doc: dict[str, Any]) -> tuple[str, list[KeyEntry]]:
    """Name and keys of a request body; BadRequest naming the first thing that is wrong."""
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("name is required")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise BadRequest(f"name is longer than {MAX_NAME} characters")
    _unsupported(doc)
    cosign = doc.get("cosign")
    if cosign is None:
        cosign = {}
    if not isinstance(cosign, dict):
        raise BadRequest("cosign must be an object")
    keys = cosign.get("publicKeys")
    if keys is None:
        keys = []
    if not isinstance(keys, list):
        raise BadRequest("cosign.publicKeys must be a list")
    if not keys:
        raise BadRequest("at least one public key is required in cosign.publicKeys")
    if len(keys) > MAX_KEYS:
        raise BadRequest(f"cosign.publicKeys holds more than {MAX_KEYS} keys")
    out: list[KeyEntry] = []
    for i, entry in enumerate(keys):
        where = f"cosign.publicKeys[{i}]"
        if not isinstance(entry, dict):
            raise BadRequest(f"{where} must be an object with name and publicKeyPemEnc")
        key_name = entry.get("name")
        if not isinstance(key_name, str) or not key_name.strip():
            raise BadRequest(f"{where} needs a name")
        key_name = key_name.strip()
        where = f'{where} ("{key_name[:80]}")'
        if any(k.name == key_name for k in out):
            raise BadRequest(f"{where}: another key of this integration has the same name")
        pem = entry.get("publicKeyPemEnc")
        if not isinstance(pem, str):
            raise BadRequest(f"{where} needs publicKeyPemEnc, a PEM public key")
        try:
            load_public_key(pem, where)
        except InvalidPublicKey as exc:
            raise BadRequest(exc.message) from exc
        out.append(KeyEntry(key_name, pem.strip() + "\n"))
    return name, out


def _row(r: dict[str, Any]) -> SignatureIntegration:
    keys = tuple(KeyEntry(k["name"], k["publicKeyPemEnc"]) for k in r["public_keys"])
    return SignatureIntegration(full_id(r["id"]), r["name"], keys)


def _keys_json(keys: list[KeyEntry]) -> Jsonb:
    return Jsonb([{"name": k.name, "publicKeyPemEnc": k.pem} for k in keys])


class SignatureIntegrationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, doc: dict[str, Any]) -> SignatureIntegration:
        if doc.get("id"):
            raise BadRequest("id must be empty when creating a signature integration")
        name, keys = validate(doc)
        try:
            async with self.db.connection() as conn:
                cur = await conn.execute(
                    "INSERT INTO signature_integrations (id, name, public_keys)"
                    " VALUES (%s, %s, %s) RETURNING *",
                    (uuid.uuid4(), name, _keys_json(keys)),
                )
                row = await cur.fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"a signature integration named {name!r} already exists") from exc
        assert row is not None
        return _row(dict(row))

    async def update(self, integration_id: str, doc: dict[str, Any]) -> SignatureIntegration:
        key = parse_id(integration_id)
        if doc.get("id") not in (None, "", integration_id):
            raise BadRequest("the id in the body differs from the id in the path")
        name, keys = validate(doc)
        try:
            async with self.db.connection() as conn:
                cur = await conn.execute(
                    "UPDATE signature_integrations SET name = %s, public_keys = %s,"
                    " updated_at = now() WHERE id = %s RETURNING *",
                    (name, _keys_json(keys), key),
                )
                row = await cur.fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"a signature integration named {name!r} already exists") from exc
        if row is None:
            raise NotFound(f"signature integration {integration_id!r} does not exist")
        return _row(dict(row))

    async def get(self, integration_id: str) -> SignatureIntegration:
        key = parse_id(integration_id)
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM signature_integrations WHERE id = %s", (key,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"signature integration {integration_id!r} does not exist")
        return _row(dict(row))

    async def list(self) -> list[SignatureIntegration]:
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM signature_integrations ORDER BY name")
            return [_row(dict(r)) for r in await cur.fetchall()]

    async def delete(self, integration_id: str) -> None:
        key = parse_id(integration_id)
        async with self.db.connection() as conn:
            cur = await conn.execute("DELETE FROM signature_integrations WHERE id = %s", (key,))
            if cur.rowcount == 0:
                raise NotFound(f"signature integration {integration_id!r} does not exist")
