"""Image integrations: which registry, which credentials. Central picks the integration whose
endpoint is an image's registry; secrets (password, secret access key, service-account key,
session token) are sealed with the data key and only opened to build the registry client's
options. A stored secret is reused (a blank or masked field on update or test) only for the
registry it was stored for: same type, endpoint and, for ECR, region and registry id.

Types are configurations of one registry client with basic credentials; where a cloud
registry wants another flow (``central/registry_auth.py``): ``ecr`` exchanges AWS credentials
for a registry token, ``gcr``/``artifactregistry`` send a service-account JSON key as user
``_json_key``. ``acr`` takes a service principal's id and secret as they are.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from stockade.central.crypto import CredentialVault
from stockade.central.db.database import Conn, Database
from stockade.central.errors import BadRequest, Conflict, NotFound
from stockade.central.registry_auth import (
    GCR_KEY_USER,
    EcrAuth,
    EcrTokens,
    check_region,
    check_service_account_key,
    ecr_registry_from_host,
)
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


_GCR_TYPES = ("gcr", "artifactregistry")


@dataclass(frozen=True)
class Integration:
    id: str
    name: str
    type: str
    endpoint: str
    username: str
    has_password: bool
    insecure: bool
    settings: dict[str, Any]
    has_session_token: bool = False

    def to_json(self) -> dict[str, Any]:
        secret = MASK if self.has_password else ""
        body: dict[str, Any]
        if self.type == "ecr":
            body = {
                "endpoint": self.endpoint,
                "registryId": self.settings.get("registryId", ""),
                "region": self.settings.get("region", ""),
                "useIam": bool(self.settings.get("useIam", False)),
                "accessKeyId": self.username,
                "secretAccessKey": secret,
                "sessionToken": MASK if self.has_session_token else "",
            }
        elif self.type in _GCR_TYPES:
            body = {"endpoint": self.endpoint, "username": self.username, "serviceAccount": secret}
        else:
            body = {"endpoint": self.endpoint, "username": self.username, "password": secret}
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "categories": ["REGISTRY"],
            self.type: {**body, "insecure": self.insecure},
        }


@dataclass(frozen=True)
class IntegrationInput:
    """A validated integration document; a secret of None keeps the stored one."""

    name: str
    kind: str
    endpoint: str
    username: str
    secret: str | None
    session_token: str | None
    settings: dict[str, Any]
    insecure: bool


def _given(value: Any) -> str | None:
    return None if value in (None, "", MASK) else str(value)


def _ecr_fields(cfg: dict[str, Any]) -> tuple[str, str, str | None, str | None, dict[str, Any]]:
    """ECR: endpoint, access key id, secret, session token, settings (region, registryId,
    useIam). The region and registry id come from an ECR host name when not given."""
    endpoint = normalize_endpoint(str(cfg["endpoint"])) if cfg.get("endpoint") else ""
    from_host = ecr_registry_from_host(endpoint.split(":")[0]) if endpoint else None
    registry_id = str(cfg.get("registryId") or (from_host[0] if from_host else ""))
    region = str(cfg.get("region") or (from_host[1] if from_host else ""))
    if not region:
        raise BadRequest("ecr.region is required (or an ECR registry host as ecr.endpoint)")
    check_region(region)
    if registry_id and not re.fullmatch(r"\d{12}", registry_id):
        raise BadRequest("ecr.registryId must be a 12-digit AWS account id")
    if not endpoint:
        if not registry_id:
            raise BadRequest("ecr.endpoint or ecr.registryId is required")
        endpoint = f"{registry_id}.dkr.ecr.{region}.amazonaws.com"
    use_iam = bool(cfg.get("useIam", False))
    access_key = "" if use_iam else str(cfg.get("accessKeyId") or "")
    if not use_iam and not access_key:
        raise BadRequest("ecr.accessKeyId is required unless ecr.useIam is true")
    settings = {"region": region, "registryId": registry_id, "useIam": use_iam}
    secret = None if use_iam else _given(cfg.get("secretAccessKey"))
    token = None if use_iam else _given(cfg.get("sessionToken"))
    return endpoint, access_key, secret, token, settings


def normalize_endpoint(endpoint: str) -> str:
    host = re.sub(r"^https?://", "", endpoint.strip()).rstrip("/")
    if host.startswith("registry-1.docker.io") or host == "index.docker.io":
        host = "docker.io"
    if not _HOST.match(host):
        raise BadRequest(f"endpoint {endpoint!r} is not a registry host[:port]")
    if ":" in host and not 0 < int(host.rsplit(":", 1)[1]) < 65536:
        raise BadRequest(f"endpoint {endpoint!r} has a port out of range")
    return host


def _secret_field(given: IntegrationInput) -> str:
    """The document field that carries ``given``'s secret (for messages)."""
    if given.kind == "ecr":
        return "ecr.secretAccessKey"
    if given.kind in _GCR_TYPES and given.username == GCR_KEY_USER:
        return f"{given.kind}.serviceAccount"
    return f"{given.kind}.password"


