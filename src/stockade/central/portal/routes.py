"""Mounting the portal on Central's app: the page modules' routers, static files, the
session store and the security headers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from stockade.central.portal.common import HERE
from stockade.central.portal.pages import (
    access_control,
    auth,
    collections,
    components,
    dashboard,
    integrations,
    notifiers,
    policies,
    policy_edit,
    reports,
    signature_integrations,
    system,
    token_signin,
    violations,
    vulnerabilities,
)
from stockade.central.portal.security import PortalHeadersMiddleware
from stockade.central.portal.sessions import SessionStore
from stockade.central.runtime import Central


def install(app: FastAPI, central: Central) -> None:
    """Mount the portal on Central's app: pages, static files, session store, headers."""
    # new page modules: add one include line here
    app.state.portal_sessions = SessionStore(central.db)
    app.include_router(auth.router)
    app.include_router(dashboard.router)
    app.include_router(violations.router)
    app.include_router(policies.router)
    app.include_router(policy_edit.router)
    app.include_router(vulnerabilities.router)
    app.include_router(components.router)
    app.include_router(system.router)
    app.include_router(token_signin.router)
    app.include_router(integrations.router)
    app.include_router(notifiers.router)
    app.include_router(signature_integrations.router)
    app.include_router(access_control.router)
    app.include_router(collections.router)
    app.include_router(reports.router)
    app.mount("/static/portal", StaticFiles(directory=str(HERE / "static")), name="portal-static")
    app.add_middleware(PortalHeadersMiddleware)
