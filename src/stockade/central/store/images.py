"""Scanned images in Central DB: the image, its components and CVE findings, replaced as a
whole in one transaction, so a reader sees the previous scan or the new one, never half.

First-seen times survive rescans: per image (``image_cves.first_seen_image``) and per system
(``cves.first_seen_system``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from stockade.central.db.database import Database
from stockade.central.errors import NotFound
from stockade.central.store.exceptions import refresh_image_states
from stockade.central.store.vuln_totals import image_change
from stockade.model.image import (
    Component,
    DockerfileLine,
    Image,
    ImageName,
    Severity,
    Vulnerability,
)


def image_key(image: Image) -> str:
    return image.id or image.name.digest or f"name:{image.name.full_name}"


def _metadata(image: Image) -> dict[str, Any]:
    return {
        "user": image.user,
        "labels": dict(image.labels),
        "env": list(image.env),
        "entrypoint": list(image.entrypoint),
        "cmd": list(image.cmd),
        "exposedPorts": list(image.exposed_ports),
        "dockerfile": [{"instruction": d.instruction, "value": d.value} for d in image.dockerfile],
        "signatureVerifiedBy": list(image.signature_verified_by),
    }


def _verified_by(verification: dict[str, Any] | None, md: dict[str, Any]) -> tuple[str, ...]:
    """Signature integrations that verified the image: the last verification's (kept apart
    from the scan, so a re-match keeps it); metadata's list for images never verified."""
    if verification is None:
        return tuple(md.get("signatureVerifiedBy", ()))
    results = verification.get("results", ())
    return tuple(r["verifierId"] for r in results if r.get("status") == "VERIFIED")


class ImageStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save_scan(
        self,
        image: Image,
        notes: Sequence[str] = (),
        signature_verification: dict[str, Any] | None = None,
    ) -> str:
        """Store a complete scan result; returns the image id. ``signature_verification``, when
        given, is stored in the same transaction (never a new scan with an old verification);
        without it the stored one stays."""
        key = image_key(image)
        now = dt.datetime.now(dt.UTC)
        findings = [(idx, v) for idx, c in enumerate(image.components) for v in c.vulnerabilities]
        cve_ids = {v.cve for _, v in findings}
        fixable = {v.cve for _, v in findings if v.fixed_by}
        top = max((v.cvss for _, v in findings), default=0.0)
        async with self.db.connection() as conn, image_change(conn, [key]):
            # first seen per (component name/version, CVE), so reordered components keep it
            cur = await conn.execute(
                "SELECT c.name, c.version, f.cve_id, f.first_seen_image FROM image_cves f"
                " JOIN image_components c ON c.image_id = f.image_id AND c.idx = f.component_idx"
                " WHERE f.image_id = %s",
                (key,),
            )
            first_seen = {
                ((r["name"], r["version"]), r["cve_id"]): r["first_seen_image"]
                for r in await cur.fetchall()
            }
            await conn.execute(
                "INSERT INTO images (id, name, registry, remote, tag, os, created, metadata,"
                " scan_state, scan_error, scan_notes, scanned_at, last_updated,"
                " components_count, cves_count, fixable_cves_count, top_cvss)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'SCANNED', '',"
                " %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                " registry = excluded.registry, remote = excluded.remote, tag = excluded.tag,"
                " os = excluded.os, created = excluded.created, metadata = excluded.metadata,"
                " scan_state = 'SCANNED', scan_error = '', scan_notes = excluded.scan_notes,"
                " scanned_at = excluded.scanned_at, last_updated = excluded.last_updated,"
                " components_count = excluded.components_count, cves_count = excluded.cves_count,"
                " fixable_cves_count = excluded.fixable_cves_count, top_cvss = excluded.top_cvss",
                (
                    key,
                    image.name.full_name,
                    image.name.registry,
                    image.name.remote,
                    image.name.tag,
                    image.os,
                    image.created,
                    Jsonb(_metadata(image)),
                    list(notes),
                    image.scanned or now,
                    now,
                    len(image.components),
                    len(cve_ids),
                    len(fixable),
                    top,
                ),
            )
            await conn.execute(
                "INSERT INTO image_names (name, image_id, updated_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (name) DO UPDATE SET image_id = excluded.image_id,"
                " updated_at = excluded.updated_at",
                (image.name.full_name, key, now),
            )
            if signature_verification is not None:
                await conn.execute(
                    "UPDATE images SET signature_verification = %s WHERE id = %s",
                    (Jsonb(signature_verification), key),
                )
            seen: dict[str, Vulnerability] = {}
            for _, v in findings:
                prev = seen.get(v.cve)
                if prev is None or v.cvss > prev.cvss:
                    seen[v.cve] = v
            await conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS cves_incoming (LIKE cves INCLUDING DEFAULTS)"
                " ON COMMIT DELETE ROWS"
            )
            async with conn.cursor().copy(
                "COPY cves_incoming (id, severity, cvss, epss, kev, published) FROM STDIN"
            ) as copy:
                for v in seen.values():
                    await copy.write_row(
                        (v.cve, v.severity.name, v.cvss, v.epss, v.kev, v.published)
                    )
            await conn.execute(
                "INSERT INTO cves (id, severity, cvss, epss, kev, published)"
                " SELECT id, severity, cvss, epss, kev, published FROM cves_incoming"
                " ORDER BY id"  # concurrent scans lock shared CVEs in one order: no deadlock
                " ON CONFLICT (id) DO UPDATE SET severity = excluded.severity,"
                " cvss = excluded.cvss, epss = coalesce(excluded.epss, cves.epss),"
                " kev = excluded.kev OR cves.kev,"
                " published = coalesce(excluded.published, cves.published)"
            )
            await conn.execute("DELETE FROM image_cves WHERE image_id = %s", (key,))
            await conn.execute("DELETE FROM image_components WHERE image_id = %s", (key,))
            # one row per kind (name, version, source) counts the image; a kind is fixable
            # in the image when any copy of it has a fixable finding
            fixable_kinds = {
                (c.name, c.version, c.source)
                for c in image.components
                if any(v.fixed_by for v in c.vulnerabilities)
            }
            seen_kinds: set[tuple[str, str, str]] = set()
            async with conn.cursor().copy(
                "COPY image_components (image_id, idx, name, version, source, location,"
                " layer_index, first_of_kind, has_fixable) FROM STDIN"
            ) as copy:
                for idx, c in enumerate(image.components):
                    kind = (c.name, c.version, c.source)
                    first = kind not in seen_kinds
                    seen_kinds.add(kind)
                    await copy.write_row(
                        (
                            key,
                            idx,
                            c.name,
                            c.version,
                            c.source,
                            c.location,
                            c.layer_index,
                            first,
                            kind in fixable_kinds,
                        )
                    )
            async with conn.cursor().copy(
                "COPY image_cves (image_id, component_idx, cve_id, severity, cvss, fixed_by,"
                " fixable, first_seen_image, nvd_cvss, first_in_image) FROM STDIN"
            ) as copy:
                done: set[tuple[int, str]] = set()
                cves_written: set[str] = set()  # findings come in component order
                for idx, v in findings:
                    if (idx, v.cve) in done:
                        continue
                    done.add((idx, v.cve))
                    first_in_image = v.cve not in cves_written
                    cves_written.add(v.cve)
                    comp = image.components[idx]
                    when = first_seen.get(((comp.name, comp.version), v.cve), now)
                    await copy.write_row(
                        (
                            key,
                            idx,
                            v.cve,
                            v.severity.name,
                            v.cvss,
                            v.fixed_by,
                            bool(v.fixed_by),
                            when,
                            v.nvd_cvss,
                            first_in_image,
                        )
                    )
            await refresh_image_states(conn, key)  # approved exceptions apply at once
        return key

    async def record_failure(self, name: ImageName, error: str) -> str:
        """A scan failed: say why on the image; keep the last good results as they were."""
        key = await self.resolve_name(name.full_name) or name.digest or f"name:{name.full_name}"
        async with self.db.connection() as conn:
            await conn.execute(
                "INSERT INTO images (id, name, registry, remote, tag, scan_state, scan_error)"
                " VALUES (%s, %s, %s, %s, %s, 'FAILED', %s)"
                " ON CONFLICT (id) DO UPDATE SET scan_state = 'FAILED',"
                " scan_error = excluded.scan_error, last_updated = now()",
                (key, name.full_name, name.registry, name.remote, name.tag, error),
            )
            await conn.execute(
                "INSERT INTO image_names (name, image_id) VALUES (%s, %s)"
                " ON CONFLICT (name) DO NOTHING",
                (name.full_name, key),
            )
        return key

    async def recent_scan(self, full_name: str, max_age_seconds: float) -> str | None:
        """The id of a good scan of this name newer than ``max_age_seconds``, if any."""
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT i.id FROM image_names n JOIN images i ON i.id = n.image_id"
                " WHERE n.name = %s AND i.scan_state = 'SCANNED'"
                " AND i.scanned_at > now() - make_interval(secs => %s)",
                (full_name, max_age_seconds),
            )
            row = await cur.fetchone()
        return str(row["id"]) if row else None

    async def resolve_name(self, full_name: str) -> str | None:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT image_id FROM image_names WHERE name = %s", (full_name,)
            )
            row = await cur.fetchone()
        return str(row["image_id"]) if row else None

    async def load(self, image_id: str, *, include_excepted: bool = False) -> Image:
        """The stored image as the policy engine's model (for detection). Findings an
        approved exception defers or marks false positive are left out unless asked for."""
        async with self.db.connection() as conn:
            cur = await conn.execute("SELECT * FROM images WHERE id = %s", (image_id,))
            row = await cur.fetchone()
            if row is None:
                raise NotFound(f"image {image_id!r} does not exist")
            comps = await (
                await conn.execute(
                    "SELECT * FROM image_components WHERE image_id = %s ORDER BY idx", (image_id,)
                )
            ).fetchall()
            vulns = await (
                await conn.execute(
                    "SELECT f.*, c.epss, c.kev, c.published, c.first_seen_system FROM image_cves f"
                    " JOIN cves c ON c.id = f.cve_id WHERE f.image_id = %s",
                    (image_id,),
                )
            ).fetchall()
        by_comp: dict[int, list[Vulnerability]] = {}
        for v in vulns:
            if not include_excepted and v["state"] != "OBSERVED":
                continue
            by_comp.setdefault(v["component_idx"], []).append(
                Vulnerability(
                    cve=v["cve_id"],
                    cvss=float(v["cvss"]),
                    severity=Severity.parse(v["severity"]),
                    fixed_by=v["fixed_by"],
                    published=v["published"],
                    first_seen_in_image=v["first_seen_image"],
                    first_seen_in_system=v["first_seen_system"],
                    epss=v["epss"],
                    kev=v["kev"],
                )
            )
        md = row["metadata"] or {}
        return Image(
            name=ImageName.parse(row["name"]),
            id=row["id"] if not row["id"].startswith("name:") else "",
            created=row["created"],
            user=md.get("user", ""),
            labels=md.get("labels", {}),
            env=tuple(md.get("env", ())),
            entrypoint=tuple(md.get("entrypoint", ())),
            cmd=tuple(md.get("cmd", ())),
            exposed_ports=tuple(md.get("exposedPorts", ())),
            dockerfile=tuple(
                DockerfileLine(d["instruction"], d["value"]) for d in md.get("dockerfile", ())
            ),
            os=row["os"],
            scanned=row["scanned_at"],
            signature_verified_by=_verified_by(row["signature_verification"], md),
            components=tuple(
                Component(
                    name=c["name"],
                    version=c["version"],
                    source=c["source"],
                    location=c["location"],
                    layer_index=c["layer_index"],
                    vulnerabilities=tuple(by_comp.get(c["idx"], ())),
                )
                for c in comps
            ),
        )
