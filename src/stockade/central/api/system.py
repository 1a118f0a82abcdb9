"""Liveness, readiness, version, public configuration and metrics."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from stockade.central.api.deps import CentralDep, reader
from stockade.central.api.errors import error_response
from stockade.central.errors import DatabaseUnavailable

router = APIRouter(tags=["System"])


_PONG = b'{"status":"ok"}'


@router.get("/v1/ping", summary="Liveness: Central's process answers", response_model=None)
async def ping() -> Response:
    # probed constantly: a prebuilt body, no per-request serialisation
    return Response(_PONG, media_type="application/json")


@router.get("/readyz", summary="Readiness: Central DB answers", responses={503: {}})
async def ready(c: CentralDep) -> Response:
    try:
        async with c.db.connection() as conn:
            await conn.execute("SELECT 1")
    except DatabaseUnavailable:
        return error_response(503, "Central DB is not reachable right now")
    if c.scanner is None:
        return Response('{"status":"ready"}', media_type="application/json")
    # The Scanner's state is reported, not required: the API and portal serve without it.
    # This route is unauthenticated: the state only, not the message naming the endpoint.
    if c.data_watcher is not None:  # a Matcher run apart: its last answer, never a call
        latest = c.data_watcher.latest()
        state = latest.status if latest is not None else "UNKNOWN"
    else:
        state = (await c.scanner.data_status()).status
    body = {"status": "ready", "scanner": {"status": state}}
    return Response(json.dumps(body), media_type="application/json")


@router.get("/v1/metadata", summary="Central's version and build")
async def metadata(c: CentralDep) -> dict[str, Any]:
    return {
        "version": c.version,
        "build": c.build,
        "buildFlavor": "release" if c.build != "dev" else "development",
        "releaseBuild": c.build != "dev",
        "licenseStatus": "VALID",
    }


@router.get("/v1/config/public", summary="Configuration shown before login")
async def public_config(c: CentralDep) -> dict[str, Any]:
    notice = c.config.public_login_notice
    return {
        "loginNotice": {"enabled": bool(notice), "text": notice},
        "header": None,
        "footer": None,
        "telemetry": {"enabled": False},
    }


class _PoolCollector(Collector):
    def __init__(self) -> None:
        self.central: Any = None

    def collect(self) -> Any:
        if self.central is None:
            return
        stats = self.central.db.stats()
        for key, help_ in (
            ("pool_size", "connections open"),
            ("pool_available", "idle connections"),
            ("requests_waiting", "requests waiting for a connection"),
        ):
            g = GaugeMetricFamily(f"stockade_db_{key}", f"Central DB pool: {help_}")
            g.add_metric([], float(stats.get(key, 0)))
            yield g
        c = GaugeMetricFamily("stockade_db_connections_errors", "Central DB pool: failed connects")
        c.add_metric([], float(stats.get("connections_errors", 0)))
        yield c


POOL_COLLECTOR = _PoolCollector()
REGISTRY.register(POOL_COLLECTOR)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    dependencies=[reader("Administration")],
    response_class=Response,
)
async def metrics(c: CentralDep) -> Response:
    POOL_COLLECTOR.central = c
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
