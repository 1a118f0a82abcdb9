"""Collections in the portal: the list, a form to create and edit one (selector boxes,
embedded collections) with "Preview" (the API's dry run: the deployments it would hold that
the viewer may see), and delete, through the collections API's handlers. The API's error is
shown beside the box it names and nothing is saved."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from stockade.central.api import collections as collections_api
from stockade.central.errors import BadRequest, Conflict
from stockade.central.portal import collection_forms
from stockade.central.portal.collection_forms import Draft
from stockade.central.portal.common import (
    PortalRoute,
    Viewer,
    api_request,
    central_of,
    checked_form,
    form_str,
    need,
    render,
    viewer,
    with_body,
)
from stockade.central.portal.form_routes import add_save_routes
from stockade.central.reports.errors import InvalidReport

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
RESOURCE = collections_api.RESOURCE
BASE = "/main/collections"
PREVIEW_LIMIT = 100


@router.get(BASE)
async def collections(request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE)
    return await _list(request, v)


async def _list(request: Request, v: Viewer, refused: str = "") -> HTMLResponse:
    listed = (await collections_api.list_collections(central_of(request)))["collections"]
    names = {c["id"]: c["name"] for c in listed}
    rows = [
        {
            "id": c["id"],
            "name": c["name"],
            "description": c["description"],
            "selectors": collection_forms.summary(c),
            "embedded": [names.get(e["id"], e["id"]) for e in c["embeddedCollections"]],
        }
        for c in listed
    ]
    return render(
        request,
        "collections.html",
        v,
        status=409 if refused else 200,
        rows=rows,
        refused=refused,
        can_write=v.can(RESOURCE, True),
    )


async def _form(
    request: Request,
    v: Viewer,
    draft: Draft,
    collection_id: str | None,
    *,
    errors: dict[str, str] | None = None,
    preview: list[dict[str, Any]] | None = None,
) -> HTMLResponse:
    others = [
        c
        for c in (await collections_api.list_collections(central_of(request)))["collections"]
        if c["id"] != collection_id
    ]
    return render(
        request,
        "collection_form.html",
        v,
        status=400 if errors else 200,
        draft=draft,
        collection_id=collection_id,
        errors=errors or {},
        preview=preview,
        preview_limit=PREVIEW_LIMIT,
        others=others,
        levels=collection_forms.LEVELS,
        ways=collection_forms.WAY_LABELS,
        box=collection_forms.box,
        locked=(
            collection_forms.summary({"resourceSelectors": draft.locked_selectors})
            if draft.locked_selectors is not None
            else None
        ),
    )


@router.get(BASE + "/new")
async def new_collection(request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE, write=True)
    return await _form(request, v, Draft(), None)


@router.get(BASE + "/{collection_id}/edit")
async def edit_collection(collection_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE, write=True)
    stored = await collections_api.get_collection(collection_id, central_of(request))
    return await _form(
        request, v, collection_forms.from_stored(stored["collection"]), collection_id
    )


def _error(draft: Draft, exc: BadRequest | Conflict) -> dict[str, str]:
    if isinstance(exc, InvalidReport):
        return {draft.error_field(exc.field): exc.message}
    if isinstance(exc, Conflict) and "named" in exc.message:
        return {"name": exc.message}
    return {"form": exc.message}


async def _save(request: Request, collection_id: str | None) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, RESOURCE, write=True)
    c = central_of(request)
    stored = (
        (await collections_api.get_collection(collection_id, c))["collection"]
        if collection_id
        else None
    )
    draft = collection_forms.from_form(form, stored)
    body = json.dumps(draft.document()).encode()
    if form_str(form, "action") == "preview":
        page = api_request(request, {"pagination.limit": str(PREVIEW_LIMIT)})
        try:
            found = await collections_api.dryrun(with_body(page, body), c, v.identity)
        except BadRequest as exc:
            return await _form(request, v, draft, collection_id, errors=_error(draft, exc))
        return await _form(request, v, draft, collection_id, preview=found["deployments"])
    try:
        if collection_id is None:
            await collections_api.create_collection(with_body(request, body), c, v.identity)
        else:
            await collections_api.update_collection(
                collection_id, with_body(request, body), c, v.identity
            )
    except (BadRequest, Conflict) as exc:
        return await _form(request, v, draft, collection_id, errors=_error(draft, exc))
    return RedirectResponse(BASE, status_code=303)


@router.post(BASE + "/{collection_id}/delete")
async def delete_collection(collection_id: str, request: Request) -> Response:
    v = await viewer(request)
    await checked_form(request, v)
    await need(v, RESOURCE, write=True)
    try:
        await collections_api.delete_collection(collection_id, central_of(request))
    except Conflict as exc:  # a report or another collection uses it: say so on the list
        return await _list(request, v, exc.message)
    return RedirectResponse(BASE, status_code=303)


add_save_routes(router, BASE + "/new", BASE + "/{key}/edit", _save)
