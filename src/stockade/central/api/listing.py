"""Shared plumbing of list routes: read ``query`` and ``pagination.*`` from the request."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from stockade.central.errors import BadRequest
from stockade.central.search.compile import Pagination, pagination_from
from stockade.central.search.query import Term, parse_query, raw_query_param


def query_terms(request: Request) -> list[Term]:
    try:
        raw = raw_query_param(request.scope.get("query_string", b""))
    except UnicodeDecodeError as exc:
        raise BadRequest("query is not valid UTF-8 after percent-decoding") from exc
    return parse_query(raw or "")


def pagination(request: Request) -> Pagination:
    return pagination_from(dict(request.query_params))


MAX_BODY = 1024 * 1024


async def json_body(request: Request) -> Any:
    """The request's JSON body (routes that check a product document field by field)."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise BadRequest("the request body is larger than 1 MiB")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"the request body is not valid JSON ({exc})") from exc
