"""The portal's pages and forms.

Every page resolves the browser's session to an :class:`Identity` (the same type API
credentials resolve to), checks the same resource permissions as the API route it mirrors
(``api.deps.require``), and reads through the API's own handlers, so access scope, query
syntax and numbers are those of the API. Every form carries the session's CSRF token.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from psycopg import sql
from starlette.datastructures import FormData, UploadFile
from starlette.types import Message

from stockade.central.api import alerts as alerts_api
from stockade.central.api import audit as audit_api
from stockade.central.api import exceptions as exceptions_api
from stockade.central.api import images as images_api
from stockade.central.api import policies as policies_api
from stockade.central.api import system as system_api
from stockade.central.api import vulnerabilities as vulns_api
from stockade.central.api.deps import client_source, require
from stockade.central.auth.identity import Credentials, Identity
from stockade.central.auth.model import ADMIN_ROLE, Access, RoleSet
from stockade.central.auth.providers import ADMIN_USER
from stockade.central.errors import BadRequest, CentralError, Conflict, Forbidden, NotFound
from stockade.central.portal.charts import bar_rows
from stockade.central.portal.security import PortalHeadersMiddleware, csrf_ok
from stockade.central.portal.sessions import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    Session,
    SessionStore,
    new_token,
)
from stockade.central.runtime import Central
from stockade.central.search import execute
from stockade.central.search.compile import Pagination
from stockade.central.search.query import Op, Term, Value
from stockade.central.search.resources import FINDINGS, SEVERITY_ORDER
from stockade.central.store.policies import parse as parse_policy
from stockade.central.store.policies import validate as validate_policy
from stockade.core.errors import StockadeError
from stockade.model.image import Component, Vulnerability
from stockade.policy import LifecycleStage, PolicySeverity, policy_to_json

logger = logging.getLogger(__name__)
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


router = APIRouter(route_class=PortalRoute, include_in_schema=False)


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


def _central(request: Request) -> Central:
    c: Central = request.app.state.central
    return c


def _sessions(request: Request) -> SessionStore:
    s: SessionStore = request.app.state.portal_sessions
    return s


async def viewer(request: Request) -> Viewer:
    token = request.cookies.get(COOKIE, "")
    session = await _sessions(request).lookup(token) if token else None
    if session is None:
        raise LoginRequired
    if session.principal != ADMIN_USER:  # only the admin logs in to the portal today
        raise LoginRequired
    roles = await _central(request).access.resolve([ADMIN_ROLE])
    ident = Identity(ADMIN_USER, ADMIN_USER, "session", "portal-session", RoleSet(roles))
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


def api_request(request: Request, params: Mapping[str, str]) -> Request:
    """The same request with other query parameters, for calling an API handler."""
    scope = dict(request.scope)
    scope["query_string"] = urlencode(
        {k: v for k, v in params.items() if v}, quote_via=quote
    ).encode()
    return Request(scope)


def _with_body(request: Request, body: bytes) -> Request:
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
    offset = _offset(request.query_params.get("offset"))
    paged = {**params, "pagination.limit": str(PAGE_SIZE), "pagination.offset": str(offset)}
    error = ""
    result: dict[str, Any] = {key: [], "totalCount": 0}
    try:
        result = await handler(api_request(request, paged), _central(request), v.identity)
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
        pager=_pager(request, offset, total),
        **{key: result[key]},
        **ctx,
    )


# ---- login and logout -----------------------------------------------------------------------


def _set_cookie(resp: Response, name: str, value: str, path: str = "/") -> None:
    resp.set_cookie(name, value, path=path, secure=True, httponly=True, samesite="strict")


def _login_form(request: Request, error: str = "", status: int = 200) -> HTMLResponse:
    token = new_token()
    notice = _central(request).config.public_login_notice
    resp = render(request, "login.html", None, status, login_csrf=token, error=error, notice=notice)
    _set_cookie(resp, LOGIN_CSRF_COOKIE, token, path="/login")
    return resp


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/main/dashboard", status_code=303)


@router.get("/login")
async def login_page(request: Request) -> Response:
    token = request.cookies.get(COOKIE, "")
    if token and await _sessions(request).lookup(token) is not None:
        return RedirectResponse("/main/dashboard", status_code=303)
    return _login_form(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    given = form.get("csrf_token")
    if not csrf_ok(
        request.cookies.get(LOGIN_CSRF_COOKIE, ""), given if isinstance(given, str) else None
    ):
        return error_page(request, 403, CSRF_REFUSED)
    user = form_str(form, "username") or ADMIN_USER
    password = form.get("password")
    if not isinstance(password, str) or not password:
        return _login_form(request, "Enter the password.", 400)
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    source = client_source(request)
    try:
        ident = await _central(request).authenticator.authenticate(
            Credentials(f"Basic {basic}", source)
        )
    except CentralError as exc:
        return _login_form(request, exc.message, exc.status)
    token, _ = await _sessions(request).create(ident.principal, source)
    request.state.identity = ident
    resp = RedirectResponse("/main/dashboard", status_code=303)
    _set_cookie(resp, COOKIE, token)
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login", secure=True, httponly=True)
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    v = await viewer(request)
    await checked_form(request, v)
    await _sessions(request).end(request.cookies.get(COOKIE, ""))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return resp


# ---- dashboard ------------------------------------------------------------------------------

_TOP_IMAGE_COLS = sql.SQL("i.id AS id, i.name AS name, count(DISTINCT f.cve_id) AS n")


async def top_critical_fixable_images(c: Central, ident: Identity, limit: int) -> list[Any]:
    """Images with the most critical, fixable, observed CVEs (the count ``/v1/cves`` gives
    for ``Image SHA:<id>+Severity:CRITICAL+Fixable:true``)."""
    terms = vulns_api.observed_by_default(
        [
            Term("Severity", (Value(Op.EXACT, "CRITICAL"),)),
            Term("Fixable", (Value(Op.EXACT, "true"),)),
        ]
    )
    page = await execute.grouped_page(
        c.db,
        FINDINGS,
        ident,
        terms,
        Pagination(limit=limit, sort_field="n", reversed=True),
        _TOP_IMAGE_COLS,
        sql.SQL("i.id, i.name"),
        {"n": sql.SQL("count(DISTINCT f.cve_id)")},
    )
    return page.rows


def _counts(doc: Mapping[str, Any]) -> dict[str, int]:
    out = dict.fromkeys(ALERT_SEVERITIES, 0)
    for g in doc["groups"]:
        for cnt in g["counts"]:
            out[cnt["severity"]] += int(cnt["count"])
    return out


@router.get("/main/dashboard")
async def dashboard(request: Request) -> Response:
    v = await viewer(request)
    c = _central(request)
    ctx: dict[str, Any] = {}
    # the panels' queries are independent: they run at once, each on its own connection
    panels: dict[str, Coroutine[Any, Any, Any]] = {}
    if v.can("Alert"):
        sub = api_request(request, {"query": ACTIVE_QUERY})
        panels["severity"] = alerts_api.summary_counts(sub, c, v.identity, "UNSET")
        panels["category"] = alerts_api.summary_counts(sub, c, v.identity, "CATEGORY")
    if v.can("Image"):
        most_common = api_request(
            request,
            {
                "pagination.limit": "5",
                "pagination.sortOption.field": "Images",
                "pagination.sortOption.reversed": "true",
            },
        )
        panels["top_images"] = top_critical_fixable_images(c, v.identity, 5)
        panels["common"] = vulns_api.list_cves(most_common, c, v.identity)
        panels["vuln_data"] = images_api.vulnerability_data(c)
    done = dict(zip(panels, await asyncio.gather(*panels.values()), strict=True))
    if "severity" in done:
        by_sev = _counts(done["severity"])
        ctx["severity_bars"] = bar_rows([(s.removesuffix("_SEVERITY"), by_sev[s]) for s in by_sev])
        ctx["severity_total"] = sum(by_sev.values())
        groups = done["category"]["groups"]
        ctx["category_bars"] = bar_rows(
            sorted(
                ((g["group"], sum(int(x["count"]) for x in g["counts"])) for g in groups),
                key=lambda kv: (-kv[1], kv[0]),
            )[:10]
        )
    if "common" in done:
        ctx["top_images"] = done["top_images"]
        ctx["common_cves"] = done["common"]["cves"]
        ctx["vuln_data"] = done["vuln_data"]
    return render(request, "dashboard.html", v, active_query=ACTIVE_QUERY, **ctx)


# ---- violations -----------------------------------------------------------------------------


@router.get("/main/violations")
async def violations(request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Alert")
    q = request.query_params
    filters = {
        "query": q.get("query", "").strip(),
        "severity": q.get("severity", ""),
        "state": q.get("state", "ACTIVE"),  # an explicit empty state means any
        "stage": q.get("stage", ""),
    }
    query = join_query(
        filters["query"],
        f"Severity:{filters['severity']}" if filters["severity"] in ALERT_SEVERITIES else "",
        f"Violation State:{filters['state']}"
        if filters["state"] in ("ACTIVE", "ATTEMPTED", "RESOLVED")
        else "",
        f"Lifecycle Stage:{filters['stage']}" if filters["stage"] in STAGES else "",
    )
    params = {
        "query": query,
        "pagination.sortOption.field": "Violation Time",
        "pagination.sortOption.reversed": "true",
    }
    return await list_page(
        request,
        v,
        alerts_api.list_alerts,
        "alerts",
        "violations.html",
        params,
        filters=filters,
        severities=ALERT_SEVERITIES,
        stages=STAGES,
    )


@router.get("/main/violations/{alert_id}")
async def violation(alert_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Alert")
    alert = await alerts_api.get_alert(alert_id, request, _central(request), v.identity)
    return render(request, "violation.html", v, alert=alert, can_resolve=v.can("Alert", True))


@router.post("/main/violations/{alert_id}/resolve")
async def resolve_violation(alert_id: str, request: Request) -> Response:
    v = await viewer(request)
    await checked_form(request, v)
    await need(v, "Alert", write=True)
    await alerts_api.resolve_alert(alert_id, request, _central(request), None, v.identity)
    return RedirectResponse(f"/main/violations/{quote(alert_id)}", status_code=303)


# ---- policies -------------------------------------------------------------------------------

POLICY_RESOURCE = policies_api.RESOURCE


@router.get("/main/policies")
async def policy_list(request: Request) -> Response:
    v = await viewer(request)
    await need(v, POLICY_RESOURCE)
    q = request.query_params
    filters = {
        "query": q.get("query", "").strip(),
        "severity": q.get("severity", "") if q.get("severity") in POLICY_SEVERITIES else "",
        "status": q.get("status", "") if q.get("status") in ("enabled", "disabled") else "",
        "stage": q.get("stage", "") if q.get("stage") in STAGES else "",
    }
    query = join_query(
        filters["query"],
        f"Severity:{filters['severity']}" if filters["severity"] else "",
        f"Disabled:{str(filters['status'] == 'disabled').lower()}" if filters["status"] else "",
        f"Lifecycle Stage:{filters['stage']}" if filters["stage"] else "",
    )
    return await list_page(
        request,
        v,
        policies_api.list_policies,
        "policies",
        "policies.html",
        {"query": query},
        filters=filters,
        severities=POLICY_SEVERITIES,
        stages=STAGES,
        can_write=v.can(POLICY_RESOURCE, True),
    )


@router.get("/main/policies/export")
async def export_policies(request: Request) -> Response:
    """Every policy as the product's export JSON, as a file download."""
    v = await viewer(request)
    await need(v, POLICY_RESOURCE)
    doc = await policies_api.export_policies(policies_api.ExportBody(), _central(request))
    return Response(
        json.dumps(doc, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="stockade-policies.json"'},
    )


@router.post("/main/policies/import")
async def import_policies(request: Request) -> Response:
    """Import an export file through the API's own import (each policy on its own)."""
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, POLICY_RESOURCE, write=True)
    upload = form.get("file")
    raw = await upload.read() if isinstance(upload, UploadFile) else b""
    overwrite = form_str(form, "overwrite") == "true"
    error = ""
    result: dict[str, Any] = {}
    try:
        doc = json.loads(raw or b"null")
        if isinstance(doc, dict):
            doc["metadata"] = {"overwrite": overwrite}
        result = await policies_api.import_policies(
            _with_body(request, json.dumps(doc).encode()), _central(request)
        )
    except ValueError as exc:
        error = f"The file is not valid JSON: {exc}."
    except BadRequest as exc:
        error = exc.message
    return render(
        request,
        "policy_import.html",
        v,
        status=400 if error or not result.get("allSucceeded") else 200,
        error=error,
        result=result,
    )


