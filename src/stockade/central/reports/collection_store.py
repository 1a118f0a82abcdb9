"""Collections in Central DB, with embedded collections.

A collection holds the deployments its own selectors match and those of every collection it
embeds (transitively), so its effective selectors are the union of theirs (selectors are
ORed). Saving refuses an unknown embedded collection and a cycle; a collection another one
embeds, or a report configuration uses, cannot be deleted.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from stockade.central.auth.model import ScopeRules
from stockade.central.auth.scope_sql import ScopeColumns, scope_filter
from stockade.central.db.database import Conn, Database
from stockade.central.errors import Conflict, NotFound
from stockade.central.reports.collections import (
    DEPLOYMENTS_FROM,
    Selector,
    parse_selectors,
    regexes,
    selectors_json,
    selectors_sql,
)
from stockade.central.reports.errors import InvalidReport
from stockade.central.sqlparams import Params

MAX_EMBEDDED = 50
_DEPLOYMENT_SCOPE = ScopeColumns(
    cluster_id=sql.SQL("d.cluster_id"), namespace=sql.SQL("d.namespace")
)
# every collection reachable from %(start)s through embedded_ids, itself included
_CLOSURE = (
    "WITH RECURSIVE reach(id) AS (SELECT unnest(%(start)s::uuid[])"
    " UNION SELECT unnest(c.embedded_ids) FROM collections c JOIN reach r ON c.id = r.id)"
)


def ts(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def as_uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound(f"{what} {value!r} does not exist") from exc


@dataclass(frozen=True)
class CollectionDoc:
    name: str
    description: str
    selectors: tuple[Selector, ...]
    embedded: tuple[str, ...]


def _embedded(doc: dict[str, Any]) -> tuple[str, ...]:
    """``embeddedCollectionIds`` (requests) or ``embeddedCollections: [{id}]`` (responses)."""
    raw = doc.get("embeddedCollectionIds")
    path = "embeddedCollectionIds"
    if raw is None and doc.get("embeddedCollections") is not None:
        path = "embeddedCollections"
        items = doc["embeddedCollections"]
        raw = (
            [e.get("id") if isinstance(e, dict) else e for e in items]
            if isinstance(items, list)
            else items
        )
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_EMBEDDED:
        raise InvalidReport(path, f"must be a list of at most {MAX_EMBEDDED} collection ids")
    for i, value in enumerate(raw):
        if not isinstance(value, str):
            raise InvalidReport(f"{path}[{i}]", "must be a collection id")
    return tuple(dict.fromkeys(raw))


def parse_collection(doc: Any, *, named: bool = True) -> CollectionDoc:
    if not isinstance(doc, dict):
        raise InvalidReport("body", "must be a collection object")
    name = doc.get("name") or ""
    if not isinstance(name, str) or (named and not name.strip()):
        raise InvalidReport("name", "is required")
    if len(name) > 256:
        raise InvalidReport("name", "is longer than 256 characters")
    description = doc.get("description") or ""
    if not isinstance(description, str):
        raise InvalidReport("description", "must be a string")
    embedded = _embedded(doc)
    raw = doc.get("resourceSelectors")
    selectors = () if embedded and not raw else parse_selectors(raw)
    return CollectionDoc(name.strip(), description, selectors, embedded)


def collection_json(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(r["id"]),
        "name": r["name"],
        "description": r["description"],
        "createdAt": ts(r["created_at"]),
        "lastUpdated": ts(r["updated_at"]),
        "createdBy": {"id": r["created_by"], "name": r["created_by"]},
        "updatedBy": {"id": r["updated_by"], "name": r["updated_by"]},
        "resourceSelectors": r["resource_selectors"],
        "embeddedCollections": [{"id": str(e)} for e in r["embedded_ids"]],
    }


class CollectionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _check_regexes(self, conn: Conn, selectors: tuple[Selector, ...]) -> None:
        for path, pattern in regexes(selectors):
            try:
                async with conn.transaction():  # a savepoint: the error must not end ours
                    await conn.execute("SELECT '' ~ ('^(?:' || %s || ')$')", (pattern,))
            except psycopg.errors.InvalidRegularExpression as exc:
                raise InvalidReport(
                    path, f"is not a valid regular expression ({exc.diag.message_primary})"
                ) from exc

    async def _check_embedded(
        self, conn: Conn, c: CollectionDoc, own: uuid.UUID | None
    ) -> list[uuid.UUID]:
        ids = []
        for i, value in enumerate(c.embedded):
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                raise InvalidReport(
                    f"embeddedCollectionIds[{i}]", f"collection {value!r} does not exist"
                ) from None
        cur = await conn.execute("SELECT id FROM collections WHERE id = ANY(%s)", (ids,))
        found = {r["id"] for r in await cur.fetchall()}
        for i, cid in enumerate(ids):
            if cid not in found:
                raise InvalidReport(
                    f"embeddedCollectionIds[{i}]", f"collection '{cid}' does not exist"
                )
        if own is not None and ids:
            cur = await conn.execute(
                _CLOSURE + " SELECT 1 FROM reach WHERE id = %(own)s", {"start": ids, "own": own}
            )
            if await cur.fetchone() is not None:
                raise InvalidReport(
                    "embeddedCollectionIds", "would make the collection embed itself (a cycle)"
                )
        return ids

    async def save(
        self, doc: Any, principal: str, collection_id: str | None = None
    ) -> dict[str, Any]:
        """Create (no ``collection_id``) or replace a collection."""
        c = parse_collection(doc)
        selectors = Jsonb(selectors_json(c.selectors))
        own = as_uuid(collection_id, "collection") if collection_id is not None else None
        try:
            async with self.db.connection() as conn:
                await self._check_regexes(conn, c.selectors)
                embedded = await self._check_embedded(conn, c, own)
                if own is None:
                    cur = await conn.execute(
                        "INSERT INTO collections (id, name, description, resource_selectors,"
                        " embedded_ids, created_by, updated_by)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
                        (
                            uuid.uuid4(),
                            c.name,
                            c.description,
                            selectors,
                            embedded,
                            principal,
                            principal,
                        ),
                    )
                else:
                    cur = await conn.execute(
                        "UPDATE collections SET name = %s, description = %s,"
                        " resource_selectors = %s, embedded_ids = %s, updated_by = %s,"
                        " updated_at = now() WHERE id = %s RETURNING *",
                        (c.name, c.description, selectors, embedded, principal, own),
                    )
                row = await cur.fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"a collection named {c.name!r} already exists") from exc
        if row is None:
            raise NotFound(f"collection {collection_id!r} does not exist")
        return collection_json(row)

    async def get(self, collection_id: str) -> dict[str, Any]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM collections WHERE id = %s", (as_uuid(collection_id, "collection"),)
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"collection {collection_id!r} does not exist")
        return collection_json(row)

    async def all(self, name_prefix: str = "") -> list[dict[str, Any]]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM collections WHERE starts_with(lower(name), lower(%s)) ORDER BY name",
                (name_prefix,),
            )
            return [collection_json(r) for r in await cur.fetchall()]

    async def delete(self, collection_id: str) -> None:
        cid = as_uuid(collection_id, "collection")
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT 'report configuration ' || quote_literal(name) AS what FROM report_configs"
                " WHERE collection_id = %(id)s UNION ALL"
                " SELECT 'collection ' || quote_literal(name) FROM collections"
                " WHERE %(id)s = ANY(embedded_ids) ORDER BY 1",
                {"id": cid},
            )
            users = [r["what"] for r in await cur.fetchall()]
            if users:
                raise Conflict(f"collection is used by {', '.join(users)}; change them first")
            cur = await conn.execute("DELETE FROM collections WHERE id = %s", (cid,))
            if cur.rowcount == 0:
                raise NotFound(f"collection {collection_id!r} does not exist")

    async def effective_selectors(self, ids: list[uuid.UUID]) -> tuple[Selector, ...]:
        """The selectors of these collections and of every one they embed."""
        async with self.db.connection() as conn:
            cur = await conn.execute(
                _CLOSURE + " SELECT c.resource_selectors FROM collections c"
                " JOIN reach r ON r.id = c.id ORDER BY c.id",
                {"start": ids},
            )
            rows = await cur.fetchall()
        return tuple(
            s
            for r in rows
            if r["resource_selectors"]
            for s in parse_selectors(r["resource_selectors"])
        )

    async def selectors_of(self, collection_id: str) -> tuple[Selector, ...]:
        return await self.effective_selectors([as_uuid(collection_id, "collection")])

    async def dryrun(
        self, doc: Any, limit: int, offset: int, scopes: list[ScopeRules | None]
    ) -> list[dict[str, Any]]:
        """The deployments a collection document would hold, within the caller's ``scopes``."""
        c = parse_collection(doc, named=False)
        async with self.db.connection() as conn:
            await self._check_regexes(conn, c.selectors)
            embedded = await self._check_embedded(conn, c, None)
        selectors = c.selectors + (await self.effective_selectors(embedded) if embedded else ())
        p = Params()
        query = sql.SQL(
            "SELECT d.id::text AS id, d.name, d.namespace, cl.name AS cluster,"
            " cl.id::text AS cluster_id FROM {} WHERE {} AND {}"
            " ORDER BY cl.name, d.namespace, d.name, d.id LIMIT {} OFFSET {}"
        ).format(
            DEPLOYMENTS_FROM,
            selectors_sql(selectors, p),
            scope_filter(scopes, _DEPLOYMENT_SCOPE, p),
            p.add(limit),
            p.add(offset),
        )
        async with self.db.connection() as conn:
            rows = await (await conn.execute(query, p)).fetchall()
        return [
            {
                "id": r["id"],
                "name": r["name"],
                "namespace": r["namespace"],
                "clusterName": r["cluster"],
                "clusterId": r["cluster_id"],
            }
            for r in rows
        ]
