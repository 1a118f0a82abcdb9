"""Signature integrations in the portal: the list (each key with its kind), one form to add or
edit an integration (its name and any number of named PEM public keys, rows added and removed
by posting the form back, without JavaScript), delete, and "Test" against an image. Everything
goes through the signature integrations API's handlers, so validation, permissions, audit and
re-verification are the API's; an error is shown beside the input it names and nothing is
saved."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

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
from stockade.central.portal.form_routes import add_delete_route, add_save_routes
from stockade.central.signatures import VERIFIED
from stockade.central.store.signatures import MAX_KEYS
from stockade.scanner.indexer.cosign import InvalidPublicKey, describe_key, load_public_key

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
RESOURCE = "Integration"
BASE = "/main/integrations/signatures"
_ROW_FIELD = re.compile(r"^(?:key_name|pem)_(\d{1,3})$")
_API_KEY = re.compile(r"^cosign\.publicKeys\[(\d+)\]")
TEST_FAILED = "signature test failed: "


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
    request: Request,
    v: Viewer,
    values: Mapping[str, Any],
    integration_id: str | None,
    *,
    errors: Mapping[str, str] | None = None,
    test: Mapping[str, str] | None = None,
) -> HTMLResponse:
    failed = bool(errors) or bool(test and not test["ok"])
    return render(
        request,
        "signature_integration_form.html",
        v,
        status=400 if failed else 200,
        integration_id=integration_id,
        values=values,
        errors=errors or {},
        test=test,
        max_keys=MAX_KEYS,
    )


def _blank(image_name: str = "") -> dict[str, Any]:
    return {"name": "", "keys": [{"name": "", "pem": ""}], "image_name": image_name}


def _posted(form: FormData) -> dict[str, Any]:
    """The form's values: key rows in the order of their indexes (gaps allowed, a row's
    index is its position on the page the form came from)."""
    indexes = sorted({int(m.group(1)) for k in form if (m := _ROW_FIELD.match(k))})
    keys = [
        {"name": form_str(form, f"key_name_{i}"), "pem": form_str(form, f"pem_{i}")}
        for i in indexes[: MAX_KEYS + 1]
    ]
    return {"name": form_str(form, "name"), "keys": keys, "image_name": form_str(form, "image")}


def _doc(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """The API's integration JSON, and for each key sent the row it came from (rows left
    entirely blank are not sent)."""
    rows = [i for i, k in enumerate(values["keys"]) if k["name"] or k["pem"]]
    keys = [
        {"name": values["keys"][i]["name"], "publicKeyPemEnc": values["keys"][i]["pem"]}
        for i in rows
    ]
    return {"name": values["name"], "cosign": {"publicKeys": keys}}, rows


def _field_of(message: str, rows: list[int], row_count: int) -> str:
    """The input an API error is about: its messages start with the field's name, and a key's
    with its index in the list sent."""
    if message.startswith(("name", "a signature integration named")):
        return "name"
    if message.startswith("imageName"):
        return "image"
    m = _API_KEY.match(message)
    if m and int(m.group(1)) < len(rows):
        row = rows[int(m.group(1))]
        naming = "needs a name" in message or "the same name" in message
        return f"key_name_{row}" if naming else f"pem_{row}"
    if message.startswith("at least one public key") and row_count:
        return "pem_0"
    return "form"


@router.get(BASE + "/new")
async def new_signature_integration(request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE, write=True)
    return _form(request, v, _blank(), None)


@router.get(BASE + "/{integration_id}/edit")
async def edit_signature_integration(integration_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE, write=True)
    stored = await central_of(request).signature_integrations.get(integration_id)
    values = {
        "name": stored.name,
        "keys": [{"name": k.name, "pem": k.pem.strip()} for k in stored.public_keys],
        "image_name": "",
    }
    return _form(request, v, values, integration_id)


def _test_result(result: Mapping[str, Any]) -> dict[str, str]:
    if result["status"] == VERIFIED:
        return {"ok": "yes", "message": f"verified. {result['description']}"}
    return {"ok": "", "message": f"not verified ({result['status']}). {result['description']}"}


async def _save(request: Request, integration_id: str | None) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, RESOURCE, write=True)
    c = central_of(request)
    if integration_id is not None:
        await c.signature_integrations.get(integration_id)  # a clear 404 for a stale page
    values = _posted(form)
    action = form_str(form, "action")
    if action == "add_key":
        if len(values["keys"]) < MAX_KEYS:
            values["keys"].append({"name": "", "pem": ""})
        return _form(request, v, values, integration_id)
    if action.startswith("remove_key:"):
        index = action.removeprefix("remove_key:")
        if index.isdigit() and int(index) < len(values["keys"]):
            del values["keys"][int(index)]
        return _form(request, v, values, integration_id)
    doc, rows = _doc(values)
    try:
        if action == "test":
            if integration_id is not None:
                doc["id"] = integration_id
            result = await signatures_api.test(
                c, {"signatureIntegration": doc, "imageName": values["image_name"]}
            )
            return _form(request, v, values, integration_id, test=_test_result(result))
        if integration_id is None:
            await signatures_api.create(c, doc)
        else:
            await signatures_api.update(c, integration_id, doc)
    except (BadRequest, Conflict) as exc:
        if exc.message.startswith(TEST_FAILED):
            test = {"ok": "", "message": exc.message.removeprefix(TEST_FAILED)}
            return _form(request, v, values, integration_id, test=test)
        field = _field_of(exc.message, rows, len(values["keys"]))
        return _form(request, v, values, integration_id, errors={field: exc.message})
    return RedirectResponse(BASE, status_code=303)


add_save_routes(router, BASE + "/new", BASE + "/{key}/edit", _save)
add_delete_route(
    router, BASE + "/{key}/delete", RESOURCE, signatures_api.delete_signature_integration, BASE
)
