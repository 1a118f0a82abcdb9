"""Signature integrations in the portal: the list (each key with its kind), a form to add one
(name, key name, PEM public key) and delete, through the signature integrations API's
handlers, so validation, permissions, audit and re-verification are the API's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from stockade.central.api import signatures as signatures_api
from stockade.central.errors import BadRequest, Conflict
from stockade.central.portal.common import (
    PortalRoute,
    Viewer,
    central_of,
    checked_form,
    form_str,
    need,
    render,
    viewer,
)
from stockade.central.portal.form_routes import add_delete_route
from stockade.scanner.indexer.cosign import InvalidPublicKey, describe_key, load_public_key

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
RESOURCE = "Integration"
BASE = "/main/integrations/signatures"


def _key_kind(pem: str) -> str:
    try:
        return describe_key(load_public_key(pem, "key"))
    except InvalidPublicKey:
        return "unreadable"


@router.get(BASE)
async def signature_integrations(request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE)
    listed = await central_of(request).signature_integrations.list()
    rows = [
        {
            "id": i.id,
            "name": i.name,
            "public_keys": [{"name": k.name, "kind": _key_kind(k.pem)} for k in i.public_keys],
        }
        for i in listed
    ]
    return render(
        request, "signature_integrations.html", v, rows=rows, can_write=v.can(RESOURCE, True)
    )


def _form(
    request: Request, v: Viewer, values: dict[str, str], errors: dict[str, str] | None = None
) -> HTMLResponse:
    return render(
        request,
        "signature_integration_form.html",
        v,
        status=400 if errors else 200,
        values=values,
        errors=errors or {},
    )


def _field_of(message: str) -> str:
    """Which input an API error is about (its messages start with the field's name)."""
    if message.startswith(("name", "a signature integration named")):
        return "name"
    if message.startswith("cosign.publicKeys[0]") and "needs a name" in message:
        return "key_name"
    if message.startswith(("cosign.publicKeys", "at least one public key")):
        return "pem"
    return "form"


@router.get(BASE + "/new")
async def new_signature_integration(request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE, write=True)
    return _form(request, v, {"name": "", "key_name": "", "pem": ""})


@router.post(BASE + "/new")
async def create_signature_integration(request: Request) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, RESOURCE, write=True)
    values = {k: form_str(form, k) for k in ("name", "key_name", "pem")}
    doc: dict[str, Any] = {
        "name": values["name"],
        "cosign": {"publicKeys": [{"name": values["key_name"], "publicKeyPemEnc": values["pem"]}]},
    }
    try:
        await signatures_api.create(central_of(request), doc)
    except (BadRequest, Conflict) as exc:
        return _form(request, v, values, {_field_of(exc.message): exc.message})
    return RedirectResponse(BASE, status_code=303)


add_delete_route(
    router, BASE + "/{key}/delete", RESOURCE, signatures_api.delete_signature_integration, BASE
)