def _registry_change(given: IntegrationInput, stored: IntegrationInput) -> str | None:
    """What differs between the registry ``given`` points at and the one the stored secret
    was given for (None: the same registry). A stored secret goes to that registry only."""
    if given.kind != stored.kind:
        return "type"
    if given.endpoint != stored.endpoint:
        return "endpoint"
    if given.insecure and not stored.insecure:  # it would travel unverified from now on
        return "insecure setting"
    if given.kind == "ecr":
        for name in ("region", "registryId"):
            if given.settings.get(name, "") != stored.settings.get(name, ""):
                return name
    return None


def with_stored_secrets(given: IntegrationInput, stored: IntegrationInput) -> IntegrationInput:
    """``given`` with its blank secrets taken from ``stored`` when both name the same
    registry. When they do not, a stored secret is never carried over: a blank secret is a
    BadRequest naming the field, and a stored session token is dropped."""
    if given.kind == "ecr" and given.settings.get("useIam"):
        return given  # the instance's role: no stored key is used
    changed = _registry_change(given, stored)
    if changed is None:
        return dataclasses.replace(
            given,
            secret=stored.secret if given.secret is None else given.secret,
            session_token=(
                stored.session_token if given.session_token is None else given.session_token
            ),
        )
    if given.secret is None and stored.secret is not None:
        field = _secret_field(given)
        raise BadRequest(
            f"{field} is required: the {changed} changed, so enter the "
            f"{field.split('.')[1]} again (a stored secret is only used for its own registry)"
        )
    return given


def _check_ecr_secret(given: IntegrationInput) -> None:
    if given.kind == "ecr" and not given.settings["useIam"] and given.secret is None:
        raise BadRequest("ecr.secretAccessKey is required unless ecr.useIam is true")


def _row(r: dict[str, Any]) -> Integration:
    return Integration(
        str(r["id"]),
        r["name"],
        r["type"],
        r["endpoint"],
        r["username"],
        r["password"] is not None,
        r["insecure"],
        dict(r["settings"] or {}),
        r["session_token"] is not None,
    )