@router.post("/main/policies/{policy_id}/toggle")
async def toggle_policy(policy_id: str, request: Request) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, POLICY_RESOURCE, write=True)
    disable = form_str(form, "disabled") == "true"
    await policies_api.patch_policy(
        policy_id, policies_api.PatchBody(disabled=disable), _central(request)
    )
    return RedirectResponse("/main/policies", status_code=303)


_NEW_POLICY: dict[str, Any] = {
    "name": "",
    "description": "",
    "rationale": "",
    "remediation": "",
    "categories": ["Vulnerability Management"],
    "lifecycleStages": ["BUILD"],
    "severity": "MEDIUM_SEVERITY",
    "enforcementActions": [],
    "policySections": [
        {
            "sectionName": "",
            "policyGroups": [
                {
                    "fieldName": "Image Tag",
                    "booleanOperator": "OR",
                    "negate": False,
                    "values": [{"value": "latest"}],
                }
            ],
        }
    ],
}


def _policy_form(
    request: Request,
    v: Viewer,
    doc: Mapping[str, Any],
    policy_id: str | None,
    errors: Mapping[str, str] | None = None,
    editor_text: str | None = None,
) -> HTMLResponse:
    body = {k: val for k, val in doc.items() if k not in ("id", "lastUpdated")}
    return render(
        request,
        "policy_form.html",
        v,
        status=400 if errors else 200,
        policy_id=policy_id,
        name=doc.get("name", ""),
        severity=doc.get("severity", "MEDIUM_SEVERITY"),
        stages=list(doc.get("lifecycleStages", [])),
        editor=editor_text if editor_text is not None else json.dumps(body, indent=2),
        errors=errors or {},
        severities=POLICY_SEVERITIES,
        all_stages=STAGES,
    )


