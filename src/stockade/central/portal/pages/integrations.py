"""Integrations: the list of image registries and notifiers, and the registry forms (create,
edit, delete, test) through the image integrations API's handlers. A stored password is never
sent back to the browser; a blank password field keeps it while the registry (type, endpoint,
ECR region and registry id) stays the same, and must be entered again when it changes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from stockade.central.api import images as images_api
from stockade.central.api import notifiers as notifiers_api
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
    with_body,
)
from stockade.central.portal.form_routes import add_delete_route, add_save_routes
from stockade.central.portal.notifier_forms import TYPE_LABELS
from stockade.central.store.integrations import MASK, TYPES

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
RESOURCE = "Integration"
BASE = "/main/integrations"
TYPE_LABELS_REGISTRY = {
    "docker": "Docker registry (v2)",
    "quay": "Quay",
    "ghcr": "GitHub Container Registry",
    "gcr": "Google Container Registry",
    "artifactregistry": "Google Artifact Registry",
    "ecr": "Amazon ECR",
    "acr": "Azure Container Registry",
}


@router.get(BASE)
async def integrations(request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE)
    c = central_of(request)
    registries = (await images_api.list_integrations(c))["integrations"]
    notifiers = (await notifiers_api.list_notifiers(c))["notifiers"]
    return render(
        request,
        "integrations.html",
        v,
        registries=[_registry_row(r) for r in registries],
        notifiers=notifiers,
        notifier_types=TYPE_LABELS,
        registry_types=TYPE_LABELS_REGISTRY,
        can_write=v.can(RESOURCE, True),
    )


SECRET_KEYS = ("password", "secretAccessKey", "serviceAccount")  # per type, as the API names them
GOOGLE = ("gcr", "artifactregistry")


def _registry_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    cfg = doc.get(doc["type"]) or {}
    return {
        "id": doc["id"],
        "name": doc["name"],
        "type": doc["type"],
        "endpoint": cfg.get("endpoint", ""),
        # ECR's access key id is its user name
        "username": cfg.get("accessKeyId", cfg.get("username", "")),
        "insecure": bool(cfg.get("insecure")),
        "has_password": any(cfg.get(k) == MASK for k in SECRET_KEYS),
        "region": cfg.get("region", ""),
        "registryId": cfg.get("registryId", ""),
        "useIam": bool(cfg.get("useIam")),
    }


def _registry_doc(kind: str, values: Mapping[str, Any], form: FormData) -> dict[str, Any]:
    """The API's integration JSON; each type names its credentials its own way. Blank
    secrets are sent blank, which the API reads as "keep the stored one"."""
    password = form.get("password")
    secret = password if isinstance(password, str) else ""
    cfg: dict[str, Any] = {"endpoint": values["endpoint"], "insecure": values["insecure"]}
    if kind == "ecr":
        cfg.update(
            region=values["region"],
            registryId=values["registryId"],
            useIam=values["useIam"],
            accessKeyId=values["username"],
            secretAccessKey=secret,
            sessionToken=form_str(form, "sessionToken"),
        )
    else:
        cfg.update(username=values["username"], password=secret)
        if kind in GOOGLE:
            cfg["serviceAccount"] = form_str(form, "serviceAccount")
    return {"name": values["name"], "type": kind, kind: cfg}


def _registry_form(
    request: Request,
    v: Viewer,
    values: Mapping[str, Any],
    integration_id: str | None,
    *,
    errors: Mapping[str, str] | None = None,
    test: Mapping[str, str] | None = None,
    has_password: bool = False,
) -> HTMLResponse:
    failed = bool(errors) or bool(test and not test["ok"])
    return render(
        request,
        "registry_form.html",
        v,
        status=400 if failed else 200,
        integration_id=integration_id,
        values=values,
        errors=errors or {},
        test=test,
        has_password=has_password,
        types=TYPE_LABELS_REGISTRY,
    )


_EMPTY = {
    "name": "",
    "type": "docker",
    "endpoint": "",
    "username": "",
    "insecure": False,
    "region": "",
    "registryId": "",
    "useIam": False,
}


@router.get(BASE + "/registries/new")
async def new_registry(request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE, write=True)
    return _registry_form(request, v, _EMPTY, None)


@router.get(BASE + "/registries/{integration_id}/edit")
async def edit_registry(integration_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, RESOURCE, write=True)
    row = _registry_row(await images_api.get_integration(integration_id, central_of(request)))
    return _registry_form(request, v, row, integration_id, has_password=row["has_password"])


def _field_of(message: str) -> str:
    """Which input an image integration error is about (the store's messages start with the
    field's name)."""
    if message.startswith(("name", "an image integration named")):
        return "name"
    if message.startswith("type"):
        return "type"
    first = message.split(" ", 1)[0]  # "endpoint ...", "quay.endpoint ...", "ecr.region ..."
    for suffix, field in (
        ("endpoint", "endpoint"),
        ("region", "region"),
        ("registryId", "registryId"),
        ("accessKeyId", "username"),
        ("serviceAccount", "serviceAccount"),
        ("password", "password"),
        ("secretAccessKey", "password"),  # ECR's secret is the form's password field
    ):
        if first.endswith(suffix):
            return field
    if "service account" in message:
        return "serviceAccount"
    return "form"


async def _save_registry(request: Request, integration_id: str | None) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, RESOURCE, write=True)
    c = central_of(request)
    kind = form_str(form, "type")
    values = {
        "name": form_str(form, "name"),
        "type": kind,
        "endpoint": form_str(form, "endpoint"),
        "username": form_str(form, "username"),
        "insecure": form_str(form, "insecure") == "true",
        "region": form_str(form, "region"),
        "registryId": form_str(form, "registryId"),
        "useIam": form_str(form, "useIam") == "true",
    }
    has_password = False
    if integration_id is not None:
        has_password = (await c.integrations.get(integration_id)).has_password
    doc = _registry_doc(kind, values, form)
    if kind not in TYPES:
        return _registry_form(
            request, v, values, integration_id, errors={"type": "Choose a registry type."}
        )
    if form_str(form, "action") == "test":
        if integration_id is not None:
            doc["id"] = integration_id
        body = with_body(request, json.dumps(doc).encode())
        try:
            await images_api.test_integration(body, c)
        except BadRequest as exc:
            result = {"ok": "", "message": exc.message}
        else:
            result = {"ok": "yes", "message": "Central reached the registry with these settings."}
        return _registry_form(
            request, v, values, integration_id, test=result, has_password=has_password
        )
    try:
        if integration_id is None:
            await images_api.create_integration(with_body(request, json.dumps(doc).encode()), c)
        else:
            await images_api.update_integration(
                integration_id, with_body(request, json.dumps(doc).encode()), c
            )
    except (BadRequest, Conflict) as exc:
        errors = {_field_of(exc.message): exc.message}
        return _registry_form(
            request, v, values, integration_id, errors=errors, has_password=has_password
        )
    return RedirectResponse(BASE, status_code=303)


add_save_routes(router, BASE + "/registries/new", BASE + "/registries/{key}/edit", _save_registry)
add_delete_route(
    router, BASE + "/registries/{key}/delete", RESOURCE, images_api.delete_integration, BASE
)
