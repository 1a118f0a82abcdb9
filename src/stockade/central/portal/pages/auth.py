"""Login and logout: the admin password opens a server-side session."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from stockade.central.api.deps import client_source
from stockade.central.auth.identity import Credentials
from stockade.central.auth.providers import ADMIN_USER
from stockade.central.errors import CentralError
from stockade.central.portal.common import (
    PortalRoute,
    central_of,
    checked_form,
    checked_login_form,
    form_str,
    render,
    session_store,
    viewer,
)
from stockade.central.portal.sessions import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    new_token,
)

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def _set_cookie(resp: Response, name: str, value: str, path: str = "/") -> None:
    resp.set_cookie(name, value, path=path, secure=True, httponly=True, samesite="strict")


def _login_form(request: Request, error: str = "", status: int = 200) -> HTMLResponse:
    token = new_token()
    notice = central_of(request).config.public_login_notice
    resp = render(request, "login.html", None, status, login_csrf=token, error=error, notice=notice)
    _set_cookie(resp, LOGIN_CSRF_COOKIE, token, path="/login")
    return resp


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/main/dashboard", status_code=303)


@router.get("/login")
async def login_page(request: Request) -> Response:
    token = request.cookies.get(COOKIE, "")
    if token and await session_store(request).lookup(token) is not None:
        return RedirectResponse("/main/dashboard", status_code=303)
    return _login_form(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await checked_login_form(request)
    user = form_str(form, "username") or ADMIN_USER
    password = form.get("password")
    if not isinstance(password, str) or not password:
        return _login_form(request, "Enter the password.", 400)
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    source = client_source(request)
    try:
        ident = await central_of(request).authenticator.authenticate(
            Credentials(f"Basic {basic}", source)
        )
    except CentralError as exc:
        return _login_form(request, exc.message, exc.status)
    token, _ = await session_store(request).create(ident.principal, source)
    request.state.identity = ident
    resp = RedirectResponse("/main/dashboard", status_code=303)
    _set_cookie(resp, COOKIE, token)
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login", secure=True, httponly=True)
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    v = await viewer(request)
    await checked_form(request, v)
    await session_store(request).end(request.cookies.get(COOKIE, ""))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return resp
