"""What every portal page shares: the session's viewer, permission and CSRF checks,
rendering, error pages, calling the API's handlers in-process, and list paging.

Every page resolves the browser's session to an :class:`Identity` (the same type API
credentials resolve to), checks the same resource permissions as the API route it mirrors
(``api.deps.require``), and reads through the API's own handlers, so access scope, query
syntax and numbers are those of the API. Every form carries the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.types import Message

from stockade.central.api.deps import require
from stockade.central.auth.identity import Identity
from stockade.central.auth.model import Access
from stockade.central.errors import BadRequest, CentralError, Forbidden
from stockade.central.portal.identities import session_identity
from stockade.central.portal.security import csrf_ok
from stockade.central.portal.sessions import COOKIE, LOGIN_CSRF_COOKIE, Session, SessionStore
from stockade.central.runtime import Central
from stockade.central.search.resources import SEVERITY_ORDER
from stockade.policy import LifecycleStage, PolicySeverity

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
PAGE_SIZE = 50
ALERT_SEVERITIES = ("CRITICAL_SEVERITY", "HIGH_SEVERITY", "MEDIUM_SEVERITY", "LOW_SEVERITY")
CVE_SEVERITIES = tuple(reversed(SEVERITY_ORDER[1:]))  # CRITICAL first
POLICY_SEVERITIES = tuple(s.value for s in PolicySeverity if s is not PolicySeverity.UNSET_SEVERITY)
STAGES = tuple(s.value for s in LifecycleStage)
ACTIVE_QUERY = "Violation State:ACTIVE"
CSRF_REFUSED = "The form was refused: its security token is missing or stale. Reload the page."


class LoginRequired(Exception):
    """No live session: the browser is sent to the login page."""


class PortalRoute(APIRoute):
    """Errors become pages, not the API's JSON: a missing session redirects to /login."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired:
                return RedirectResponse("/login", status_code=303)
            except CentralError as exc:
                return error_page(request, exc.status, exc.message)

        return handler


@dataclass(frozen=True)
class Viewer:
    identity: Identity
    session: Session

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    def can(self, resource: str, write: bool = False) -> bool:
        return self.identity.can(
            resource, Access.READ_WRITE_ACCESS if write else Access.READ_ACCESS
        )


def central_of(request: Request) -> Central:
    c: Central = request.app.state.central
    return c


def session_store(request: Request) -> SessionStore:
    s: SessionStore = request.app.state.portal_sessions
    return s


async def viewer(request: Request) -> Viewer:
    token = request.cookies.get(COOKIE, "")
    session = await session_store(request).lookup(token) if token else None
    if session is None:
        raise LoginRequired
    ident = await session_identity(central_of(request), session)
    if ident is None:
        raise LoginRequired
    request.state.identity = ident  # the audit log names who posted a form
    return Viewer(ident, session)


async def need(v: Viewer, resource: str, write: bool = False) -> None:
    """The API's own permission check, on the session's identity."""
    await require(resource, Access.READ_WRITE_ACCESS if write else Access.READ_ACCESS)(v.identity)


async def checked_form(request: Request, v: Viewer) -> FormData:
    form = await request.form()
    token = form.get("csrf_token")
    if not csrf_ok(v.csrf, token if isinstance(token, str) else None):
        raise Forbidden(CSRF_REFUSED)
    return form


async def checked_login_form(request: Request) -> FormData:
    """A login form (password or token): no session yet, so its CSRF token is checked against
    the double-submit cookie the login page set (scoped to /login and below)."""
    form = await request.form()
    token = form.get("csrf_token")
    if not csrf_ok(
        request.cookies.get(LOGIN_CSRF_COOKIE, ""), token if isinstance(token, str) else None
    ):
        raise Forbidden(CSRF_REFUSED)
    return form


def api_request(request: Request, params: Mapping[str, str]) -> Request:
    """The same request with other query parameters, for calling an API handler."""
    scope = dict(request.scope)
    scope["query_string"] = urlencode(
        {k: v for k, v in params.items() if v}, quote_via=quote
    ).encode()
    return Request(scope)


def with_body(request: Request, body: bytes) -> Request:
    """The same request carrying ``body``, for an API handler that reads a JSON body."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(dict(request.scope), receive)


def render(
    request: Request, template: str, v: Viewer | None, status: int = 200, **ctx: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {"viewer": v, "csrf": v.csrf if v else "", "path": request.url.path, **ctx},
        status_code=status,
    )


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "error.html",
        {"viewer": None, "csrf": "", "status": status, "message": message, "path": ""},
        status_code=status,
    )


def form_str(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def join_query(*parts: str) -> str:
    return "+".join(p for p in parts if p)


ApiList = Callable[[Request, Central, Identity], Coroutine[Any, Any, dict[str, Any]]]


async def list_page(
    request: Request,
    v: Viewer,
    handler: ApiList,
    key: str,
    template: str,
    params: Mapping[str, str],
    **ctx: Any,
) -> HTMLResponse:
    """One page of an API list, rendered; a query the API refuses is shown beside the
    query field (status 400) with an empty list."""
    offset = parse_offset(request.query_params.get("offset"))
    paged = {**params, "pagination.limit": str(PAGE_SIZE), "pagination.offset": str(offset)}
    error = ""
    result: dict[str, Any] = {key: [], "totalCount": 0}
    try:
        result = await handler(api_request(request, paged), central_of(request), v.identity)
    except BadRequest as exc:
        error = exc.message
    total = int(result["totalCount"])
    return render(
        request,
        template,
        v,
        status=400 if error else 200,
        query_error=error,
        total=total,
        pager=pager(request, offset, total),
        **{key: result[key]},
        **ctx,
    )


def parse_offset(raw: str | None) -> int:
    try:
        return max(0, int(raw or 0))
    except ValueError:
        return 0


def pager(request: Request, offset: int, total: int) -> dict[str, str]:
    params = dict(request.query_params)
    out: dict[str, str] = {}
    if offset > 0:
        params["offset"] = str(max(0, offset - PAGE_SIZE))
        out["prev"] = f"{request.url.path}?{urlencode(params)}"
    if offset + PAGE_SIZE < total:
        params["offset"] = str(offset + PAGE_SIZE)
        out["next"] = f"{request.url.path}?{urlencode(params)}"
    out["range"] = f"{min(total, offset + 1)}-{min(total, offset + PAGE_SIZE)} of {total}"
    return out
