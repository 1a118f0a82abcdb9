"""Permission sets, access scopes and roles in Central DB, with a short-lived cache of the
resolved roles (every authenticated request needs them)."""

from __future__ import annotations

import time
from typing import Any

from psycopg.types.json import Jsonb

from stockade.central.auth.model import (
    BUILTIN_PERMISSION_SETS,
    BUILTIN_ROLES,
    BUILTIN_SCOPES,
    AccessScope,
    PermissionSet,
    Role,
    access_map_from_json,
    access_map_to_json,
    rules_from_json,
    rules_to_json,
)
from stockade.central.db.database import Conn, Database
from stockade.central.errors import BadRequest, Conflict, NotFound

CACHE_SECONDS = 5.0


async def seed_builtins(conn: Conn) -> None:
    """Insert or refresh the built-in rows (run at start, under the migration lock)."""
    for ps in BUILTIN_PERMISSION_SETS:
        await conn.execute(
            "INSERT INTO permission_sets (id, name, description, resource_to_access, builtin)"
            " VALUES (%s, %s, %s, %s, true) ON CONFLICT (id) DO UPDATE SET"
            " name = excluded.name, description = excluded.description,"
            " resource_to_access = excluded.resource_to_access",
            (ps.id, ps.name, ps.description, Jsonb(access_map_to_json(ps.resource_to_access))),
        )
    for sc in BUILTIN_SCOPES:
        rules = rules_to_json(sc.rules)
        await conn.execute(
            "INSERT INTO access_scopes (id, name, description, rules, builtin)"
            " VALUES (%s, %s, %s, %s, true) ON CONFLICT (id) DO UPDATE SET"
            " name = excluded.name, description = excluded.description, rules = excluded.rules",
            (sc.id, sc.name, sc.description, Jsonb(rules) if rules is not None else None),
        )
    for role in BUILTIN_ROLES:
        await conn.execute(
            "INSERT INTO roles (name, description, permission_set_id, access_scope_id, builtin)"
            " VALUES (%s, %s, %s, %s, true) ON CONFLICT (name) DO UPDATE SET"
            " description = excluded.description,"
            " permission_set_id = excluded.permission_set_id,"
            " access_scope_id = excluded.access_scope_id",
            (role.name, role.description, role.permission_set.id, role.access_scope.id),
        )


def _ps(row: dict[str, Any]) -> PermissionSet:
    return PermissionSet(
        row["ps_id"],
        row["ps_name"],
        access_map_from_json(row["ps_access"]),
        row["ps_description"],
        row["ps_builtin"],
    )


def _scope(row: dict[str, Any]) -> AccessScope:
    return AccessScope(
        row["sc_id"],
        row["sc_name"],
        rules_from_json(row["sc_rules"]),
        row["sc_description"],
        row["sc_builtin"],
    )


_ROLE_QUERY = """
SELECT r.name, r.description, r.builtin,
       ps.id AS ps_id, ps.name AS ps_name, ps.description AS ps_description,
       ps.resource_to_access AS ps_access, ps.builtin AS ps_builtin,
       sc.id AS sc_id, sc.name AS sc_name, sc.description AS sc_description,
       sc.rules AS sc_rules, sc.builtin AS sc_builtin
FROM roles r
JOIN permission_sets ps ON ps.id = r.permission_set_id
JOIN access_scopes sc ON sc.id = r.access_scope_id
"""


class AccessStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._roles: dict[str, Role] = {}
        self._loaded_at = 0.0

    def invalidate(self) -> None:
        self._loaded_at = 0.0

    async def roles(self) -> dict[str, Role]:
        if time.monotonic() - self._loaded_at < CACHE_SECONDS:
            return self._roles
        async with self.db.connection() as conn:
            cur = await conn.execute(_ROLE_QUERY + " ORDER BY r.name")
            rows = await cur.fetchall()
        self._roles = {
            r["name"]: Role(r["name"], _ps(r), _scope(r), r["description"], r["builtin"])
            for r in rows
        }
        self._loaded_at = time.monotonic()
        return self._roles

    async def resolve(self, names: list[str]) -> tuple[Role, ...]:
        roles = await self.roles()
        return tuple(roles[n] for n in names if n in roles)

    # ---- permission sets ----
    async def list_permission_sets(self) -> list[dict[str, Any]]:
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM permission_sets ORDER BY name")
            return [dict(r) for r in await cur.fetchall()]

    async def get_permission_set(self, id_: str) -> dict[str, Any]:
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM permission_sets WHERE id = %s", (id_,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"permission set {id_!r} does not exist")
        return dict(row)

    async def put_permission_set(
        self, id_: str, name: str, description: str, access: dict[str, Any], *, create: bool
    ) -> None:
        try:
            mapping = access_map_to_json(access_map_from_json(access))
        except ValueError as exc:
            raise BadRequest(f"permission set {name!r}: {exc}") from exc
        async with self.db.connection() as conn:
            await self._check_mutable(conn, "permission_sets", "id", id_, create)
            await self._upsert(
                conn,
                "INSERT INTO permission_sets (id, name, description, resource_to_access)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                " description = excluded.description,"
                " resource_to_access = excluded.resource_to_access",
                (id_, name, description, Jsonb(mapping)),
                f"a permission set named {name!r} already exists",
            )
        self.invalidate()

    # ---- access scopes ----
    async def list_scopes(self) -> list[dict[str, Any]]:
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM access_scopes ORDER BY name")
            return [dict(r) for r in await cur.fetchall()]

    async def get_scope(self, id_: str) -> dict[str, Any]:
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM access_scopes WHERE id = %s", (id_,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"access scope {id_!r} does not exist")
        return dict(row)

    async def put_scope(
        self, id_: str, name: str, description: str, rules: dict[str, Any] | None, *, create: bool
    ) -> None:
        try:
            normalized = rules_to_json(rules_from_json(rules))
        except ValueError as exc:
            raise BadRequest(f"access scope {name!r}: {exc}") from exc
        async with self.db.connection() as conn:
            await self._check_mutable(conn, "access_scopes", "id", id_, create)
            await self._upsert(
                conn,
                "INSERT INTO access_scopes (id, name, description, rules) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                " description = excluded.description, rules = excluded.rules",
                (id_, name, description, Jsonb(normalized) if normalized is not None else None),
                f"an access scope named {name!r} already exists",
            )
        self.invalidate()

    # ---- roles ----
    async def put_role(
        self,
        name: str,
        description: str,
        permission_set_id: str,
        access_scope_id: str,
        *,
        create: bool,
    ) -> None:
        async with self.db.connection() as conn:
            await self._check_mutable(conn, "roles", "name", name, create)
            for table, key, label in (
                ("permission_sets", permission_set_id, "permission set"),
                ("access_scopes", access_scope_id, "access scope"),
            ):
                cur = await conn.execute(
                    f"SELECT 1 FROM {table} WHERE id = %s",  # table from the tuple above
                    (key,),
                )
                if await cur.fetchone() is None:
                    raise BadRequest(f"role {name!r}: {label} {key!r} does not exist")
            await conn.execute(
                "INSERT INTO roles (name, description, permission_set_id, access_scope_id)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET"
                " description = excluded.description,"
                " permission_set_id = excluded.permission_set_id,"
                " access_scope_id = excluded.access_scope_id",
                (name, description, permission_set_id, access_scope_id),
            )
        self.invalidate()

    async def delete(self, table: str, key_col: str, key: str, what: str) -> None:
        assert table in {"roles", "permission_sets", "access_scopes"}
        async with self.db.connection() as conn:
            await self._check_mutable(conn, table, key_col, key, create=False)
            try:
                await conn.execute(f"DELETE FROM {table} WHERE {key_col} = %s", (key,))
            except Exception as exc:  # foreign key: still referenced by a role
                if getattr(exc, "sqlstate", None) == "23503":
                    raise Conflict(f"{what} {key!r} is still used by a role") from exc
                raise
        self.invalidate()

    @staticmethod
    async def _check_mutable(conn: Conn, table: str, key_col: str, key: str, create: bool) -> None:
        cur = await conn.execute(
            f"SELECT builtin FROM {table} WHERE {key_col} = %s",  # names from this module only
            (key,),
        )
        row = await cur.fetchone()
        if create and row is not None:
            raise Conflict(f"{key!r} already exists")
        if not create and row is None:
            raise NotFound(f"{key!r} does not exist")
        if row is not None and row["builtin"]:
            raise BadRequest(f"{key!r} is built in and cannot be changed")

    @staticmethod
    async def _upsert(conn: Conn, query: str, params: tuple[Any, ...], conflict: str) -> None:
        try:
            await conn.execute(query.encode(), params)
        except Exception as exc:
            if getattr(exc, "sqlstate", None) == "23505":
                raise Conflict(conflict) from exc
            raise
