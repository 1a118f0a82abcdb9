"""The POST routes every create/edit/delete page has, registered once: ``new`` and
``{key}`` posts call one save function (``key`` None for a new entry), and a delete post
checks the CSRF token and the write permission, calls the API's handler and goes back to
the list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from stockade.central.portal.common import central_of, checked_form, need, viewer
from stockade.central.runtime import Central

Save = Callable[[Request, str | None], Awaitable[Response]]
Delete = Callable[[str, Central], Awaitable[Any]]


def add_save_routes(router: APIRouter, new_path: str, edit_path: str, save: Save) -> None:
    """POST ``new_path`` creates, POST ``edit_path`` (with a ``{key}`` segment) updates."""

    async def create(request: Request) -> Response:
        return await save(request, None)

    async def update(key: str, request: Request) -> Response:
        return await save(request, key)

    router.add_api_route(new_path, create, methods=["POST"])  # before {key}: "new" wins
    router.add_api_route(edit_path, update, methods=["POST"])


def add_delete_route(
    router: APIRouter, path: str, resource: str, delete: Delete, back_to: str
) -> None:
    """POST ``path`` (with a ``{key}`` segment) deletes through ``delete``."""

    async def remove(key: str, request: Request) -> Response:
        v = await viewer(request)
        await checked_form(request, v)
        await need(v, resource, write=True)
        await delete(key, central_of(request))
        return RedirectResponse(back_to, status_code=303)

    router.add_api_route(path, remove, methods=["POST"])
