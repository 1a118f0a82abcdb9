"""Policies in Central DB, and the compiled set detection uses.

The compiled set is cached per process and rebuilt when the policies change — here, or in
another Central replica (detected by a cheap version query before each use)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from stockade.central.db.database import Conn, Database
from stockade.central.errors import BadRequest, Conflict, NotFound
from stockade.policy import (
    CompiledPolicySet,
    Policy,
    PolicyError,
    compile_policies,
    load_default_policies,
    policy_from_json,
    policy_to_json,
)


def _row_values(p: Policy) -> tuple[Any, ...]:
    return (
        p.name,
        Jsonb(policy_to_json(p)),
        p.disabled,
        p.severity.value,
        list(p.categories),
        [s.value for s in p.lifecycle_stages],
        bool(p.enforcement_actions),
        p.is_default,
    )


def validate(p: Policy) -> None:
    """Raise BadRequest naming the policy, section, field and value that is wrong."""
    try:
        compile_policies([p], include_disabled=True)
    except PolicyError as exc:
        raise BadRequest(exc.message) from exc


def parse(doc: Any, where: str = "policy") -> Policy:
    try:
        return policy_from_json(doc, where)
    except PolicyError as exc:
        raise BadRequest(exc.message) from exc


async def seed_default_policies(conn: Conn) -> int:
    """Add default policies never added before (run under the migration lock)."""
    added = 0
    for p in load_default_policies():
        pid = p.id or f"default-{p.name}"
        cur = await conn.execute(
            "INSERT INTO seeded_default_policies (policy_id) VALUES (%s)"
            " ON CONFLICT DO NOTHING RETURNING policy_id",
            (pid,),
        )
        if await cur.fetchone() is None:
            continue
        await conn.execute(
            "INSERT INTO policies (id, name, doc, disabled, severity, categories,"
            " lifecycle_stages, enforced, is_default) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, true)"
            " ON CONFLICT DO NOTHING",
            (pid, *_row_values(p)[:-1]),
        )
        for cat in p.categories:
            await conn.execute(
                "INSERT INTO policy_categories (id, name, is_default) VALUES (%s, %s, true)"
                " ON CONFLICT (name) DO NOTHING",
                (str(uuid.uuid5(uuid.NAMESPACE_URL, f"stockade:category:{cat}")), cat),
            )
        added += 1
    return added


@dataclass
class _Compiled:
    version: tuple[Any, ...]
    policies: list[Policy]
    compiled: CompiledPolicySet


class PolicyStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._compiled: _Compiled | None = None
        self._lock = asyncio.Lock()

    async def get(self, policy_id: str) -> Policy:
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT id, doc FROM policies WHERE id = %s", (policy_id,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"policy {policy_id!r} does not exist")
        return self._from_row(row)

    @staticmethod
    def _from_row(row: dict[str, Any]) -> Policy:
        doc = dict(row["doc"])
        doc["id"] = row["id"]
        return policy_from_json(doc, f"stored policy {row['id']}")

    async def all(self) -> list[Policy]:
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT id, doc FROM policies ORDER BY name")
            rows = await cur.fetchall()
        return [self._from_row(r) for r in rows]

    async def create(self, p: Policy, *, overwrite: bool = False) -> Policy:
        validate(p)
        if not p.id:
            p = replace(p, id=str(uuid.uuid4()))
        async with self.db.connection() as conn:
            try:
                if overwrite:
                    await conn.execute(
                        "DELETE FROM policies WHERE id = %s OR name = %s", (p.id, p.name)
                    )
                await conn.execute(
                    "INSERT INTO policies (id, name, doc, disabled, severity, categories,"
                    " lifecycle_stages, enforced, is_default)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (p.id, *_row_values(p)),
                )
            except psycopg.errors.UniqueViolation as exc:
                what = "name" if "name" in str(exc.diag.constraint_name) else "id"
                value = p.name if what == "name" else p.id
                raise Conflict(f"a policy with {what} {value!r} already exists") from exc
            await self._add_categories(conn, p)
        self._compiled = None
        return p

    async def update(self, policy_id: str, p: Policy) -> Policy:
        p = replace(p, id=policy_id)
        validate(p)
        async with self.db.connection() as conn:
            await self._write(conn, policy_id, p)
        self._compiled = None
        return p

    async def _write(self, conn: Conn, policy_id: str, p: Policy) -> None:
        try:
            cur = await conn.execute(
                "UPDATE policies SET name = %s, doc = %s, disabled = %s, severity = %s,"
                " categories = %s, lifecycle_stages = %s, enforced = %s, is_default = %s,"
                " updated_at = now() WHERE id = %s RETURNING id",
                (*_row_values(p), policy_id),
            )
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"a policy named {p.name!r} already exists") from exc
        if await cur.fetchone() is None:
            raise NotFound(f"policy {policy_id!r} does not exist")
        await self._add_categories(conn, p)

    async def modify(self, policy_id: str, change: Callable[[Policy], Policy]) -> Policy:
        """Read, change and write one policy in one transaction with its row locked, so two
        concurrent changes (two exclusions added at once) both survive."""
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT id, doc FROM policies WHERE id = %s FOR UPDATE", (policy_id,)
            )
            row = await cur.fetchone()
            if row is None:
                raise NotFound(f"policy {policy_id!r} does not exist")
            current = self._from_row(row)
            p = replace(change(current), id=policy_id)
            if p == current:
                return current
            validate(p)
            await self._write(conn, policy_id, p)
        self._compiled = None
        return p

    async def set_disabled(self, policy_id: str, disabled: bool) -> Policy:
        return await self.modify(policy_id, lambda p: p.with_disabled(disabled))

    async def delete(self, policy_id: str) -> None:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM policies WHERE id = %s RETURNING id", (policy_id,)
            )
            if await cur.fetchone() is None:
                raise NotFound(f"policy {policy_id!r} does not exist")
        self._compiled = None

    @staticmethod
    async def _add_categories(conn: Conn, p: Policy) -> None:
        for cat in p.categories:
            await conn.execute(
                "INSERT INTO policy_categories (id, name) VALUES (%s, %s)"
                " ON CONFLICT (name) DO NOTHING",
                (str(uuid.uuid4()), cat),
            )

    async def _version(self) -> tuple[Any, ...]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) AS n, max(updated_at) AS u, sum(hashtext(id)) AS h FROM policies"
            )
            row = await cur.fetchone()
        assert row is not None
        return (row["n"], row["u"], row["h"])

    async def compiled(self) -> tuple[list[Policy], CompiledPolicySet]:
        """Every enabled policy, compiled; rebuilt only when the stored policies change."""
        version = await self._version()
        cached = self._compiled
        if cached is not None and cached.version == version:
            return cached.policies, cached.compiled
        async with self._lock:
            policies = [p for p in await self.all() if not p.disabled]
            compiled = compile_policies(policies)
            self._compiled = _Compiled(version, policies, compiled)
        return policies, compiled
