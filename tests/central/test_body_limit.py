"""Request bodies over the limit are refused before a route buffers them, whether the size
is declared or the body streams in chunks; bodies under it reach the route."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from stockade.central.api.body_limit import MAX_REQUEST_BODY

pytestmark = pytest.mark.integration


async def test_declared_oversized_body_is_refused(central) -> None:
    body = b"{" + b" " * MAX_REQUEST_BODY + b"}"
    r = await central.admin(
        "POST", "/v1/policies", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["message"] == "the request body is larger than 16 MiB"
    # nothing was created and Central still answers
    assert (await central.admin("GET", "/v1/policies")).status_code == 200


async def test_streamed_oversized_body_is_cut_off(central) -> None:
    chunks = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal chunks
        yield b"{"
        for _ in range(64):  # 64 MiB offered, far past the limit
            chunks += 1
            yield b" " * (1024 * 1024)
        yield b"}"

    r = await central.admin(
        "POST",
        "/v1/collections",
        content=stream(),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert "larger than 16 MiB" in r.json()["message"]
    assert chunks <= 18  # cut off just past the limit, not read to the end


async def test_bodies_under_the_limit_reach_the_route(central) -> None:
    r = await central.admin(
        "POST",
        "/v1/collections",
        content=b'{"name": ' + b" " * (2 * 1024 * 1024) + b'"x"}',
        headers={"Content-Type": "application/json"},
    )
    # past the middleware: the JSON routes' own 1 MiB limit answers
    assert r.status_code == 400 and "larger than 1 MiB" in r.json()["message"]
    r = await central.admin("POST", "/v1/collections", json={"name": ""})
    assert r.status_code == 400 and "larger" not in r.json()["message"]


async def test_invalid_content_length_is_refused(central) -> None:
    r = await central.admin("POST", "/v1/policies", content=b"{}", headers={"Content-Length": "-5"})
    assert r.status_code == 400
