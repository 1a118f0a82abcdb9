"""Vulnerability management (resource ``Image``): images, CVEs and components with the
query syntax, sorting and pagination; a CVE's detail with every affected image and
deployment. All of it is limited to images used by deployments in the caller's scope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from psycopg import sql

from stockade.central.api.deps import CentralDep, reader
from stockade.central.api.listing import pagination, query_terms
from stockade.central.auth.identity import Identity
from stockade.central.auth.model import Access
from stockade.central.errors import NotFound
from stockade.central.search import execute
from stockade.central.search.compile import Pagination
from stockade.central.search.query import Op, Term, Value
from stockade.central.search.resources import (
    COMPONENTS,
    CVE_FACTS,
    CVE_TOTALS,
    DEPLOYMENTS,
    FINDINGS,
    IMAGE_FACTS,
    IMAGES,
    SEVERITY_ORDER,
)
from stockade.central.sqlparams import Params
from stockade.model.image import image_to_json

router = APIRouter(tags=["Vulnerability management"])
S = sql.SQL


def _ts(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def image_list_json(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "name": r["name"],
        "os": r["os"],
        "created": _ts(r["created"]),
        "scanTime": _ts(r["scanned_at"]),
        "lastUpdated": _ts(r["last_updated"]),
        "components": r["components_count"],
        "cves": r["cves_count"],
        "fixableCves": r["fixable_cves_count"],
        "topCvss": r["top_cvss"],
        "scanState": r["scan_state"],
        "scanError": r["scan_error"],
        "notes": r["scan_notes"],
        # the product's ImageSignatureVerificationData: one result per signature integration
        "signatureVerificationData": {
            "results": (r.get("signature_verification") or {}).get("results", [])
        },
    }


@router.get("/v1/images", summary="Images (query syntax, pagination)")
async def list_images(
    request: Request, c: CentralDep, ident: Identity = reader("Image")
) -> dict[str, Any]:
    page = await execute.search_page(
        c.db, IMAGES, ident, query_terms(request), pagination(request), S("i.*")
    )
    return {"images": [image_list_json(r) for r in page.rows], "totalCount": page.total}


@router.get("/v1/imagescount", summary="How many images match the query")
async def count_images(
    request: Request, c: CentralDep, ident: Identity = reader("Image")
) -> dict[str, int]:
    return {"count": await execute.count(c.db, IMAGES, ident, query_terms(request))}


async def image_summary(image_id: str, c: Any, ident: Identity) -> dict[str, Any]:
    """The image's list row, if it is in the caller's scope (NotFound otherwise)."""
    terms = [Term("Image SHA", (Value(Op.EXACT, image_id),))]
    page = await execute.search_page(c.db, IMAGES, ident, terms, Pagination(limit=1), S("i.*"))
    if not page.rows:
        raise NotFound(f"image {image_id!r} does not exist")
    return image_list_json(page.rows[0])


@router.get("/v1/images/{image_id:path}", summary="One image: metadata, components, CVEs")
async def get_image(
    image_id: str, c: CentralDep, ident: Identity = reader("Image")
) -> dict[str, Any]:
    summary = await image_summary(image_id, c, ident)
    image = await c.images.load(image_id)
    return {
        **summary,
        **dict(image_to_json(image)),
        "id": summary["id"],
        "name": summary["name"],
    }


_SEV_RANK = S(
    "max(CASE f.severity WHEN 'CRITICAL' THEN 4 WHEN 'IMPORTANT' THEN 3 WHEN 'MODERATE' THEN 2"
    " WHEN 'LOW' THEN 1 ELSE 0 END)"
)
_CVE_COLS = sql.SQL(
    "f.cve_id AS id, {sev} AS sev_rank, max(f.cvss) AS cvss, bool_or(f.fixable) AS fixable,"
    " {images} AS images, max(c.epss) AS epss, bool_or(c.kev) AS kev,"
    " min(c.first_seen_system) AS first_seen, min(c.published) AS published"
)
_CVE_SORT = {
    "cve": S("f.cve_id"),
    "severity": _SEV_RANK,
    "cvss": S("max(f.cvss)"),
    "epss": S("max(c.epss)"),
    "first seen": S("min(c.first_seen_system)"),
}

# Fields that hold for every finding of one CVE in one image alike (the CVE's own facts, its
# state — exceptions match by CVE and image —, the image and where it is used). When a query
# names no other field, counting each image's first finding of the CVE counts each image once
# (migration 0019) without count(DISTINCT); a component or finding-level filter (severity,
# CVSS, fixable) may keep only a later finding, and then images are counted distinct.
_SAME_PER_IMAGE = frozenset(
    name.lower() for name in (*CVE_FACTS, *IMAGE_FACTS, "Vulnerability State")
)
_IMAGES_FIRST = S("count(*) FILTER (WHERE f.first_in_image)")
_IMAGES_DISTINCT = S("count(DISTINCT f.image_id)")


def _grouped_by_cve(terms: list[Term]) -> tuple[sql.Composable, dict[str, sql.Composable]]:
    same = all(t.field.strip().lower() in _SAME_PER_IMAGE for t in terms)
    images = _IMAGES_FIRST if same else _IMAGES_DISTINCT
    return _CVE_COLS.format(sev=_SEV_RANK, images=images), {**_CVE_SORT, "images": images}


def cve_json(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "cve": r["id"],
        "severity": SEVERITY_ORDER[r["sev_rank"]],
        "cvss": r["cvss"],
        "fixable": r["fixable"],
        "affectedImages": r["images"],
        "epss": r["epss"],
        "kev": r["kev"],
        "firstSeen": _ts(r["first_seen"]),
        "published": _ts(r["published"]),
    }


def observed_by_default(terms: list[Term]) -> list[Term]:
    """Findings an approved exception defers or marks false positive are left out unless
    the query asks for a ``Vulnerability State``."""
    if any(t.field.strip().lower() == "vulnerability state" for t in terms):
        return terms
    return [*terms, Term("Vulnerability State", (Value(Op.EXACT, "OBSERVED"),))]


_TOTALS_COLS = _CVE_COLS.format(sev=_SEV_RANK, images=S("sum(f.images)"))
_TOTALS_SORT = {**_CVE_SORT, "images": S("sum(f.images)")}
_OBSERVED = Term("Vulnerability State", (Value(Op.EXACT, "OBSERVED"),))


def _totals_answer(ident: Identity, terms: list[Term]) -> bool:
    """The kept totals give the exact answer when the caller sees every image and the query
    names only CVE-level fields with observed findings (the default). Severity, CVSS and
    fixability then apply to each image's roll-up of the CVE (its highest severity and CVSS,
    fixable if any finding is), which is what a finding-level filter gives too unless one
    image holds the CVE at two severities."""
    if not any(s is None for s in ident.roles.scopes_for("Image", Access.READ_ACCESS)):
        return False
    for t in terms:
        if t.field.strip().lower() == "vulnerability state":
            if t != _OBSERVED:
                return False
        elif CVE_TOTALS.field(t.field) is None:
            return False
    return True


@router.get("/v1/cves", summary="CVEs across images (query syntax, sort, pagination)")
async def list_cves(
    request: Request, c: CentralDep, ident: Identity = reader("Image")
) -> dict[str, Any]:
    terms = observed_by_default(query_terms(request))
    if _totals_answer(ident, terms):
        cve_terms = [t for t in terms if t != _OBSERVED]
        page = await execute.grouped_page(
            c.db,
            CVE_TOTALS,
            ident,
            cve_terms,
            pagination(request),
            _TOTALS_COLS,
            S("f.cve_id"),
            _TOTALS_SORT,
        )
    else:
        columns, sort = _grouped_by_cve(terms)
        page = await execute.grouped_page(
            c.db, FINDINGS, ident, terms, pagination(request), columns, S("f.cve_id"), sort
        )
    return {"cves": [cve_json(r) for r in page.rows], "totalCount": page.total}


@router.get("/v1/cves/{cve_id}", summary="A CVE with every affected image and deployment")
async def get_cve(
    cve_id: str, request: Request, c: CentralDep, ident: Identity = reader("Image")
) -> dict[str, Any]:
    terms = [Term("CVE", (Value(Op.EXACT, cve_id),))]
    cols = S(
        "i.id AS image_id, i.name AS image, ic.name AS component, ic.version AS version,"
        " ic.source AS source, f.severity, f.cvss, f.fixed_by, f.first_seen_image, f.state"
    )
    page = await execute.search_page(c.db, FINDINGS, ident, terms, pagination(request), cols)
    if not page.rows:
        raise NotFound(f"{cve_id} is not found in any image you can see")
    image_ids = sorted({r["image_id"] for r in page.rows})
    async with c.db.connection() as conn:
        info = await (await conn.execute("SELECT * FROM cves WHERE id = %s", (cve_id,))).fetchone()
        deps = await (
            await conn.execute(
                "SELECT DISTINCT d.id, d.name, d.namespace, cl.name AS cluster, di.image_id"
                " FROM deployment_images di JOIN deployments d ON d.id = di.deployment_id"
                " JOIN clusters cl ON cl.id = d.cluster_id WHERE di.image_id = ANY(%s)"
                " ORDER BY cl.name, d.namespace, d.name",
                (image_ids,),
            )
        ).fetchall()
    visible_deps = await _visible_deployments(c, ident, [str(d["id"]) for d in deps])
    assert info is not None
    return {
        "cve": cve_id,
        "severity": info["severity"],
        "cvss": info["cvss"],
        "epss": info["epss"],
        "kev": info["kev"],
        "published": _ts(info["published"]),
        "firstSeen": _ts(info["first_seen_system"]),
        "images": [
            {
                "id": r["image_id"],
                "name": r["image"],
                "component": r["component"],
                "version": r["version"],
                "source": r["source"],
                "severity": r["severity"],
                "cvss": r["cvss"],
                "fixedBy": r["fixed_by"],
                "firstSeenInImage": _ts(r["first_seen_image"]),
            }
            for r in page.rows
        ],
        "deployments": [
            {
                "id": str(d["id"]),
                "name": d["name"],
                "namespace": d["namespace"],
                "cluster": d["cluster"],
                "imageId": d["image_id"],
            }
            for d in deps
            if str(d["id"]) in visible_deps
        ],
    }


async def _visible_deployments(c: Any, ident: Identity, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    terms = [Term("Deployment ID", tuple(Value(Op.EXACT, i) for i in ids))]
    page = await execute.search_page(
        c.db,
        DEPLOYMENTS,
        ident,
        terms,
        Pagination(limit=len(ids)),
        S("d.id::text AS id"),
    )
    return {r["id"] for r in page.rows}


# Every filter but CVE holds for all rows of one kind (name, version, source) in an image
# alike, so counting the image's first row of the kind counts each image once; a CVE filter
# may keep only a later copy, and then the images are counted distinct.
_COMP_IMAGES_ONCE = S("count(*) FILTER (WHERE ic.first_of_kind)")
_COMP_IMAGES_DISTINCT = S("count(DISTINCT ic.image_id)")
_COMP_COLS = S("ic.name AS name, ic.version AS version, ic.source AS source, {} AS images")


def _component_sort(images: sql.Composable) -> dict[str, sql.Composable]:
    return {"component": S("ic.name"), "images": images, "component version": S("ic.version")}


@router.get("/v1/components", summary="Components across images (query syntax, pagination)")
async def list_components(
    request: Request, c: CentralDep, ident: Identity = reader("Image")
) -> dict[str, Any]:
    terms = query_terms(request)
    by_cve = any(t.field.strip().lower() == "cve" for t in terms)
    images = _COMP_IMAGES_DISTINCT if by_cve else _COMP_IMAGES_ONCE
    page = await execute.grouped_page(
        c.db,
        COMPONENTS,
        ident,
        terms,
        pagination(request),
        _COMP_COLS.format(images),
        S("ic.name, ic.version, ic.source"),
        _component_sort(images),
    )
    return {
        "components": [
            {
                "name": r["name"],
                "version": r["version"],
                "source": r["source"],
                "affectedImages": r["images"],
            }
            for r in page.rows
        ],
        "totalCount": page.total,
    }


async def top_critical_fixable_images(c: Any, ident: Identity, limit: int) -> list[dict[str, Any]]:
    """Images (in the caller's scope) with the most critical, fixable, observed CVEs, for the
    dashboard: the per-image counts kept at write time (store/vuln_totals.py), where a CVE
    counts at its highest severity in the image and as fixable when any of its findings is."""
    p = Params()
    scope = execute.where_clause(IMAGES, ident, [], p)
    query = sql.SQL(
        "SELECT i.id, i.name, i.fixable_sev_counts[5] AS n FROM images i"
        " WHERE i.fixable_sev_counts[5] > 0 AND {} ORDER BY n DESC, i.id LIMIT {}"
    ).format(scope, p.add(limit))
    async with c.db.connection() as conn:
        cur = await conn.execute(query, p)
        return [dict(r) for r in await cur.fetchall()]
