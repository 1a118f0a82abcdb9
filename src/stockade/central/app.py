"""Central's ASGI application: routers, error shape, middleware, OpenAPI."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from stockade import __version__
from stockade.central.api import (
    access,
    alert_trends,
    alerts,
    apitokens,
    audit,
    auth,
    collections,
    detect,
    exceptions,
    images,
    inventory,
    notifiers,
    policies,
    reports,
    search,
    signatures,
    system,
    vulnerabilities,
)
from stockade.central.api.body_limit import BodyLimitMiddleware
from stockade.central.api.errors import install_error_handlers
from stockade.central.api.middleware import ObservabilityMiddleware
from stockade.central.portal.routes import install as install_portal
from stockade.central.runtime import Central
from stockade.central.search.resources import SEARCHABLE

API_DESCRIPTION = """
Stockade Central's public API. Paths and JSON shapes follow the product users already script
against where one exists. Authenticate with HTTP basic (`admin`) or `Authorization: Bearer
<API token>`.

**Search.** List routes take `query=Field:value+Field:value` (AND), comma-separated values
(OR), `!` to negate, `r/` for a regular expression, `>`, `<`, `>=`, `<=` on numbers and dates,
`"quoted"` for an exact match, otherwise a case-insensitive prefix; and
`pagination.limit`, `pagination.offset`, `pagination.sortOption.field`,
`pagination.sortOption.reversed`.

**Errors** are `{"error", "code", "message"}` with the HTTP status that fits.
"""


def _fields_doc() -> str:
    lines = ["", "**Search fields per category:**", ""]
    for r in SEARCHABLE:
        lines.append(f"- {r.category}: " + ", ".join(f"`{f.name}`" for f in r.fields))
    return "\n".join(lines)


def _swagger_assets() -> str | None:
    try:
        import swagger_ui_bundle  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError:
        return None
    path: str = swagger_ui_bundle.swagger_ui_path
    return path


def create_app(central: Central) -> FastAPI:
    app = FastAPI(
        title="Stockade Central API",
        version=__version__,
        description=API_DESCRIPTION + _fields_doc(),
        docs_url=None,
        redoc_url=None,
        # Central exports its own Prometheus metrics; FastAPI's OpenTelemetry hooks would
        # cost a check on every request for nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.central = central
    install_error_handlers(app)
    for module in (
        system,
        auth,
        apitokens,
        access,
        inventory,
        policies,
        detect,
        alerts,
        alert_trends,
        notifiers,
        vulnerabilities,
        exceptions,
        images,
        collections,
        reports,
        search,
        audit,
        signatures,
    ):
        app.include_router(module.router)

    assets = _swagger_assets()
    if assets is not None:
        app.mount("/docs/assets", StaticFiles(directory=assets), name="swagger-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        kwargs: dict[str, Any] = {}
        if assets is not None:
            kwargs = {
                "swagger_js_url": "/docs/assets/swagger-ui-bundle.js",
                "swagger_css_url": "/docs/assets/swagger-ui.css",
                "swagger_favicon_url": "/docs/assets/favicon-32x32.png",
            }
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Stockade API", **kwargs)

    install_portal(app, central)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(ObservabilityMiddleware)  # added last: outermost, so 413s are counted
    return app
