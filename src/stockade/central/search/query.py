"""Parse the query syntax users of the product we model type into search boxes and URLs.

    Namespace:payments+Deployment:r/web-.*+CVSS:>=7+Image Tag:!latest,"1.0"

* ``Field:values`` pairs joined by ``+`` (AND); the field name is case-insensitive;
* values separated by ``,`` (OR);
* a value may start with ``!`` (negation), ``r/`` (regular expression), a comparator
  (``>``, ``<``, ``>=``, ``<=``, ``==``) or be quoted (``"exact"``, exact match);
* otherwise a value is a case-insensitive prefix.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import unquote

from stockade.central.errors import BadRequest

MAX_QUERY_LENGTH = 4096
MAX_TERMS = 64


class Op(enum.Enum):
    PREFIX = "prefix"
    EXACT = "exact"
    REGEX = "regex"
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    EQ = "=="
    ANY = "*"


@dataclass(frozen=True)
class Value:
    op: Op
    text: str
    negate: bool = False


@dataclass(frozen=True)
class Term:
    field: str  # as written, case preserved for error messages
    values: tuple[Value, ...]


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    buf: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if quoted:
        raise BadRequest(f"query has an unterminated quote: {text!r}")
    parts.append("".join(buf))
    return parts


def _parse_value(raw: str, field: str) -> Value:
    text = raw.strip()
    negate = False
    if text.startswith("!"):
        negate, text = True, text[1:].strip()
    if not text:
        raise BadRequest(f"query field {field!r} has an empty value")
    if text == "*":
        return Value(Op.ANY, "", negate)
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return Value(Op.EXACT, text[1:-1], negate)
    if text.startswith("r/"):
        if len(text) == 2:
            raise BadRequest(f"query field {field!r} has an empty regular expression")
        return Value(Op.REGEX, text[2:], negate)
    for prefix, op in ((">=", Op.GE), ("<=", Op.LE), ("==", Op.EQ), (">", Op.GT), ("<", Op.LT)):
        if text.startswith(prefix):
            rest = text[len(prefix) :].strip()
            if not rest:
                raise BadRequest(f"query field {field!r}: comparator {prefix!r} needs a value")
            return Value(op, rest, negate)
    return Value(Op.PREFIX, text, negate)


def parse_query(query: str) -> list[Term]:
    """Parse a query (already URL-decoded, ``+`` kept as the AND separator)."""
    query = query.strip()
    if not query:
        return []
    if len(query) > MAX_QUERY_LENGTH:
        raise BadRequest(f"query is longer than {MAX_QUERY_LENGTH} characters")
    terms = []
    for chunk in _split_outside_quotes(query, "+"):
        if not chunk.strip():
            continue
        field, sep, rest = chunk.partition(":")
        if not sep:
            raise BadRequest(f"query term {chunk!r} is not of the form Field:value")
        field = field.strip()
        if not field:
            raise BadRequest(f"query term {chunk!r} has no field name")
        values = tuple(_parse_value(v, field) for v in _split_outside_quotes(rest, ","))
        terms.append(Term(field, values))
    if len(terms) > MAX_TERMS:
        raise BadRequest(f"query has more than {MAX_TERMS} terms")
    return terms


def raw_query_param(query_string: bytes, name: str = "query") -> str | None:
    """The value of ``name`` from a raw query string, percent-decoded but with ``+`` kept.

    Form decoding would turn the ``+`` that separates terms into a space; clients of the
    product send it both ways (``+`` and ``%2B``), and both mean AND.
    """
    for pair in query_string.decode("latin-1").split("&"):
        key, _, value = pair.partition("=")
        if unquote(key) == name:
            return unquote(value, encoding="utf-8", errors="strict")
    return None
