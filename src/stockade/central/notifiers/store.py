"""Notifiers in Central DB: the product's JSON without secrets, the secrets sealed."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from stockade.central.crypto import CredentialVault, DecryptionFailed
from stockade.central.db.database import Database
from stockade.central.errors import CentralError, Conflict, NotFound
from stockade.central.notifiers import documents
from stockade.central.notifiers.base import InvalidNotifier, NotifierType
from stockade.central.notifiers.registry import NOTIFIER_TYPES

logger = logging.getLogger(__name__)


class SecretsUnreadable(CentralError):
    status = 500
    code = 13


@dataclass(frozen=True)
class StoredNotifier:
    id: str
    name: str
    type: str
    doc: dict[str, Any]  # secrets emptied
    secrets: dict[str, Any]
    updated_at: dt.datetime
    health_status: str
    health_error: str
    health_at: dt.datetime | None
    secrets_unreadable: bool = False

    @property
    def plugin(self) -> NotifierType[Any]:
        return NOTIFIER_TYPES[self.type]

    def to_json(self) -> dict[str, Any]:
        """The API's view: secrets masked."""
        return documents.masked(self.plugin, self.doc, self.secrets)

    def full_doc(self) -> dict[str, Any]:
        return documents.join_secrets(self.plugin, self.doc, self.secrets)

    def parsed(self) -> documents.Parsed:
        return documents.parse(self.full_doc(), self.id)


