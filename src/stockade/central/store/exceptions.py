"""Vulnerability exceptions and the finding states they produce.

A finding (image, component, CVE) is OBSERVED unless an APPROVED, unexpired exception names
its CVE and matches its image (registry, remote, tag; ``.*`` matches anything), in which case
it is DEFERRED or FALSE_POSITIVE. States are recomputed when an exception is decided,
cancelled or expires, and when an image is rescanned; checks and reports read them."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from stockade.central.db.database import Conn, Database
from stockade.central.errors import BadRequest, Conflict, Forbidden, NotFound
from stockade.central.store import vuln_totals

ANY = ".*"

# the state a finding takes; FALSE_POSITIVE wins over DEFERRED when both apply
_STATE_SQL = """
UPDATE image_cves f SET state = coalesce((
    SELECT e.target_state FROM vuln_exceptions e
    WHERE e.status = 'APPROVED'
      AND (e.expires_at IS NULL OR e.expires_at > now())
      AND f.cve_id = ANY(e.cves)
      AND (e.registry = '.*' OR e.registry = i.registry)
      AND (e.remote = '.*' OR e.remote = i.remote)
      AND (e.tag = '.*' OR e.tag = i.tag)
    ORDER BY (e.target_state = 'FALSE_POSITIVE') DESC
    LIMIT 1), 'OBSERVED')
FROM images i
WHERE i.id = f.image_id AND ({where})
"""


async def refresh_image_states(conn: Conn, image_id: str) -> None:
    """Set one image's findings' states from the approved, unexpired exceptions; runs inside
    the image's own change, whose store keeps the totals."""
    await conn.execute(_STATE_SQL.format(where="f.image_id = %s").encode(), (image_id,))


async def refresh_cve_states(conn: Conn, cves: list[str]) -> None:
    """The same for these CVEs across all images, with the CVEs' totals recounted."""
    await vuln_totals.lock_for_recompute(conn)
    await conn.execute(_STATE_SQL.format(where="f.cve_id = ANY(%s)").encode(), (cves,))
    await vuln_totals.recompute_cves(conn, cves)


@dataclass(frozen=True)
class ImageScope:
    registry: str = ANY
    remote: str = ANY
    tag: str = ANY


