"""Notifier forms: create, edit, delete and test a notifier of each type the API supports,
through the notifiers API's handlers. The API's validation error is shown beside the field it
names and nothing is saved; stored secrets are never shown and a blank secret keeps them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from stockade.central.api import notifiers as notifiers_api
from stockade.central.errors import CentralError, NotFound
from stockade.central.notifiers.base import DeliveryFailed, InvalidNotifier
from stockade.central.portal import notifier_forms
from stockade.central.portal.common import (
    PortalRoute,
    Viewer,
    central_of,
    checked_form,
    form_str,
    need,
    render,
    viewer,
    with_body,
)
from stockade.central.portal.form_routes import add_delete_route, add_save_routes
from stockade.central.portal.pages.integrations import BASE, RESOURCE
from stockade.central.runtime import Central

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
NOTIFIERS = BASE + "/notifiers"


def _form(
    request: Request,
    v: Viewer,
    kind: str,
    values: Mapping[str, Any],
    notifier_id: str | None,
    *,
    stored: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    test: Mapping[str, str] | None = None,
) -> HTMLResponse:
    failed = bool(errors) or bool(test and not test["ok"])
    fields = notifier_forms.FIELDS[kind]
    return render(
        request,
        "notifier_form.html",
        v,
        status=400 if failed else 200,
        kind=kind,
        kind_label=notifier_forms.TYPE_LABELS[kind],
        fields=fields,
        values=values,
        notifier_id=notifier_id,
        stored_secrets={
            f.path
            for f in fields
            if f.kind == "secret" and stored and notifier_forms.has_secret(stored, f.path)
        },
        errors=errors or {},
        test=test,
    )


def _kind(raw: str) -> str:
    if raw not in notifier_forms.FIELDS:
        raise NotFound(f"no notifier type {raw!r}; use one of {', '.join(notifier_forms.FIELDS)}")
    return raw


@router.get(NOTIFIERS + "/new")
async def new_notifier(request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE, write=True)
    kind = _kind(request.query_params.get("type", ""))
    return _form(request, v, kind, notifier_forms.form_values(kind, {}), None)


async def _stored(request: Request, notifier_id: str) -> dict[str, Any]:
    return await notifiers_api.get_notifier(notifier_id, central_of(request))


@router.get(NOTIFIERS + "/{notifier_id}/edit")
async def edit_notifier(notifier_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE, write=True)
    stored = await _stored(request, notifier_id)
    kind = _kind(stored["type"])
    values = notifier_forms.form_values(kind, stored)
    return _form(request, v, kind, values, notifier_id, stored=stored)


def _error_field(kind: str, exc: CentralError, shown: Mapping[str, Any]) -> str:
    """The input an API error belongs beside: the field (or key/value row input) it names,
    else the form."""
    paths = {f.path for f in notifier_forms.FIELDS[kind]}
    for f in notifier_forms.FIELDS[kind]:
        if f.kind in notifier_forms.PAIRS:
            for i in range(len(shown.get(f.path, []))):
                paths.update((f"{f.path}.{i}.key", f"{f.path}.{i}.value", f"{f.path}.{i}"))
    if isinstance(exc, InvalidNotifier) and notifier_forms.form_path(exc.field) in paths:
        return notifier_forms.form_path(exc.field)
    if "named" in exc.message or exc.message.startswith("name"):
        return "name"
    return "form"


async def _save(request: Request, notifier_id: str | None) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, RESOURCE, write=True)
    c = central_of(request)
    stored = await _stored(request, notifier_id) if notifier_id else None
    kind = _kind(stored["type"] if stored else form_str(form, "type"))
    doc, shown = notifier_forms.document(kind, form, stored)

    def again(**extra: Any) -> HTMLResponse:
        return _form(request, v, kind, shown, notifier_id, stored=stored, **extra)

    action = form_str(form, "action")
    if notifier_forms.edit_rows(kind, shown, action):
        return again()  # a row added or removed: nothing sent to the API
    if action == "test":
        try:
            if notifier_id is None:
                await notifiers_api.test_notifier(with_body(request, json.dumps(doc).encode()), c)
            else:
                body = {"notifier": doc, "updatePassword": True}  # ****** keeps a secret
                await notifiers_api.test_updated_notifier(
                    with_body(request, json.dumps(body).encode()), c
                )
        except InvalidNotifier as exc:
            return again(errors={_error_field(kind, exc, shown): exc.message})
        except (DeliveryFailed, CentralError) as exc:
            return again(test={"ok": "", "message": exc.message})
        return again(test={"ok": "yes", "message": "The test notification was delivered."})
    try:
        if notifier_id is None:
            await notifiers_api.create_notifier(with_body(request, json.dumps(doc).encode()), c)
        else:
            await notifiers_api.put_notifier(
                notifier_id, with_body(request, json.dumps(doc).encode()), c
            )
    except CentralError as exc:
        if exc.status >= 500:
            raise
        return again(errors={_error_field(kind, exc, shown): exc.message})
    return RedirectResponse(BASE, status_code=303)


async def _delete(notifier_id: str, c: Central) -> None:
    # not forced: a notifier that policies still name is refused with the API's message
    await notifiers_api.delete_notifier(notifier_id, c, force=False)


add_save_routes(router, NOTIFIERS + "/new", NOTIFIERS + "/{key}/edit", _save)
add_delete_route(router, NOTIFIERS + "/{key}/delete", RESOURCE, _delete, BASE)
