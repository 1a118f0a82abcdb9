"""Image integrations: which registry, which credentials. Central picks the integration whose
endpoint is an image's registry; the password is sealed with the data key and only opened to
build the registry client's options."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from stockade.central.crypto import CredentialVault
from stockade.central.db.database import Database
from stockade.central.errors import BadRequest, Conflict, NotFound
from stockade.scanner.indexer.registry import RegistryOptions

TYPES = {
    # type -> default endpoint ("" = the user must give one)
    "docker": "",
    "quay": "quay.io",
    "ghcr": "ghcr.io",
    "gcr": "gcr.io",
    "artifactregistry": "",
    "ecr": "",
    "acr": "",
}
MASK = "******"
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$")


@dataclass(frozen=True)
class Integration:
    id: str
    name: str
    type: str
    endpoint: str
    username: str
    has_password: bool
    insecure: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "categories": ["REGISTRY"],
            self.type: {
                "endpoint": self.endpoint,
                "username": self.username,
                "password": MASK if self.has_password else "",
                "insecure": self.insecure,
            },
        }


def normalize_endpoint(endpoint: str) -> str:
    host = re.sub(r"^https?://", "", endpoint.strip()).rstrip("/")
    if host.startswith("registry-1.docker.io") or host == "index.docker.io":
        host = "docker.io"
    if not _HOST.match(host):
        raise BadRequest(f"endpoint {endpoint!r} is not a registry host[:port]")
    if ":" in host and not 0 < int(host.rsplit(":", 1)[1]) < 65536:
        raise BadRequest(f"endpoint {endpoint!r} has a port out of range")
    return host


def _row(r: dict[str, Any]) -> Integration:
    return Integration(
        str(r["id"]),
        r["name"],
        r["type"],
        r["endpoint"],
        r["username"],
        r["password"] is not None,
        r["insecure"],
    )


class IntegrationStore:
    def __init__(self, db: Database, vault: CredentialVault) -> None:
        self.db = db
        self.vault = vault

    def validate(self, doc: dict[str, Any]) -> tuple[str, str, str, str, str | None, bool]:
        name = str(doc.get("name", "")).strip()
        kind = str(doc.get("type", "")).lower()
        if not name:
            raise BadRequest("name is required")
        if kind not in TYPES:
            raise BadRequest(f"type {doc.get('type')!r} is not one of {', '.join(TYPES)}")
        cfg = doc.get(kind) or {}
        if not isinstance(cfg, dict):
            raise BadRequest(f"{kind} must be an object")
        endpoint = normalize_endpoint(str(cfg.get("endpoint") or TYPES[kind]))
        if not endpoint:
            raise BadRequest(f"{kind}.endpoint is required")
        password = cfg.get("password")
        return (
            name,
            kind,
            endpoint,
            str(cfg.get("username") or ""),
            None if password in (None, "", MASK) else str(password),
            bool(cfg.get("insecure", False)),
        )

    async def create(self, doc: dict[str, Any]) -> Integration:
        name, kind, endpoint, user, password, insecure = self.validate(doc)
        new_id = uuid.uuid4()
        sealed = self.vault.seal(str(new_id), password) if password else None
        try:
            async with self.db.connection() as conn:
                cur = await conn.execute(
                    "INSERT INTO image_integrations (id, name, type, endpoint, username,"
                    " password, insecure) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
                    (new_id, name, kind, endpoint, user, sealed, insecure),
                )
                row = await cur.fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"an image integration named {name!r} already exists") from exc
        assert row is not None
        return _row(dict(row))

    async def update(self, integration_id: str, doc: dict[str, Any]) -> Integration:
        name, kind, endpoint, user, password, insecure = self.validate(doc)
        current = await self.get(integration_id)
        async with self.db.connection() as conn:
            if password is not None:
                sealed: bytes | None = self.vault.seal(current.id, password)
                await conn.execute(
                    "UPDATE image_integrations SET password = %s WHERE id = %s",
                    (sealed, uuid.UUID(current.id)),
                )
            cur = await conn.execute(
                "UPDATE image_integrations SET name = %s, type = %s, endpoint = %s,"
                " username = %s, insecure = %s, updated_at = now() WHERE id = %s RETURNING *",
                (name, kind, endpoint, user, insecure, uuid.UUID(current.id)),
            )
            row = await cur.fetchone()
        assert row is not None
        return _row(dict(row))

    async def get(self, integration_id: str) -> Integration:
        try:
            key = uuid.UUID(integration_id)
        except ValueError as exc:
            raise NotFound(f"image integration {integration_id!r} does not exist") from exc
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM image_integrations WHERE id = %s", (key,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"image integration {integration_id!r} does not exist")
        return _row(dict(row))

    async def list(self) -> list[Integration]:
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM image_integrations ORDER BY name")
            return [_row(dict(r)) for r in await cur.fetchall()]

    async def delete(self, integration_id: str) -> None:
        await self.get(integration_id)
        async with self.db.connection() as conn:
            await conn.execute(
                "DELETE FROM image_integrations WHERE id = %s", (uuid.UUID(integration_id),)
            )

    async def options_for(self, registry: str) -> RegistryOptions:
        """Registry client options for an image's registry, from the matching integrations."""
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT id, username, password, insecure FROM image_integrations"
                " WHERE endpoint = %s ORDER BY created_at LIMIT 1",
                (registry,),
            )
            row = await cur.fetchone()
        if row is None:
            return RegistryOptions()
        creds = {}
        if row["password"] is not None:
            creds[registry] = (
                row["username"],
                self.vault.open(str(row["id"]), bytes(row["password"])),
            )
        return RegistryOptions(
            insecure=frozenset([registry]) if row["insecure"] else frozenset(),
            credentials=creds,
        )

    def options_from_doc(
        self, doc: dict[str, Any], stored_password: str | None
    ) -> tuple[str, RegistryOptions]:
        """Options for a 'test' call on an integration not saved yet (or being edited)."""
        _, _, endpoint, user, password, insecure = self.validate(doc)
        secret = password if password is not None else stored_password
        creds = {endpoint: (user, secret)} if secret else {}
        return endpoint, RegistryOptions(
            insecure=frozenset([endpoint]) if insecure else frozenset(),
            credentials=creds,
            attempts=1,
        )

    async def stored_password(self, integration_id: str) -> str | None:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT password FROM image_integrations WHERE id = %s",
                (uuid.UUID(integration_id),),
            )
            row = await cur.fetchone()
        if row is None or row["password"] is None:
            return None
        return self.vault.open(integration_id, bytes(row["password"]))
