"""Shared plumbing of list routes: read ``query`` and ``pagination.*`` from the request."""

from __future__ import annotations

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
