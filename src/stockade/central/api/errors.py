"""One error shape for the whole API: ``{"error", "code", "message"}`` with the HTTP status
that fits (``code`` is the gRPC status number, as the product's gateway reports it)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from stockade.central.errors import CentralError, DatabaseUnavailable, TooManyRequests

logger = logging.getLogger(__name__)

_HTTP_TO_GRPC = {
    400: 3,
    401: 16,
    403: 7,
    404: 5,
    405: 12,
    409: 6,
    413: 3,
    415: 3,
    429: 8,
    500: 13,
    501: 12,
    503: 14,
}


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": message, "code": _HTTP_TO_GRPC.get(status, 2), "message": message},
        status_code=status,
        headers=headers,
    )


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts) if parts else "request"


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for err in exc.errors()[:5]:
        where = _location(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            problems.append(f"the request body is not valid JSON ({ctx.get('error', 'malformed')})")
        elif err.get("type") == "missing":
            problems.append(f"{where} is required")
        else:
            problems.append(f"{where}: {err.get('msg', 'invalid value')}")
    return "; ".join(problems) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CentralError)
    async def central_error(request: Request, exc: CentralError) -> JSONResponse:
        headers = None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": "60"}
        elif exc.status == 401:
            headers = {"WWW-Authenticate": 'Basic realm="stockade", Bearer'}
        if isinstance(exc, DatabaseUnavailable):
            logger.warning(
                "request failed: Central DB unavailable", extra={"path": request.url.path}
            )
        return error_response(exc.status, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = f"no route {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return error_response(exc.status_code, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
        return error_response(500, "internal error; the server log has the details")
