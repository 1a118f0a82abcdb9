"""Vulnerability totals maintained when findings change (migration 0011 says what they hold).

Every writer of ``image_cves`` keeps them exact:

- replacing or deleting one or more images' findings: ``async with image_change(conn, ids)``
  around the change — it takes the images' change locks, subtracts their contribution before
  and adds it back after;
- changing finding states across many images (an exception decided or expired):
  :func:`lock_for_recompute` before the change, :func:`recompute_cves` after it.

Lock order, the same for every writer so two of them never wait on each other in a circle:
the buckets table first (``ROW EXCLUSIVE`` for image changes, ``SHARE ROW EXCLUSIVE`` for a
recompute, which therefore waits for image changes in flight and holds new ones back), then
per-image advisory locks in id order, then rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from stockade.central.db.database import Conn

_ROLLUP = """
SELECT f.image_id, f.cve_id, max(stockade_severity_rank(f.severity)) AS rank,
       max(f.cvss) AS cvss, bool_or(f.fixable) AS fixable
FROM image_cves f WHERE f.state = 'OBSERVED' AND {where}
GROUP BY f.image_id, f.cve_id
"""

_SEVERITY = "(ARRAY['UNKNOWN','LOW','MODERATE','IMPORTANT','CRITICAL'])[r.rank + 1]"

_ADD_BUCKETS = f"""
INSERT INTO cve_image_buckets AS b (cve_id, severity, cvss, fixable, images)
SELECT r.cve_id, {_SEVERITY}, r.cvss, r.fixable, count(*)
FROM ({_ROLLUP}) r
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
ON CONFLICT (cve_id, severity, cvss, fixable) DO UPDATE SET images = b.images + excluded.images
"""

# An image change collects its old and new roll-ups here and applies the net difference in
# one statement, in key order: bucket rows are then locked by one ordered statement per
# transaction, so concurrent image changes never deadlock on them, and buckets an unchanged
# rescan leaves alone are not touched at all.
_DELTA_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS cve_bucket_delta (
    cve_id text, severity text, cvss real, fixable boolean, n integer
) ON COMMIT DELETE ROWS
"""
_COLLECT = f"""
INSERT INTO cve_bucket_delta
SELECT r.cve_id, {_SEVERITY}, r.cvss, r.fixable, %(sign)s * count(*)
FROM ({_ROLLUP.format(where="f.image_id = ANY(%(ids)s)")}) r
GROUP BY 1, 2, 3, 4
"""
_APPLY = """
INSERT INTO cve_image_buckets AS b (cve_id, severity, cvss, fixable, images)
SELECT cve_id, severity, cvss, fixable, sum(n) FROM cve_bucket_delta
GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4
ON CONFLICT (cve_id, severity, cvss, fixable) DO UPDATE SET images = b.images + excluded.images
"""

_ZERO = "'{0,0,0,0,0}'::integer[]"

_IMAGE_COUNTS = f"""
UPDATE images i SET observed_sev_counts = coalesce(a.obs, {_ZERO}),
                    fixable_sev_counts = coalesce(a.fix, {_ZERO})
FROM unnest(%(ids)s::text[]) AS x(id)
LEFT JOIN (
    SELECT r.image_id,
           ARRAY[count(*) FILTER (WHERE r.rank = 0), count(*) FILTER (WHERE r.rank = 1),
                 count(*) FILTER (WHERE r.rank = 2), count(*) FILTER (WHERE r.rank = 3),
                 count(*) FILTER (WHERE r.rank = 4)] AS obs,
           ARRAY[count(*) FILTER (WHERE r.rank = 0 AND r.fixable),
                 count(*) FILTER (WHERE r.rank = 1 AND r.fixable),
                 count(*) FILTER (WHERE r.rank = 2 AND r.fixable),
                 count(*) FILTER (WHERE r.rank = 3 AND r.fixable),
                 count(*) FILTER (WHERE r.rank = 4 AND r.fixable)] AS fix
    FROM ({_ROLLUP.format(where="f.image_id = ANY(%(ids)s)")}) r GROUP BY r.image_id
) a ON a.image_id = x.id
WHERE i.id = x.id
"""


