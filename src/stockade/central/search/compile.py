"""Compile parsed queries into parameterised SQL for one :class:`SearchResource`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from psycopg import sql

from stockade.central.errors import BadRequest
from stockade.central.search.fields import Kind, SearchField, SearchResource
from stockade.central.search.query import Op, Term, Value
from stockade.central.sqlparams import Params

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_COMPARATORS = {Op.GT: ">", Op.GE: ">=", Op.LT: "<", Op.LE: "<=", Op.EQ: "="}


@dataclass(frozen=True)
class Pagination:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    sort_field: str | None = None
    reversed: bool = False


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _number(value: str, f: SearchField) -> float:
    try:
        return float(value)
    except ValueError as exc:
        raise BadRequest(f"search field {f.name!r} needs a number, not {value!r}") from exc


def _datetime(value: str, f: SearchField) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = dt.datetime.strptime(value, "%m/%d/%Y")
        except ValueError as exc:
            raise BadRequest(
                f"search field {f.name!r} needs a date (2024-01-31 or 01/31/2024), not {value!r}"
            ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _string_match(col: sql.Composable, v: Value, p: Params) -> sql.Composable:
    if v.op is Op.EXACT or v.op is Op.EQ:
        return sql.SQL("{} = {}").format(col, p.add(v.text))
    if v.op is Op.REGEX:
        return sql.SQL("{} ~* {}").format(col, p.add(v.text))
    if v.op is Op.PREFIX:
        return sql.SQL("{} ILIKE {}").format(col, p.add(_like_escape(v.text) + "%"))
    raise BadRequest(f"comparison {v.op.value!r} does not apply to text fields")


def _value_condition(f: SearchField, v: Value, p: Params) -> sql.Composable:
    col = f.column
    if v.op is Op.ANY:
        cond: sql.Composable = sql.SQL("{} IS NOT NULL").format(col)
    elif f.kind is Kind.STRING:
        cond = _string_match(col, v, p)
    elif f.kind is Kind.NUMBER:
        if v.op in (Op.REGEX,):
            raise BadRequest(
                f"search field {f.name!r} is a number; regular expressions do not apply"
            )
        op = _COMPARATORS.get(v.op, "=")
        cond = sql.SQL("{} {} {}").format(col, sql.SQL(op), p.add(_number(v.text, f)))
    elif f.kind is Kind.DATETIME:
        op = _COMPARATORS.get(v.op, "=")
        when = _datetime(v.text, f)
        if op == "=":  # a date names a whole day
            cond = sql.SQL("({} >= {} AND {} < {})").format(
                col, p.add(when), col, p.add(when + dt.timedelta(days=1))
            )
        else:
            cond = sql.SQL("{} {} {}").format(col, sql.SQL(op), p.add(when))
    elif f.kind is Kind.BOOLEAN:
        text = v.text.lower()
        if text not in ("true", "false"):
            raise BadRequest(f"search field {f.name!r} takes true or false, not {v.text!r}")
        cond = sql.SQL("{} = {}").format(col, p.add(text == "true"))
    elif f.kind is Kind.ENUM:
        upper = v.text.upper()
        matches = (
            [e for e in f.enum_values if e.upper().startswith(upper)] if v.op is Op.PREFIX else []
        )
        if v.op in _COMPARATORS and v.op is not Op.EQ:
            if upper not in f.enum_values:
                raise BadRequest(
                    f"search field {f.name!r} takes one of {', '.join(f.enum_values)}, "
                    f"not {v.text!r}"
                )
            rank = f.enum_values.index(upper)
            allowed = [
                e
                for i, e in enumerate(f.enum_values)
                if {"<": i < rank, "<=": i <= rank, ">": i > rank, ">=": i >= rank}[
                    _COMPARATORS[v.op]
                ]
            ]
            cond = sql.SQL("{} = ANY({})").format(col, p.add(allowed))
        elif v.op in (Op.EXACT, Op.EQ):
            # enum columns hold the canonical upper-case names: a plain equality keeps the
            # planner's statistics and indexes usable
            cond = sql.SQL("{} = {}").format(col, p.add(upper))
        elif v.op is Op.REGEX:
            cond = sql.SQL("{} ~* {}").format(col, p.add(v.text))
        else:
            cond = sql.SQL("{} = ANY({})").format(col, p.add(matches))
    else:  # LABELS: key=value, or key alone for "has the label"
        key, eq, val = v.text.partition("=")
        if not key:
            raise BadRequest(f"search field {f.name!r} takes key=value, not {v.text!r}")
        if not eq:
            cond = sql.SQL("({} ? {})").format(col, p.add(key))
        else:
            inner = Value(v.op, val) if v.op is not Op.PREFIX else Value(Op.PREFIX, val)
            cond = sql.SQL("(({} ? {}) AND {})").format(
                col,
                p.add(key),
                _string_match(sql.SQL("({} ->> {})").format(col, p.add(key)), inner, p),
            )
    if f.via is not None:
        cond = sql.SQL("EXISTS ({} AND {})").format(f.via, cond)
    if v.negate:
        return sql.SQL("NOT coalesce(({}), FALSE)").format(cond)
    return cond


def compile_terms(resource: SearchResource, terms: list[Term], p: Params) -> sql.Composable:
    """AND of every term; within a term, OR of its values."""
    conds: list[sql.Composable] = []
    for term in terms:
        f = resource.field(term.field)
        if f is None:
            known = ", ".join(sorted(fl.name for fl in resource.fields))
            raise BadRequest(
                f"unknown search field {term.field!r} for {resource.category.lower()}; "
                f"known fields: {known}"
            )
        ors = [_value_condition(f, v, p) for v in term.values]
        conds.append(sql.SQL("({})").format(sql.SQL(" OR ").join(ors)))
    return sql.SQL(" AND ").join(conds) if conds else sql.SQL("TRUE")


def order_by(resource: SearchResource, page: Pagination) -> sql.Composable:
    name = page.sort_field or resource.default_sort
    f = resource.field(name) if name else None
    if name and f is None:
        raise BadRequest(f"cannot sort {resource.category.lower()} by unknown field {name!r}")
    direction = sql.SQL("DESC" if page.reversed else "ASC")
    if f is None:
        return sql.SQL("ORDER BY {} {}").format(resource.id_column, direction)
    if not f.sortable:
        raise BadRequest(f"{resource.category.lower()} cannot be sorted by {f.name!r}")
    # the id breaks ties, so pages never overlap
    return sql.SQL("ORDER BY {} {} NULLS LAST, {}").format(f.column, direction, resource.id_column)


def pagination_from(params: dict[str, str]) -> Pagination:
    def int_param(name: str, default: int) -> int:
        raw = params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise BadRequest(f"{name} must be a whole number, not {raw!r}") from exc
        if value < 0:
            raise BadRequest(f"{name} must not be negative")
        return value

    limit = int_param("pagination.limit", DEFAULT_LIMIT)
    if limit == 0:
        limit = DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise BadRequest(f"pagination.limit may be at most {MAX_LIMIT}")
    reversed_raw = params.get("pagination.sortOption.reversed", "false").lower()
    if reversed_raw not in ("true", "false", ""):
        raise BadRequest("pagination.sortOption.reversed must be true or false")
    return Pagination(
        limit=limit,
        offset=int_param("pagination.offset", 0),
        sort_field=params.get("pagination.sortOption.field") or None,
        reversed=reversed_raw == "true",
    )