def _uuid_of(integration_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(integration_id)
    except ValueError as exc:
        raise NotFound(f"image integration {integration_id!r} does not exist") from exc


def _token_context(integration_id: str) -> str:
    return f"{integration_id}:session-token"  # sealed apart from the secret it goes with


class IntegrationStore:
    def __init__(self, db: Database, vault: CredentialVault, ecr: EcrTokens | None = None) -> None:
        self.db = db
        self.vault = vault
        self.ecr = ecr or EcrTokens()

    def validate(self, doc: dict[str, Any]) -> IntegrationInput:
        name = str(doc.get("name", "")).strip()
        kind = str(doc.get("type", "")).lower()
        if not name:
            raise BadRequest("name is required")
        if kind not in TYPES:
            raise BadRequest(f"type {doc.get('type')!r} is not one of {', '.join(TYPES)}")
        cfg = doc.get(kind) or {}
        if not isinstance(cfg, dict):
            raise BadRequest(f"{kind} must be an object")
        insecure = bool(cfg.get("insecure", False))
        if kind == "ecr":
            endpoint, user, secret, token, settings = _ecr_fields(cfg)
            return IntegrationInput(name, kind, endpoint, user, secret, token, settings, insecure)
        endpoint = normalize_endpoint(str(cfg.get("endpoint") or TYPES[kind]))
        user = str(cfg.get("username") or "")
        secret = _given(cfg.get("password"))
        if kind in _GCR_TYPES:
            # the service-account JSON key (the product's field) or a password with a user
            key = _given(cfg.get("serviceAccount"))
            if key is not None or user in ("", GCR_KEY_USER):
                user = GCR_KEY_USER
                secret = key if key is not None else secret
                if secret is not None:
                    check_service_account_key(secret)
        return IntegrationInput(name, kind, endpoint, user, secret, None, {}, insecure)

    async def create(self, doc: dict[str, Any]) -> Integration:
        given = self.validate(doc)
        _check_ecr_secret(given)
        new_id = uuid.uuid4()
        sealed = self.vault.seal(str(new_id), given.secret) if given.secret else None
        token = (
            self.vault.seal(_token_context(str(new_id)), given.session_token)
            if given.session_token
            else None
        )
        try:
            async with self.db.connection() as conn:
                cur = await conn.execute(
                    "INSERT INTO image_integrations (id, name, type, endpoint, username,"
                    " password, session_token, settings, insecure)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
                    (
                        new_id,
                        given.name,
                        given.kind,
                        given.endpoint,
                        given.username,
                        sealed,
                        token,
                        Jsonb(given.settings),
                        given.insecure,
                    ),
                )
                row = await cur.fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"an image integration named {given.name!r} already exists") from exc
        assert row is not None
        return _row(dict(row))

    async def update(self, integration_id: str, doc: dict[str, Any]) -> Integration:
        given = self.validate(doc)
        key = _uuid_of(integration_id)
        async with self.db.connection() as conn:
            # locked: the secrets kept are checked against the registry as stored right now
            stored = await self._stored_row(conn, key, lock=True)
            # an ECR integration on the instance's role drops its stored keys here
            given = with_stored_secrets(given, self._stored_input(stored))
            _check_ecr_secret(given)
            rid = str(key)
            cur = await conn.execute(
                "UPDATE image_integrations SET name = %s, type = %s, endpoint = %s,"
                " username = %s, password = %s, session_token = %s, settings = %s,"
                " insecure = %s, updated_at = now() WHERE id = %s RETURNING *",
                (
                    given.name,
                    given.kind,
                    given.endpoint,
                    given.username,
                    self.vault.seal(rid, given.secret) if given.secret else None,
                    (
                        self.vault.seal(_token_context(rid), given.session_token)
                        if given.session_token
                        else None
                    ),
                    Jsonb(given.settings),
                    given.insecure,
                    key,
                ),
            )
            row = await cur.fetchone()
        assert row is not None
        return _row(dict(row))

    async def get(self, integration_id: str) -> Integration:
        async with self.db.connection() as conn:
            return _row(await self._stored_row(conn, _uuid_of(integration_id)))

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
        """Registry client options for an image's registry, from the matching integration
        (an ECR integration's token is exchanged here, or reused while valid:
        RegistryAuthError when that fails)."""
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM image_integrations WHERE endpoint = %s ORDER BY created_at LIMIT 1",
                (registry,),
            )
            row = await cur.fetchone()
        if row is None:
            return RegistryOptions()
        given = self._stored_input(dict(row))
        return await self._options(given)

    def _stored_input(self, row: dict[str, Any]) -> IntegrationInput:
        rid = str(row["id"])
        secret = self.vault.open(rid, bytes(row["password"])) if row["password"] else None
        token = (
            self.vault.open(_token_context(rid), bytes(row["session_token"]))
            if row["session_token"]
            else None
        )
        return IntegrationInput(
            row["name"],
            row["type"],
            row["endpoint"],
            row["username"],
            secret,
            token,
            dict(row["settings"] or {}),
            row["insecure"],
        )

    async def _options(self, given: IntegrationInput, *, attempts: int = 4) -> RegistryOptions:
        creds: dict[str, tuple[str, str]] = {}
        if given.kind == "ecr":
            auth = EcrAuth(
                region=given.settings["region"],
                access_key_id=given.username,
                secret_access_key=given.secret or "",
                session_token=given.session_token or "",
                use_iam=bool(given.settings.get("useIam")),
                registry_id=given.settings.get("registryId", ""),
            )
            creds[given.endpoint] = await asyncio.to_thread(self.ecr.credentials, auth)
        elif given.secret:
            creds[given.endpoint] = (given.username, given.secret)
        return RegistryOptions(
            insecure=frozenset([given.endpoint]) if given.insecure else frozenset(),
            credentials=creds,
            attempts=attempts,
        )

    async def test_options(self, doc: dict[str, Any]) -> tuple[str, RegistryOptions]:
        """Options for a 'test' call on an integration not saved yet, or being edited (a
        document with the id of a stored one uses its stored secrets where none are given,
        if it still names the same registry)."""
        given = self.validate(doc)
        if doc.get("id"):
            given = with_stored_secrets(given, await self._stored(str(doc["id"])))
        return given.endpoint, await self._options(given, attempts=1)

    async def _stored(self, integration_id: str) -> IntegrationInput:
        async with self.db.connection() as conn:
            row = await self._stored_row(conn, _uuid_of(integration_id))
        return self._stored_input(row)

    @staticmethod
    async def _stored_row(conn: Conn, key: uuid.UUID, *, lock: bool = False) -> dict[str, Any]:
        sql = "SELECT * FROM image_integrations WHERE id = %s" + (" FOR UPDATE" if lock else "")
        cur = await conn.execute(sql, (key,))
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"image integration {str(key)!r} does not exist")
        return dict(row)

    async def stored_password(self, integration_id: str) -> str | None:
        """The stored secret (password, secret access key or service-account key)."""
        return (await self._stored(integration_id)).secret