async def _lock_images(conn: Conn, image_ids: Sequence[str]) -> list[str]:
    ids = sorted(set(image_ids))
    await conn.execute("LOCK TABLE cve_image_buckets IN ROW EXCLUSIVE MODE")
    # advisory, not row locks: an image being stored for the first time has no row to lock
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('stockade.image:' || id, 0))"
        " FROM unnest(%s::text[]) AS id ORDER BY id",
        (ids,),
    )
    return ids


@asynccontextmanager
async def image_change(conn: Conn, image_ids: Sequence[str]) -> AsyncIterator[None]:
    """Wrap a change of these images' findings (replace, state change or delete) inside one
    transaction on ``conn``; the totals follow it. Must come before the change's first
    statement on those images."""
    ids = await _lock_images(conn, image_ids)
    if not ids:
        yield
        return
    await conn.execute(_DELTA_TABLE)
    await conn.execute(_COLLECT.encode(), {"ids": ids, "sign": -1})
    yield
    await conn.execute(_COLLECT.encode(), {"ids": ids, "sign": 1})
    await conn.execute(_APPLY)
    await conn.execute(_IMAGE_COUNTS.encode(), {"ids": ids})


async def lock_for_recompute(conn: Conn) -> None:
    """Before changing finding states across images: hold image changes back until commit."""
    await conn.execute("LOCK TABLE cve_image_buckets IN SHARE ROW EXCLUSIVE MODE")


async def recompute_cves(conn: Conn, cve_ids: Sequence[str]) -> None:
    """Recount these CVEs' buckets, and the per-image counts of every image holding one of
    them, from the findings as they are now. Call after :func:`lock_for_recompute`."""
    cves = sorted(set(cve_ids))
    if not cves:
        return
    await conn.execute("DELETE FROM cve_image_buckets WHERE cve_id = ANY(%s)", (cves,))
    await conn.execute(
        _ADD_BUCKETS.format(where="f.cve_id = ANY(%(cves)s)").encode(), {"cves": cves}
    )
    cur = await conn.execute(
        "SELECT DISTINCT image_id FROM image_cves WHERE cve_id = ANY(%s)", (cves,)
    )
    ids = [r["image_id"] for r in await cur.fetchall()]
    if ids:
        await conn.execute(_IMAGE_COUNTS.encode(), {"ids": ids})


async def rebuild_all(conn: Conn) -> None:
    """Recount every total from the findings (findings loaded in bulk outside the stores,
    as a benchmark seeds them)."""
    await lock_for_recompute(conn)
    await conn.execute("DELETE FROM cve_image_buckets")
    await conn.execute(_ADD_BUCKETS.format(where="TRUE").encode())
    cur = await conn.execute("SELECT id FROM images")
    ids = [r["id"] for r in await cur.fetchall()]
    await conn.execute(_IMAGE_COUNTS.encode(), {"ids": ids})
    await conn.execute(_COMPONENT_KINDS)
    await conn.execute(_FIRST_FINDINGS)


# also written by the images store (migration 0019)
_FIRST_FINDINGS = """
UPDATE image_cves f SET first_in_image = (d.rn = 1)
FROM (
    SELECT image_id, component_idx, cve_id,
           row_number() OVER (PARTITION BY image_id, cve_id ORDER BY component_idx) AS rn
    FROM image_cves
) d
WHERE d.image_id = f.image_id AND d.component_idx = f.component_idx AND d.cve_id = f.cve_id
  AND f.first_in_image <> (d.rn = 1)
"""


# what the images store writes with each component row (migration 0018)
_COMPONENT_KINDS = """
UPDATE image_components ic
SET first_of_kind = (k.rn = 1), has_fixable = coalesce(k.fixable, false)
FROM (
    SELECT c.image_id, c.idx,
           row_number() OVER w AS rn,
           bool_or(EXISTS (SELECT 1 FROM image_cves f WHERE f.image_id = c.image_id
                           AND f.component_idx = c.idx AND f.fixable))
               OVER (PARTITION BY c.image_id, c.name, c.version, c.source) AS fixable
    FROM image_components c
    WINDOW w AS (PARTITION BY c.image_id, c.name, c.version, c.source ORDER BY c.idx)
) k
WHERE k.image_id = ic.image_id AND k.idx = ic.idx
"""