@router.get("/main/policies/new")
async def new_policy(request: Request) -> Response:
    v = await viewer(request)
    await need(v, POLICY_RESOURCE, write=True)
    return _policy_form(request, v, _NEW_POLICY, None)


@router.get("/main/policies/{policy_id}/edit")
async def edit_policy(policy_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, POLICY_RESOURCE, write=True)
    doc = dict(policy_to_json(await _central(request).policies.get(policy_id)))
    return _policy_form(request, v, doc, policy_id)


async def _save_policy(request: Request, policy_id: str | None) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, POLICY_RESOURCE, write=True)
    c = _central(request)
    name = form_str(form, "name")
    severity = form_str(form, "severity")
    stages = [s for s in form.getlist("lifecycleStages") if isinstance(s, str)]
    editor = form.get("policy_json")
    editor_text = editor if isinstance(editor, str) else ""
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "A policy needs a name."
    if severity not in POLICY_SEVERITIES:
        errors["severity"] = "Choose a severity."
    if not stages or any(s not in STAGES for s in stages):
        errors["lifecycleStages"] = "Choose at least one lifecycle stage."
    doc: dict[str, Any] = {}
    try:
        loaded = json.loads(editor_text or "{}")
    except ValueError as exc:
        errors["policy_json"] = f"The policy is not valid JSON: {exc}."
    else:
        if isinstance(loaded, dict):
            doc = loaded
        else:
            errors["policy_json"] = "The policy must be a JSON object."
    doc.update(name=name, severity=severity, lifecycleStages=stages)
    if not errors:
        try:
            policy = parse_policy(doc)
            validate_policy(policy)
        except BadRequest as exc:
            errors["policy_json"] = exc.message
    if not errors:
        try:
            if policy_id is None:
                await c.policies.create(policy)
            else:
                await c.policies.update(policy_id, policy)
        except Conflict as exc:
            errors["name"] = exc.message
        except BadRequest as exc:
            errors["policy_json"] = exc.message
    if errors:
        return _policy_form(request, v, doc, policy_id, errors, editor_text)
    # the list, narrowed to the policy just saved
    saved = quote(f'Policy:"{name}"', safe="")
    return RedirectResponse(f"/main/policies?query={saved}", status_code=303)


