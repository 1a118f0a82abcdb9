"""Policies (resource ``WorkflowAdministration``) in the product's JSON format."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from psycopg import sql
from pydantic import BaseModel, Field

from stockade.central.api.deps import CentralDep, reader, writer
from stockade.central.api.listing import pagination, query_terms
from stockade.central.auth.identity import Identity
from stockade.central.errors import BadRequest, CentralError
from stockade.central.runtime import Central
from stockade.central.search import execute
from stockade.central.search.resources import POLICIES
from stockade.central.store.policies import parse
from stockade.policy import Policy, policy_to_json
from stockade.policy.model import Exclusion

router = APIRouter(tags=["Policies"])
RESOURCE = "WorkflowAdministration"


def _ts(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def list_json(row: dict[str, Any]) -> dict[str, Any]:
    doc = row["doc"]
    return {
        "id": row["id"],
        "name": row["name"],
        "description": doc.get("description", ""),
        "severity": row["severity"],
        "disabled": row["disabled"],
        "lifecycleStages": row["lifecycle_stages"],
        "categories": row["categories"],
        "notifiers": doc.get("notifiers", []),
        "lastUpdated": _ts(row["updated_at"]),
        "eventSource": doc.get("eventSource", "NOT_APPLICABLE"),
        "isDefault": row["is_default"],
        "enforcementActions": doc.get("enforcementActions", []),
    }


_COLS = sql.SQL(
    "p.id, p.name, p.doc, p.severity, p.disabled, p.lifecycle_stages, p.categories,"
    " p.updated_at, p.is_default"
)


@router.get("/v1/policies", summary="List policies (query syntax, pagination)")
async def list_policies(
    request: Request, c: CentralDep, ident: Identity = reader(RESOURCE)
) -> dict[str, Any]:
    page = await execute.search_page(
        c.db, POLICIES, ident, query_terms(request), pagination(request), _COLS
    )
    return {"policies": [list_json(r) for r in page.rows], "totalCount": page.total}


@router.get("/v1/policies/{policy_id}", dependencies=[reader(RESOURCE)])
async def get_policy(policy_id: str, c: CentralDep) -> dict[str, Any]:
    return dict(policy_to_json(await c.policies.get(policy_id)))


@router.post("/v1/policies", dependencies=[writer(RESOURCE)], summary="Create a policy")
async def create_policy(request: Request, c: CentralDep) -> dict[str, Any]:
    doc = await _json_body(request)
    stored = await c.policies.create(parse(doc))
    c.policies_changed([stored.id])  # in the background; the answer does not wait
    return dict(policy_to_json(stored))


@router.put("/v1/policies/{policy_id}", dependencies=[writer(RESOURCE)])
async def update_policy(policy_id: str, request: Request, c: CentralDep) -> dict[str, Any]:
    doc = await _json_body(request)
    await c.policies.update(policy_id, parse(doc))
    c.policies_changed([policy_id])
    return {}


class PatchBody(BaseModel):
    disabled: bool


@router.patch(
    "/v1/policies/{policy_id}",
    dependencies=[writer(RESOURCE)],
    summary="Enable or disable a policy",
)
async def patch_policy(policy_id: str, body: PatchBody, c: CentralDep) -> dict[str, Any]:
    await c.policies.set_disabled(policy_id, body.disabled)
    if body.disabled:
        await c.alerts.policy_withdrawn(policy_id)
    else:
        c.policies_changed([policy_id])
    return {}


async def add_exclusion(policy_id: str, exclusion: Exclusion, c: Central) -> Policy:
    """The policy with ``exclusion`` added (once), validated and stored like an update; the
    caller schedules the re-evaluation (``Central.policies_changed``) when its own work is
    done."""

    def added(policy: Policy) -> Policy:
        if exclusion in policy.exclusions:
            return policy
        return replace(policy, exclusions=(*policy.exclusions, exclusion))

    return await c.policies.modify(policy_id, added)


@router.delete("/v1/policies/{policy_id}", dependencies=[writer(RESOURCE)])
async def delete_policy(policy_id: str, c: CentralDep) -> dict[str, Any]:
    await c.policies.delete(policy_id)
    await c.alerts.policy_withdrawn(policy_id)
    return {}


class ExportBody(BaseModel):
    policyIds: list[str] = Field(default_factory=list)


@router.post(
    "/v1/policies/export",
    dependencies=[reader(RESOURCE)],
    summary="Export policies as the product's JSON",
)
async def export_policies(body: ExportBody, c: CentralDep) -> dict[str, Any]:
    if body.policyIds:
        chosen = [await c.policies.get(pid) for pid in body.policyIds]
    else:
        chosen = await c.policies.all()
    return {"policies": [policy_to_json(p) for p in chosen]}


@router.post(
    "/v1/policies/import",
    dependencies=[writer(RESOURCE)],
    summary="Import policies; each succeeds or fails on its own",
)
async def import_policies(request: Request, c: CentralDep) -> dict[str, Any]:
    doc = await _json_body(request)
    if not isinstance(doc, dict) or not isinstance(doc.get("policies"), list):
        raise BadRequest('the body must be {"policies": [...], "metadata": {"overwrite": bool}}')
    overwrite = bool((doc.get("metadata") or {}).get("overwrite", False))
    responses = []
    imported: list[str] = []
    all_ok = True
    for i, raw in enumerate(doc["policies"]):
        name = raw.get("name", "") if isinstance(raw, dict) else ""
        try:
            stored: Policy = await c.policies.create(
                parse(raw, f"policies[{i}]"), overwrite=overwrite
            )
        except CentralError as exc:
            all_ok = False
            responses.append(
                {
                    "succeeded": False,
                    "policy": {"name": name},
                    "errors": [
                        {
                            "message": exc.message,
                            "type": "duplicate" if exc.status == 409 else "invalid_policy",
                        }
                    ],
                }
            )
            continue
        responses.append({"succeeded": True, "policy": policy_to_json(stored), "errors": []})
        imported.append(stored.id)
    c.policies_changed(imported)
    return {"responses": responses, "allSucceeded": all_ok}


@router.post(
    "/v1/policies/dryrun",
    dependencies=[reader(RESOURCE)],
    summary="Which known deployments a policy would flag",
)
async def dry_run(request: Request, c: CentralDep) -> dict[str, Any]:
    from stockade.central.store.policies import validate  # noqa: PLC0415

    validate(parse(await _json_body(request)))
    # Central learns deployments from Sensors (a later version); none are known to check yet.
    return {"alerts": []}


@router.get("/v1/policycategories", dependencies=[reader(RESOURCE)])
async def categories(c: CentralDep) -> dict[str, Any]:
    async with c.db.connection() as conn:
        cur = await conn.execute("SELECT id, name, is_default FROM policy_categories ORDER BY name")
        rows = await cur.fetchall()
    return {
        "categories": [
            {"id": r["id"], "name": r["name"], "isDefault": r["is_default"]} for r in rows
        ]
    }


async def _json_body(request: Request) -> Any:
    import json  # noqa: PLC0415

    raw = await request.body()
    if len(raw) > 5 * 1024 * 1024:
        raise BadRequest("the request body is larger than 5 MiB")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"the request body is not valid JSON ({exc})") from exc
