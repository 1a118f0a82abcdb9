"""The bare peer for bench/central_api.py: the smallest ASGI app, served by the same stack
(uvicorn, uvloop, httptools, TLS) as Central."""

from __future__ import annotations

from typing import Any

BODY = b'{"status":"ok"}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")],
        }
    )
    await send({"type": "http.response.body", "body": BODY})
