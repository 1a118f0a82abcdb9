"""Access control: API tokens (generate — the token is shown once —, list, revoke), roles,
permission sets and access scopes (list, view, create, edit, delete), all through the API's
handlers with the session's identity. Built-in entries are shown read-only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from stockade.central.api import access as access_api
from stockade.central.api import apitokens as tokens_api
from stockade.central.auth.model import RESOURCES, Access
from stockade.central.errors import BadRequest, CentralError, Conflict
from stockade.central.portal import scope_rules
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

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
BASE = "/main/access"
ACCESS = "Access"
TOKENS = "Integration"  # the API guards tokens with the Integration resource
LIFETIMES = {"7": "7 days", "30": "30 days", "90": "90 days", "365": "One year"}
LEVELS = tuple(a.name for a in Access)


def _page(
    request: Request, v: Viewer, template: str, status: int = 200, **ctx: Any
) -> HTMLResponse:
    return render(
        request,
        template,
        v,
        status,
        can_tokens=v.can(TOKENS),
        can_access=v.can(ACCESS),
        can_write=v.can(ACCESS, True),
        **ctx,
    )


def _entry_form(
    request: Request,
    v: Viewer,
    template: str,
    values: Mapping[str, Any],
    key: str | None,
    errors: Mapping[str, str] | None,
    **extra: Any,
) -> HTMLResponse:
    """One role, permission set or access scope: ``key`` None for a new one."""
    return _page(
        request,
        v,
        template,
        400 if errors else 200,
        entry_key=key,
        values=values,
        errors=errors or {},
        **extra,
    )


@router.get(BASE)
async def access_home(request: Request) -> Response:
    v = await viewer(request)
    target = "/tokens" if v.can(TOKENS) else "/roles"
    return RedirectResponse(BASE + target, status_code=303)


# ---- API tokens ---------------------------------------------------------------------------


async def _tokens_page(
    request: Request,
    v: Viewer,
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    issued: Mapping[str, Any] | None = None,
) -> HTMLResponse:
    await need(v, TOKENS)
    c = central_of(request)
    listed = (await tokens_api.list_tokens(c, None))["tokens"]
    allowed: list[str] = []
    if v.can(TOKENS, True):
        allowed = (await tokens_api.allowed_roles(c, v.identity))["roleNames"]
    return _page(
        request,
        v,
        "access_tokens.html",
        400 if errors else 200,
        tokens=sorted(listed, key=lambda t: (t["revoked"], t["name"])),
        allowed_roles=allowed,
        can_generate=v.can(TOKENS, True),
        lifetimes=LIFETIMES,
        values=values or {"name": "", "roles": [], "lifetime": "30"},
        errors=errors or {},
        issued=issued,
    )


@router.get(BASE + "/tokens")
async def token_list(request: Request) -> Response:
    v = await viewer(request)
    return await _tokens_page(request, v)


@router.post(BASE + "/tokens")
async def generate_token(request: Request) -> Response:
    """The new token is in this response's page only: never in a URL, a log or the DB."""
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, TOKENS, write=True)
    name, lifetime = form_str(form, "name"), form_str(form, "lifetime")
    roles = [r for r in form.getlist("roles") if isinstance(r, str)]
    values = {"name": name, "roles": roles, "lifetime": lifetime}
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Give the token a name that says who or what uses it."
    if not roles:
        errors["roles"] = "Choose at least one role."
    if lifetime not in LIFETIMES:
        errors["lifetime"] = "Choose how long the token lasts."
    if errors:
        return await _tokens_page(request, v, values=values, errors=errors)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=int(lifetime))
    body = tokens_api.GenerateTokenRequest(name=name, roles=roles, expiration=expires)
    try:
        issued = await tokens_api.generate(body, central_of(request), v.identity)
    except CentralError as exc:
        if exc.status >= 500:
            raise
        return await _tokens_page(request, v, values=values, errors={"roles": exc.message})
    return await _tokens_page(request, v, issued=issued)


