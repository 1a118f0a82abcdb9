"""Search fields: how a field name of the query syntax maps onto a column of a resource.

Each searchable resource declares its fields once; the same declaration drives filtering,
sorting, the ``/v1/search`` categories and the field list published in the API docs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from psycopg import sql

from stockade.central.auth.scope_sql import ScopeColumns


class Kind(enum.Enum):
    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    ENUM = "enum"  # ordered values, comparable with > and <
    LABELS = "labels"  # jsonb map, values written key=value


@dataclass(frozen=True)
class SearchField:
    name: str  # as shown to users, e.g. "Deployment Label"
    column: sql.Composable
    kind: Kind = Kind.STRING
    enum_values: tuple[str, ...] = ()  # for ENUM, lowest first
    sortable: bool = True
    # For a field reached through a one-to-many link (an image's namespaces): the condition
    # becomes EXISTS (<via> AND <condition on column>), so "any linked row matches".
    via: sql.Composable | None = None


@dataclass(frozen=True)
class SearchResource:
    """A table (or view) that list routes and ``/v1/search`` query."""

    category: str  # e.g. DEPLOYMENTS
    table: sql.Composable  # FROM clause, with alias
    id_column: sql.Composable
    name_column: sql.Composable
    fields: tuple[SearchField, ...]
    scope: ScopeColumns | None  # None: not cluster/namespace scoped
    permission: str  # resource whose READ access is needed
    location: sql.Composable | None = None
    default_sort: str = ""
    # Objects that belong to no namespace themselves (images, CVEs) are in a caller's scope
    # when a deployment using them is: EXISTS (<scope_via> AND <scope filter on sd.*>), where
    # the template's rows expose the deployment as ``sd``.
    scope_via: sql.Composable | None = None
    _by_name: dict[str, SearchField] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for f in self.fields:
            self._by_name[f.name.lower()] = f

    def field(self, name: str) -> SearchField | None:
        return self._by_name.get(name.strip().lower())