class NotifierStore:
    def __init__(
        self, db: Database, vault: CredentialVault, *, allow_local_endpoints: bool = False
    ) -> None:
        self.db = db
        self.vault = vault
        self.allow_local = allow_local_endpoints

    def _row(self, row: dict[str, Any], *, strict: bool = True) -> StoredNotifier:
        """``strict``: raise SecretsUnreadable when the secrets do not open; otherwise
        (listing) return the notifier without them."""
        secrets: dict[str, Any] = {}
        unreadable = False
        if row["sealed_secrets"]:
            try:
                secrets = json.loads(self.vault.open(row["id"], bytes(row["sealed_secrets"])))
            except DecryptionFailed as exc:
                error = SecretsUnreadable(
                    f"the stored credentials of notifier {row['name']!r} cannot be opened"
                    " with this Central's data key"
                )
                if strict:
                    raise error from exc
                logger.warning(error.message, extra={"notifier": row["id"]})
                unreadable = True
        return StoredNotifier(
            row["id"],
            row["name"],
            row["type"],
            row["doc"],
            secrets,
            row["updated_at"],
            row["health_status"],
            row["health_error"],
            row["health_at"],
            unreadable,
        )

    def _seal(self, notifier_id: str, secrets: dict[str, Any]) -> bytes | None:
        if not secrets:
            return None
        return self.vault.seal(notifier_id, documents.dumps_secrets(secrets))

    async def all(self) -> list[StoredNotifier]:
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM notifiers ORDER BY name")
            rows = await cur.fetchall()
        return [self._row(r, strict=False) for r in rows]

    async def get(self, notifier_id: str, *, strict: bool = True) -> StoredNotifier:
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM notifiers WHERE id = %s", (notifier_id,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"notifier {notifier_id!r} does not exist")
        return self._row(row, strict=strict)

    async def for_delivery(self, ids: list[str]) -> dict[str, StoredNotifier | SecretsUnreadable]:
        """Each notifier, or the reason its secrets cannot be opened: one unreadable
        notifier must not hold up the others' deliveries."""
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM notifiers WHERE id = ANY(%s)", (ids,))
            rows = await cur.fetchall()
        out: dict[str, StoredNotifier | SecretsUnreadable] = {}
        for r in rows:
            try:
                out[r["id"]] = self._row(r)
            except SecretsUnreadable as exc:
                out[r["id"]] = exc
        return out

    async def create(self, doc: Any) -> StoredNotifier:
        notifier_id = str(uuid.uuid4())
        parsed = documents.parse(doc, notifier_id, allow_local=self.allow_local)
        clean, secrets = documents.split_secrets(parsed)
        try:
            async with self.db.connection() as conn:
                cur = await conn.execute(
                    "INSERT INTO notifiers (id, name, type, doc, sealed_secrets)"
                    " VALUES (%s, %s, %s, %s, %s) RETURNING *",
                    (
                        notifier_id,
                        parsed.common.name,
                        parsed.common.type,
                        Jsonb(clean),
                        self._seal(notifier_id, secrets),
                    ),
                )
                row = await cur.fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"a notifier named {parsed.common.name!r} already exists") from exc
        assert row is not None
        logger.info("notifier created", extra={"notifier": notifier_id, "type": parsed.common.type})
        return self._row(row)

    async def prepare_update(
        self, notifier_id: str, doc: Any, *, keep_all_secrets: bool
    ) -> documents.Parsed:
        """Validate an update of a stored notifier (stored secrets filled in as asked)."""
        stored = await self.get(notifier_id, strict=False)
        if stored.secrets_unreadable and keep_all_secrets:
            raise SecretsUnreadable(
                f"the stored credentials of notifier {stored.name!r} cannot be opened;"
                " give them again (updatePassword: true)"
            )
        if isinstance(doc, dict) and doc.get("id") not in (None, "", notifier_id):
            raise InvalidNotifier("id", "does not match the notifier in the path")
        merged = documents.merge_stored(doc, stored.doc, stored.secrets, keep_all=keep_all_secrets)
        return documents.parse(merged, notifier_id, allow_local=self.allow_local)

    async def update(self, notifier_id: str, doc: Any, *, keep_all_secrets: bool) -> StoredNotifier:
        parsed = await self.prepare_update(notifier_id, doc, keep_all_secrets=keep_all_secrets)
        clean, secrets = documents.split_secrets(parsed)
        try:
            async with self.db.connection() as conn:
                cur = await conn.execute(
                    "UPDATE notifiers SET name = %s, type = %s, doc = %s, sealed_secrets = %s,"
                    " updated_at = now() WHERE id = %s RETURNING *",
                    (
                        parsed.common.name,
                        parsed.common.type,
                        Jsonb(clean),
                        self._seal(notifier_id, secrets),
                        notifier_id,
                    ),
                )
                row = await cur.fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"a notifier named {parsed.common.name!r} already exists") from exc
        if row is None:
            raise NotFound(f"notifier {notifier_id!r} does not exist")
        logger.info("notifier updated", extra={"notifier": notifier_id, "type": parsed.common.type})
        return self._row(row)

    async def delete(self, notifier_id: str, *, force: bool) -> None:
        """Delete; a notifier that policies name is kept unless ``force``, which also takes
        it off those policies. Its queued notifications go with it."""
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT name FROM notifiers WHERE id = %s FOR UPDATE", (notifier_id,)
            )
            if await cur.fetchone() is None:
                raise NotFound(f"notifier {notifier_id!r} does not exist")
            cur = await conn.execute(
                "SELECT name FROM report_configs WHERE doc->'notifiers' @> jsonb_build_array("
                "jsonb_build_object('emailConfig', jsonb_build_object('notifierId', %s::text)))"
                " ORDER BY name",
                (notifier_id,),
            )
            reports = [r["name"] for r in await cur.fetchall()]
            if reports:  # even with force: a scheduled report would fail at every run
                raise Conflict(
                    f"notifier is used by report configurations {', '.join(map(repr, reports))};"
                    " remove it from them first"
                )
            cur = await conn.execute(
                "SELECT name FROM policies WHERE doc->'notifiers' ? %s ORDER BY name",
                (notifier_id,),
            )
            users = [r["name"] for r in await cur.fetchall()]
            if users and not force:
                shown = ", ".join(repr(u) for u in users[:5])
                more = f" and {len(users) - 5} more" if len(users) > 5 else ""
                raise Conflict(
                    f"notifier is used by policies {shown}{more}; remove it from them first"
                    " or delete with force=true"
                )
            if users:
                await conn.execute(
                    "UPDATE policies SET updated_at = now(), doc = jsonb_set(doc, '{notifiers}',"
                    " (SELECT coalesce(jsonb_agg(n), '[]'::jsonb)"
                    "  FROM jsonb_array_elements(doc->'notifiers') n"
                    "  WHERE n <> to_jsonb(%s::text)))"
                    " WHERE doc->'notifiers' ? %s",
                    (notifier_id, notifier_id),
                )
            await conn.execute("DELETE FROM notifiers WHERE id = %s", (notifier_id,))
        logger.info("notifier deleted", extra={"notifier": notifier_id, "policies": len(users)})
