"""Named parameters for composed SQL: every value a request contributes is sent as a bound
parameter (``%(p0)s``), whatever order the fragments are combined in."""

from __future__ import annotations

from typing import Any

from psycopg import sql


class Params(dict[str, Any]):
    def add(self, value: Any) -> sql.Placeholder:
        name = f"p{len(self)}"
        self[name] = value
        return sql.Placeholder(name)