@router.post("/main/policies/new")
async def create_policy(request: Request) -> Response:
    return await _save_policy(request, None)


@router.post("/main/policies/{policy_id}/edit")
async def update_policy(policy_id: str, request: Request) -> Response:
    return await _save_policy(request, policy_id)


# ---- vulnerability management ---------------------------------------------------------------

CVE_SORTS = ("Images", "CVSS", "Severity", "EPSS", "CVE", "First Seen")


def _number(raw: str | None, lo: float, hi: float) -> str:
    try:
        value = float(raw or "")
    except ValueError:
        return ""
    return str(value) if lo <= value <= hi else ""


@router.get("/main/vulnerabilities")
async def cve_list(request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Image")
    q = request.query_params
    filters = {
        "query": q.get("query", "").strip(),
        "severity": q.get("severity", "") if q.get("severity") in CVE_SEVERITIES else "",
        "fixable": q.get("fixable", "") if q.get("fixable") in ("true", "false") else "",
        "cvss": _number(q.get("cvss"), 0, 10),
        "epss": _number(q.get("epss"), 0, 1),
        "kev": "true" if q.get("kev") == "true" else "",
        "sort": q.get("sort", "Images") if q.get("sort") in CVE_SORTS else "Images",
    }
    query = join_query(
        filters["query"],
        f"Severity:{filters['severity']}" if filters["severity"] else "",
        f"Fixable:{filters['fixable']}" if filters["fixable"] else "",
        f"CVSS:>={filters['cvss']}" if filters["cvss"] else "",
        f"EPSS:>={filters['epss']}" if filters["epss"] else "",
        "KEV:true" if filters["kev"] else "",
    )
    params = {
        "query": query,
        "pagination.sortOption.field": filters["sort"],
        "pagination.sortOption.reversed": str(filters["sort"] != "CVE").lower(),
    }
    return await list_page(
        request,
        v,
        vulns_api.list_cves,
        "cves",
        "cves.html",
        params,
        filters=filters,
        severities=CVE_SEVERITIES,
        sorts=CVE_SORTS,
    )


DEFERRAL_EXPIRIES = {
    "30": "30 days",
    "90": "90 days",
    "ALL_CVE_FIXABLE": "Until every listed CVE is fixable",
    "ANY_CVE_FIXABLE": "Until any listed CVE is fixable",
}


async def _cve_page(
    request: Request,
    v: Viewer,
    cve_id: str,
    form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    sub = api_request(request, {"pagination.limit": "500"})
    cve = await vulns_api.get_cve(cve_id, sub, _central(request), v.identity)
    return render(
        request,
        "cve.html",
        v,
        status=400 if errors else 200,
        cve=cve,
        can_request=v.can(exceptions_api.REQUESTS, True),
        expiries=DEFERRAL_EXPIRIES,
        form=form or {"expiry": "30", "comment": ""},
        errors=errors or {},
    )


@router.get("/main/vulnerabilities/cves/{cve_id}")
async def cve_detail(cve_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Image")
    return await _cve_page(request, v, cve_id)


@router.post("/main/vulnerabilities/cves/{cve_id}/defer")
async def defer_cve(cve_id: str, request: Request) -> Response:
    """Request a deferral of one CVE in every image (the approver decides)."""
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, "Image")
    await need(v, exceptions_api.REQUESTS, write=True)
    values = {"comment": form_str(form, "comment"), "expiry": form_str(form, "expiry")}
    errors: dict[str, str] = {}
    if not values["comment"]:
        errors["comment"] = "Say why the CVE can wait; approvers read this."
    if values["expiry"] not in DEFERRAL_EXPIRIES:
        errors["expiry"] = "Choose when the deferral ends."
    if errors:
        return await _cve_page(request, v, cve_id, values, errors)
    expiry = values["expiry"]
    if expiry.isdigit():
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=int(expiry))
        body_expiry = exceptions_api.ExpiryBody(expiryType="TIME", expiresOn=until)
    else:
        body_expiry = exceptions_api.ExpiryBody(expiryType=expiry)  # type: ignore[arg-type]
    body = exceptions_api.DeferralBody(
        cves=[cve_id], comment=values["comment"], exceptionExpiry=body_expiry
    )
    await exceptions_api.request_deferral(body, _central(request), v.identity)
    return RedirectResponse("/main/vulnerabilities/exceptions", status_code=303)


EXCEPTION_STATUSES = ("PENDING", "APPROVED", "DENIED", "CANCELED")


@router.get("/main/vulnerabilities/exceptions")
async def exception_list(request: Request) -> Response:
    v = await viewer(request)
    await exceptions_api.requester_or_approver(v.identity)
    status = request.query_params.get("status", "PENDING")
    status = status if status in EXCEPTION_STATUSES else ""
    found = await _central(request).exceptions.list(status or None)
    return render(
        request,
        "exceptions.html",
        v,
        exceptions=found,
        status_filter=status,
        statuses=EXCEPTION_STATUSES,
        can_approve=v.can(exceptions_api.APPROVALS, True),
    )


@router.post("/main/vulnerabilities/exceptions/{exception_id}/{decision}")
async def decide_exception(exception_id: str, decision: str, request: Request) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    if decision not in ("approve", "deny"):
        raise NotFound(f"no such action {decision!r}")
    await need(v, exceptions_api.APPROVALS, write=True)
    handler = exceptions_api.approve if decision == "approve" else exceptions_api.deny
    body = exceptions_api.DecisionBody(comment=form_str(form, "comment"))
    await handler(exception_id, _central(request), body, v.identity)
    return RedirectResponse("/main/vulnerabilities/exceptions", status_code=303)


@router.get("/main/vulnerabilities/images")
async def image_list(request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Image")
    query = request.query_params.get("query", "").strip()
    params = {
        "query": query,
        "pagination.sortOption.field": "Top CVSS",
        "pagination.sortOption.reversed": "true",
    }
    return await list_page(
        request, v, vulns_api.list_images, "images", "images.html", params, query=query
    )


@router.get("/main/vulnerabilities/images/{image_id:path}")
async def image_detail(image_id: str, request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Image")
    c = _central(request)
    summary = await vulns_api.get_image(image_id, api_request(request, {}), c, v.identity)
    image = await c.images.load(image_id)
    layers: dict[int, dict[str, Any]] = {}
    for i, line in enumerate(image.dockerfile):
        layers[i] = {"index": i, "instruction": line.instruction, "value": line.value, "count": 0}
    findings: list[tuple[Component, Vulnerability]] = []
    for comp in image.components:
        if comp.layer_index is not None:
            layer = layers.setdefault(
                comp.layer_index,
                {"index": comp.layer_index, "instruction": "", "value": "", "count": 0},
            )
            layer["count"] += 1
        findings.extend((comp, vuln) for vuln in comp.vulnerabilities)
    findings.sort(key=lambda cv: (-SEVERITY_ORDER.index(cv[1].severity.name), -cv[1].cvss))
    return render(
        request,
        "image.html",
        v,
        summary=summary,
        image=image,
        layers=[layers[k] for k in sorted(layers)],
        findings=findings,
    )


@router.get("/main/scan")
async def scan_page(request: Request) -> Response:
    v = await viewer(request)
    await need(v, "Image", write=True)
    return render(request, "scan.html", v, image_name="", error="")


@router.post("/main/scan")
async def scan(request: Request) -> Response:
    v = await viewer(request)
    form = await checked_form(request, v)
    await need(v, "Image", write=True)
    name = form_str(form, "imageName")
    if not name:
        return render(request, "scan.html", v, 400, image_name=name, error="Enter an image name.")
    try:
        result = await images_api.scan_image(
            images_api.ScanBody(imageName=name, force=form_str(form, "force") == "true"),
            _central(request),
        )
    except StockadeError as exc:
        return render(request, "scan.html", v, 400, image_name=name, error=exc.message)
    return RedirectResponse(
        f"/main/vulnerabilities/images/{quote(str(result['id']), safe=':')}", status_code=303
    )


# ---- system ---------------------------------------------------------------------------------


@router.get("/main/system")
async def system(request: Request) -> Response:
    """Versions, vulnerability data per source, and the audit log (which names the portal's
    form posts as ``session``)."""
    v = await viewer(request)
    await need(v, "Administration")
    c = _central(request)
    meta, events = await asyncio.gather(
        system_api.metadata(c), audit_api.audit_log(c, limit=100, offset=0)
    )
    data = await images_api.vulnerability_data(c) if v.can("Image") else None
    return render(request, "system.html", v, meta=meta, vuln_data=data, events=events["events"])


# ---- helpers --------------------------------------------------------------------------------


def _offset(raw: str | None) -> int:
    try:
        return max(0, int(raw or 0))
    except ValueError:
        return 0


def _pager(request: Request, offset: int, total: int) -> dict[str, str]:
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


def install(app: FastAPI, central: Central) -> None:
    """Mount the portal on Central's app: pages, static files, session store, headers."""
    app.state.portal_sessions = SessionStore(central.db)
    app.include_router(router)
    app.mount("/static/portal", StaticFiles(directory=str(HERE / "static")), name="portal-static")
    app.add_middleware(PortalHeadersMiddleware)