def _ts(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def exception_json(r: dict[str, Any]) -> dict[str, Any]:
    expired = r["expires_at"] is not None and r["expires_at"] <= dt.datetime.now(dt.UTC)
    out: dict[str, Any] = {
        "id": str(r["id"]),
        "name": r["name"],
        "targetState": r["target_state"],
        "status": r["status"],
        "expired": expired,
        "requester": {"id": r["requester"], "name": r["requester"]},
        "approvers": [{"id": r["approver"], "name": r["approver"]}] if r["approver"] else [],
        "createdAt": _ts(r["created_at"]),
        "lastUpdated": _ts(r["updated_at"]),
        "comments": r["comments"],
        "scope": {
            "imageScope": {"registry": r["registry"], "remote": r["remote"], "tag": r["tag"]}
        },
        "cves": r["cves"],
    }
    if r["target_state"] == "DEFERRED":
        out["deferralRequest"] = {
            "expiry": {"expiryType": r["expiry_type"] or "TIME", "expiresOn": _ts(r["expires_at"])}
        }
    return out


class ExceptionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def request(
        self,
        *,
        target_state: str,
        cves: list[str],
        scope: ImageScope,
        requester: str,
        comment: str,
        expiry_type: str = "",
        expires_at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        if not cves:
            raise BadRequest("an exception needs at least one CVE")
        if not comment.strip():
            raise BadRequest("an exception needs a comment saying why")
        if target_state == "DEFERRED":
            if expiry_type == "TIME" and expires_at is None:
                raise BadRequest("a deferral with expiry type TIME needs expiresOn")
            if expires_at is not None and expires_at <= dt.datetime.now(dt.UTC):
                raise BadRequest("expiresOn must be in the future")
        now = dt.datetime.now(dt.UTC)
        comments = [{"message": comment, "user": requester, "createdAt": _ts(now)}]
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO vuln_exceptions (id, name, target_state, status, cves, registry,"
                " remote, tag, expiry_type, expires_at, requester, comments)"
                " VALUES (%s, %s, %s, 'PENDING', %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
                (
                    uuid.uuid4(),
                    f"{target_state.lower()}-{now:%Y%m%d%H%M%S}",
                    target_state,
                    sorted(set(cves)),
                    scope.registry,
                    scope.remote,
                    scope.tag,
                    expiry_type,
                    expires_at,
                    requester,
                    Jsonb(comments),
                ),
            )
            row = await cur.fetchone()
        assert row is not None
        return exception_json(dict(row))

    async def _get(self, conn: Conn, exception_id: str, *, lock: bool = False) -> dict[str, Any]:
        try:
            key = uuid.UUID(exception_id)
        except ValueError as exc:
            raise NotFound(f"exception {exception_id!r} does not exist") from exc
        cur = await conn.execute(
            "SELECT * FROM vuln_exceptions WHERE id = %s" + (" FOR UPDATE" if lock else ""),
            (key,),
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"exception {exception_id!r} does not exist")
        return dict(row)

    async def get(self, exception_id: str) -> dict[str, Any]:
        async with self.db.connection() as conn:
            return exception_json(await self._get(conn, exception_id))

    async def list(self, status: str | None = None) -> list[dict[str, Any]]:
        async with self.db.connection() as conn:
            if status:
                cur = await conn.execute(
                    "SELECT * FROM vuln_exceptions WHERE status = %s ORDER BY created_at DESC",
                    (status.upper(),),
                )
            else:
                cur = await conn.execute("SELECT * FROM vuln_exceptions ORDER BY created_at DESC")
            return [exception_json(dict(r)) for r in await cur.fetchall()]

    async def decide(
        self, exception_id: str, *, approve: bool, approver: str, comment: str
    ) -> dict[str, Any]:
        async with self.db.connection() as conn:
            row = await self._get(conn, exception_id, lock=True)
            if row["status"] != "PENDING":
                raise Conflict(f"exception {exception_id} is {row['status']}, not PENDING")
            if row["requester"] == approver:
                raise Forbidden("an exception cannot be approved or denied by its requester")
            comments = list(row["comments"])
            if comment.strip():
                comments.append(
                    {
                        "message": comment,
                        "user": approver,
                        "createdAt": _ts(dt.datetime.now(dt.UTC)),
                    }
                )
            cur = await conn.execute(
                "UPDATE vuln_exceptions SET status = %s, approver = %s, comments = %s,"
                " updated_at = now() WHERE id = %s RETURNING *",
                ("APPROVED" if approve else "DENIED", approver, Jsonb(comments), row["id"]),
            )
            updated = await cur.fetchone()
            if approve:  # a denied request never set any finding's state
                await refresh_cve_states(conn, list(row["cves"]))
        assert updated is not None
        return exception_json(dict(updated))

    async def cancel(self, exception_id: str, who: str) -> dict[str, Any]:
        async with self.db.connection() as conn:
            row = await self._get(conn, exception_id, lock=True)
            if row["status"] not in ("PENDING", "APPROVED"):
                raise Conflict(f"exception {exception_id} is {row['status']}; nothing to cancel")
            cur = await conn.execute(
                "UPDATE vuln_exceptions SET status = 'CANCELED', updated_at = now()"
                " WHERE id = %s RETURNING *",
                (row["id"],),
            )
            updated = await cur.fetchone()
            if row["status"] == "APPROVED":  # a pending request never set any finding's state
                await refresh_cve_states(conn, list(row["cves"]))
        assert updated is not None
        return exception_json(dict(updated))

    async def expire_due(self) -> int:
        """Findings of exceptions that expired since the last call go back to OBSERVED."""
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT DISTINCT unnest(cves) AS cve FROM vuln_exceptions e"
                " WHERE e.status = 'APPROVED' AND e.expires_at <= now()"
                " AND EXISTS (SELECT 1 FROM image_cves f WHERE f.cve_id = ANY(e.cves)"
                " AND f.state <> 'OBSERVED')"
            )
            cves = [r["cve"] for r in await cur.fetchall()]
            if cves:
                await refresh_cve_states(conn, cves)
        return len(cves)

    async def excepted(self, registry: str, remote: str, tag: str) -> dict[str, str]:
        """CVE -> state for an image that is not (yet) stored, e.g. a build check's input."""
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT unnest(cves) AS cve, target_state FROM vuln_exceptions"
                " WHERE status = 'APPROVED' AND (expires_at IS NULL OR expires_at > now())"
                " AND (registry = '.*' OR registry = %s) AND (remote = '.*' OR remote = %s)"
                " AND (tag = '.*' OR tag = %s)",
                (registry, remote, tag),
            )
            out: dict[str, str] = {}
            for r in await cur.fetchall():
                if out.get(r["cve"]) != "FALSE_POSITIVE":
                    out[r["cve"]] = r["target_state"]
            return out
