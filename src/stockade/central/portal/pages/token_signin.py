"""Sign in with an API token: the session then holds that token's roles (and ends when the
token is revoked or expires), so the portal shows and allows what the token may do."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from stockade.central.api.deps import client_source
from stockade.central.auth.identity import Credentials
from stockade.central.errors import CentralError
from stockade.central.portal.common import (
    PortalRoute,
    central_of,
    checked_login_form,
    form_str,
    render,
    session_store,
)
from stockade.central.portal.sessions import COOKIE, LOGIN_CSRF_COOKIE, new_token

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
_COOKIE_FLAGS = {"secure": True, "httponly": True, "samesite": "strict"}


def _form_with_error(request: Request, error: str, status: int) -> HTMLResponse:
    """The login page again, the error beside the token field (never the token itself)."""
    login_csrf = new_token()
    notice = central_of(request).config.public_login_notice
    resp = render(
        request, "login.html", None, status, login_csrf=login_csrf, token_error=error, notice=notice
    )
    resp.set_cookie(LOGIN_CSRF_COOKIE, login_csrf, path="/login", **_COOKIE_FLAGS)  # type: ignore[arg-type]
    return resp


@router.post("/login/token")
async def token_login(request: Request) -> Response:
    form = await checked_login_form(request)
    api_token = form_str(form, "api_token")
    if not api_token:
        return _form_with_error(request, "Enter an API token.", 400)
    source = client_source(request)
    try:
        ident = await central_of(request).authenticator.authenticate(
            Credentials(f"Bearer {api_token}", source)
        )
    except CentralError as exc:
        return _form_with_error(request, exc.message, exc.status)
    if ident.token_id is None:  # only the token provider answers a bearer credential today
        return _form_with_error(request, "That is not an API token.", 400)
    token, _ = await session_store(request).create(
        ident.principal, source, token_id=ident.token_id, token_expires=ident.expires
    )
    request.state.identity = ident
    resp = RedirectResponse("/main/dashboard", status_code=303)
    resp.set_cookie(COOKIE, token, path="/", **_COOKIE_FLAGS)  # type: ignore[arg-type]
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login", secure=True, httponly=True)
    return resp
