"""A single pure-ASGI middleware for what every request needs: a request id, Prometheus
metrics, and the audit record of mutating calls. Pure ASGI (not BaseHTTPMiddleware) because
it sits on every request's path and must cost microseconds."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stockade.central.errors import DatabaseUnavailable
from stockade.central.store.audit import AuditEntry

logger = logging.getLogger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

REQUESTS = Counter("stockade_http_requests_total", "API requests", ["method", "route", "status"])
LATENCY = Histogram(
    "stockade_http_request_duration_seconds",
    "API request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
                if scope["method"] in MUTATING:
                    # recorded before the client sees the answer, so a reader never misses it
                    await self._audit(scope, state, status)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(time.perf_counter() - start)

    async def _audit(self, scope: Scope, state: dict[str, Any], status: int) -> None:
        app = scope.get("app")
        central = getattr(getattr(app, "state", None), "central", None)
        if central is None:
            return
        ident = state.get("identity")
        client = scope.get("client")
        entry = AuditEntry(
            principal=ident.principal if ident else "anonymous",
            auth_method=ident.auth_method if ident else "none",
            method=scope["method"],
            path=scope["path"],
            status=status,
            source=client[0] if client else "",
            request_id=state.get("request_id", ""),
        )
        try:
            await central.audit.record(entry)
        except DatabaseUnavailable:
            # The call itself failed or succeeded without the database; the log line keeps
            # the record when the table cannot.
            logger.warning(
                "audit record not stored: Central DB unavailable",
                extra={
                    "principal": entry.principal,
                    "method": entry.method,
                    "path": entry.path,
                    "status": entry.status,
                },
            )