@router.post(BASE + "/tokens/{token_id}/revoke")
async def revoke_token(token_id: str, request: Request) -> Response:
    v = await viewer(request)
    await checked_form(request, v)
    await need(v, TOKENS, write=True)
    await tokens_api.revoke(token_id, central_of(request))
    return RedirectResponse(BASE + "/tokens", status_code=303)


# ---- roles, permission sets, access scopes: lists -----------------------------------------


@router.get(BASE + "/roles")
async def role_list(request: Request) -> Response:
    v = await viewer(request)
    await need(v, ACCESS)
    roles = (await access_api.list_roles(central_of(request)))["roles"]
    return _page(request, v, "access_list.html", kind="roles", entries=roles)


@router.get(BASE + "/permission-sets")
async def permission_set_list(request: Request) -> Response:
    v = await viewer(request)
    await need(v, ACCESS)
    sets = (await access_api.list_permission_sets(central_of(request)))["permissionSets"]
    return _page(request, v, "access_list.html", kind="permission-sets", entries=sets)


@router.get(BASE + "/scopes")
async def scope_list(request: Request) -> Response:
    v = await viewer(request)
    await need(v, ACCESS)
    scopes = (await access_api.list_scopes(central_of(request)))["accessScopes"]
    return _page(request, v, "access_list.html", kind="scopes", entries=scopes)


# ---- one role ------------------------------------------------------------------------------


async def _role_form(
    request: Request,
    v: Viewer,
    values: Mapping[str, Any],
    name: str | None,
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    c = central_of(request)
    sets = (await access_api.list_permission_sets(c))["permissionSets"]
    scopes = (await access_api.list_scopes(c))["accessScopes"]
    return _entry_form(
        request,
        v,
        "access_role.html",
        values,
        name,
        errors,
        permission_sets=[(s["id"], s["name"]) for s in sets],
        scopes=[(s["id"], s["name"]) for s in scopes],
    )


@router.get(BASE + "/roles/new")
async def new_role(request: Request) -> Response:
    v = await viewer(request)
    await need(v, ACCESS, write=True)
    values = {"name": "", "description": "", "permissionSetId": "", "accessScopeId": ""}
    return await _role_form(request, v, values, None)


@router.get(BASE + "/roles/{name}")
async def view_role(name: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, ACCESS)
    role = await access_api.get_role(name, central_of(request))
    return await _role_form(request, v, role, name)


async def _save_role(request: Request, name: str | None) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, ACCESS, write=True)
    values = {
        "name": name or form_str(form, "name"),
        "description": form_str(form, "description"),
        "permissionSetId": form_str(form, "permissionSetId"),
        "accessScopeId": form_str(form, "accessScopeId"),
    }
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "A role needs a name."
    for key, what in (("permissionSetId", "permission set"), ("accessScopeId", "access scope")):
        if not values[key]:
            errors[key] = f"Choose a {what}."
    if not errors:
        body = access_api.RoleBody(
            name=values["name"],
            description=values["description"],
            permissionSetId=values["permissionSetId"],
            accessScopeId=values["accessScopeId"],
        )
        c = central_of(request)
        try:
            if name is None:
                await access_api.create_role(values["name"], body, c)
            else:
                await access_api.update_role(name, body, c)
        except (BadRequest, Conflict) as exc:
            errors[_role_error_field(exc.message)] = exc.message
    if errors:
        return await _role_form(request, v, values, name, errors)
    return RedirectResponse(BASE + "/roles", status_code=303)


def _role_error_field(message: str) -> str:
    if "permission set" in message:
        return "permissionSetId"
    if "access scope" in message:
        return "accessScopeId"
    return "name"  # exists already, built in


add_save_routes(router, BASE + "/roles/new", BASE + "/roles/{key}", _save_role)


# ---- one permission set --------------------------------------------------------------------


