"""Notifiers (resource ``Integration``) in the product's JSON shape, secrets masked.

Stockade's additions beside the product's routes: ``GET /v1/notifiers/{id}/deliveries``
(the queue for one notifier: counts per state and recent rows with their last error) and
``POST /v1/notifiers/{id}/deliveries/retry`` (put FAILED ones back in the queue).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from stockade.central.api.deps import CentralDep, reader, writer
from stockade.central.api.listing import json_body as _body
from stockade.central.errors import BadRequest
from stockade.central.notifiers.queue import STATES

router = APIRouter(tags=["Notifiers"])
RESOURCE = "Integration"


def _update_request(body: Any) -> tuple[Any, bool]:
    """The product's UpdateNotifierRequest: ``{"notifier": {...}, "updatePassword": bool}``."""
    if not isinstance(body, dict) or not isinstance(body.get("notifier"), dict):
        raise BadRequest('the body must be {"notifier": {...}, "updatePassword": true|false}')
    update = body.get("updatePassword", False)
    if not isinstance(update, bool):
        raise BadRequest("updatePassword must be true or false")
    return body["notifier"], update


@router.get("/v1/notifiers", dependencies=[reader(RESOURCE)], summary="List notifiers")
async def list_notifiers(c: CentralDep) -> dict[str, Any]:
    return {"notifiers": [n.to_json() for n in await c.notifications.store.all()]}


@router.get("/v1/notifiers/{notifier_id}", dependencies=[reader(RESOURCE)])
async def get_notifier(notifier_id: str, c: CentralDep) -> dict[str, Any]:
    return (await c.notifications.store.get(notifier_id, strict=False)).to_json()


@router.post("/v1/notifiers", dependencies=[writer(RESOURCE)], summary="Create a notifier")
async def create_notifier(request: Request, c: CentralDep) -> dict[str, Any]:
    return (await c.notifications.store.create(await _body(request))).to_json()


@router.put(
    "/v1/notifiers/{notifier_id}",
    dependencies=[writer(RESOURCE)],
    summary="Replace a notifier; a secret given as ****** keeps its stored value",
)
async def put_notifier(notifier_id: str, request: Request, c: CentralDep) -> dict[str, Any]:
    await c.notifications.store.update(notifier_id, await _body(request), keep_all_secrets=False)
    return {}


@router.patch(
    "/v1/notifiers/{notifier_id}",
    dependencies=[writer(RESOURCE)],
    summary="Update a notifier; updatePassword false keeps every stored secret",
)
async def patch_notifier(notifier_id: str, request: Request, c: CentralDep) -> dict[str, Any]:
    doc, update_password = _update_request(await _body(request))
    await c.notifications.store.update(notifier_id, doc, keep_all_secrets=not update_password)
    return {}


@router.delete("/v1/notifiers/{notifier_id}", dependencies=[writer(RESOURCE)])
async def delete_notifier(notifier_id: str, c: CentralDep, force: bool = False) -> dict[str, Any]:
    await c.notifications.store.delete(notifier_id, force=force)
    return {}


@router.post(
    "/v1/notifiers/test",
    dependencies=[writer(RESOURCE)],
    summary="Send a test notification with a notifier that is not saved",
)
async def test_notifier(request: Request, c: CentralDep) -> dict[str, Any]:
    await c.notifications.test(await _body(request))
    return {}


@router.post(
    "/v1/notifiers/test/updated",
    dependencies=[writer(RESOURCE)],
    summary="Test a changed notifier, with its stored secrets unless updatePassword",
)
async def test_updated_notifier(request: Request, c: CentralDep) -> dict[str, Any]:
    doc, update_password = _update_request(await _body(request))
    notifier_id = doc.get("id")
    if isinstance(notifier_id, str) and notifier_id:
        parsed = await c.notifications.store.prepare_update(
            notifier_id, doc, keep_all_secrets=not update_password
        )
        await c.notifications.test(parsed.doc, notifier_id)
    else:
        await c.notifications.test(doc)
    return {}


@router.get(
    "/v1/notifiers/{notifier_id}/deliveries",
    dependencies=[reader(RESOURCE)],
    summary="A notifier's queued, delivered and failed notifications",
)
async def deliveries(
    notifier_id: str, c: CentralDep, state: str | None = None, limit: int = 100
) -> dict[str, Any]:
    await c.notifications.store.get(notifier_id, strict=False)
    if state is not None and state.upper() not in STATES:
        raise BadRequest(f"state must be one of {', '.join(STATES)}")
    if not 1 <= limit <= 1000:
        raise BadRequest("limit must be from 1 to 1000")
    counts, rows = await c.notifications.deliveries(
        notifier_id, state.upper() if state else None, limit
    )
    return {"counts": counts, "deliveries": [d.to_json() for d in rows]}


@router.post(
    "/v1/notifiers/{notifier_id}/deliveries/retry",
    dependencies=[writer(RESOURCE)],
    summary="Queue a notifier's failed notifications again",
)
async def retry_failed(notifier_id: str, c: CentralDep) -> dict[str, Any]:
    await c.notifications.store.get(notifier_id, strict=False)
    return {"requeued": await c.notifications.retry_failed(notifier_id)}


@router.get(
    "/v1/integrationhealth/notifiers",
    dependencies=[reader(RESOURCE)],
    summary="Each notifier's last delivery result",
)
async def notifier_health(c: CentralDep) -> dict[str, Any]:
    out = []
    for n in await c.notifications.store.all():
        out.append(
            {
                "id": n.id,
                "name": n.name,
                "type": "NOTIFIER",
                "status": n.health_status,
                "errorMessage": n.health_error,
                "lastTimestamp": n.health_at.isoformat().replace("+00:00", "Z")
                if n.health_at
                else None,
            }
        )
    return {"integrationHealth": out}