def _ps_form(
    request: Request,
    v: Viewer,
    values: Mapping[str, Any],
    ps_id: str | None,
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    return _entry_form(
        request,
        v,
        "access_permission_set.html",
        values,
        ps_id,
        errors,
        resources=RESOURCES,
        levels=LEVELS,
    )


@router.get(BASE + "/permission-sets/new")
async def new_permission_set(request: Request) -> Response:
    v = await viewer(request)
    await need(v, ACCESS, write=True)
    values = {"name": "", "description": "", "resourceToAccess": {}, "traits": {}}
    return _ps_form(request, v, values, None)


@router.get(BASE + "/permission-sets/{ps_id}")
async def view_permission_set(ps_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, ACCESS)
    return _ps_form(
        request, v, await access_api.get_permission_set(ps_id, central_of(request)), ps_id
    )


async def _save_permission_set(request: Request, ps_id: str | None) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, ACCESS, write=True)
    levels = {r: form_str(form, f"access-{r}") or "NO_ACCESS" for r in RESOURCES}
    name, description = form_str(form, "name"), form_str(form, "description")
    values = {"name": name, "description": description, "resourceToAccess": levels, "traits": {}}
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "A permission set needs a name."
    if not errors:
        body = access_api.PermissionSetBody(
            name=name, description=description, resourceToAccess=levels
        )
        c = central_of(request)
        try:
            if ps_id is None:
                await access_api.create_permission_set(body, c)
            else:
                await access_api.update_permission_set(ps_id, body, c)
        except (BadRequest, Conflict) as exc:
            errors["form" if "access level" in exc.message else "name"] = exc.message
    if errors:
        return _ps_form(request, v, values, ps_id, errors)
    return RedirectResponse(BASE + "/permission-sets", status_code=303)


add_save_routes(
    router, BASE + "/permission-sets/new", BASE + "/permission-sets/{key}", _save_permission_set
)


# ---- one access scope ----------------------------------------------------------------------


def _scope_form(
    request: Request,
    v: Viewer,
    values: Mapping[str, Any],
    scope_id: str | None,
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    return _entry_form(request, v, "access_scope.html", values, scope_id, errors)


@router.get(BASE + "/scopes/new")
async def new_scope(request: Request) -> Response:
    v = await viewer(request)
    await need(v, ACCESS, write=True)
    return _scope_form(request, v, scope_rules.form_values({"name": "", "rules": {}}), None)


@router.get(BASE + "/scopes/{scope_id}")
async def view_scope(scope_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, ACCESS)
    doc = await access_api.get_scope(scope_id, central_of(request))
    return _scope_form(request, v, scope_rules.form_values(doc), scope_id)


async def _save_scope(request: Request, scope_id: str | None) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, ACCESS, write=True)
    values = {key: form_str(form, key) for key in scope_rules.FORM_KEYS}
    rules, errors = scope_rules.rules_from_form(values)
    if not values["name"]:
        errors["name"] = "An access scope needs a name."
    if not errors:
        body = access_api.AccessScopeBody(
            name=values["name"], description=values["description"], rules=rules
        )
        c = central_of(request)
        try:
            if scope_id is None:
                await access_api.create_scope(body, c)
            else:
                await access_api.update_scope(scope_id, body, c)
        except (BadRequest, Conflict) as exc:
            errors[scope_rules.error_field(exc.message)] = exc.message
    if errors:
        return _scope_form(request, v, {**values, "builtin": False}, scope_id, errors)
    return RedirectResponse(BASE + "/scopes", status_code=303)


add_save_routes(router, BASE + "/scopes/new", BASE + "/scopes/{key}", _save_scope)


for _kind, _delete in (
    ("roles", access_api.delete_role),
    ("permission-sets", access_api.delete_permission_set),
    ("scopes", access_api.delete_scope),
):
    add_delete_route(router, f"{BASE}/{_kind}/{{key}}/delete", ACCESS, _delete, f"{BASE}/{_kind}")
