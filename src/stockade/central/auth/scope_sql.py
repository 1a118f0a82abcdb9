"""Access scopes compiled to SQL, so every store query is filtered in the database itself.

The filter is a parameterised WHERE fragment built with :mod:`psycopg.sql`; nothing from a
scope or a request is ever pasted into SQL text. Counts and aggregates use the same fragment,
so a user scoped to one namespace cannot learn anything about another, not even how many
objects it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from stockade.central.auth.model import LabelSelector, ScopeRules
from stockade.central.sqlparams import Params

TRUE = sql.SQL("TRUE")
FALSE = sql.SQL("FALSE")


@dataclass(frozen=True)
class ScopeColumns:
    """Where a table keeps the cluster id and (for namespaced objects) the namespace name."""

    cluster_id: sql.Composable
    namespace: sql.Composable | None = None


def _selector(sel: LabelSelector, labels: sql.Composable, p: Params) -> sql.Composable:
    parts: list[sql.Composable] = []
    for req in sel.requirements:
        key = p.add(req.key)
        if req.op == "IN":
            parts.append(
                sql.SQL("({} ->> {}) = ANY({})").format(labels, key, p.add(list(req.values)))
            )
        elif req.op == "NOT_IN":
            parts.append(
                sql.SQL("(NOT ({} ? {}) OR ({} ->> {}) <> ALL({}))").format(
                    labels, key, labels, key, p.add(list(req.values))
                )
            )
        elif req.op == "EXISTS":
            parts.append(sql.SQL("({} ? {})").format(labels, key))
        else:
            parts.append(sql.SQL("(NOT ({} ? {}))").format(labels, key))
    # An empty selector selects everything, as in Kubernetes.
    return sql.SQL(" AND ").join(parts) if parts else TRUE


def _one_scope(rules: ScopeRules, cols: ScopeColumns, p: Params) -> sql.Composable:
    ors: list[sql.Composable] = []
    if rules.included_clusters:
        ors.append(
            sql.SQL("{} IN (SELECT id FROM clusters WHERE name = ANY({}))").format(
                cols.cluster_id, p.add(list(rules.included_clusters))
            )
        )
    for sel in rules.cluster_label_selectors:
        ors.append(
            sql.SQL("{} IN (SELECT id FROM clusters WHERE {})").format(
                cols.cluster_id, _selector(sel, sql.Identifier("labels"), p)
            )
        )
    pairs = sql.SQL("unnest({}::text[], {}::text[]) AS x(cl, ns)").format(
        p.add([c for c, _ in rules.included_namespaces]),
        p.add([n for _, n in rules.included_namespaces]),
    )
    if cols.namespace is None:
        # A cluster-level object (the cluster itself) is visible when any namespace in it is.
        if rules.included_namespaces:
            ors.append(
                sql.SQL("{} IN (SELECT c.id FROM clusters c, {} WHERE c.name = x.cl)").format(
                    cols.cluster_id, pairs
                )
            )
        for sel in rules.namespace_label_selectors:
            ors.append(
                sql.SQL("{} IN (SELECT cluster_id FROM namespaces WHERE {})").format(
                    cols.cluster_id, _selector(sel, sql.Identifier("labels"), p)
                )
            )
    else:
        if rules.included_namespaces:
            ors.append(
                sql.SQL(
                    "EXISTS (SELECT 1 FROM clusters c, {} WHERE c.id = {} AND c.name = x.cl"
                    " AND x.ns = {})"
                ).format(pairs, cols.cluster_id, cols.namespace)
            )
        for sel in rules.namespace_label_selectors:
            ors.append(
                sql.SQL(
                    "EXISTS (SELECT 1 FROM namespaces n WHERE n.cluster_id = {} AND n.name = {}"
                    " AND {})"
                ).format(cols.cluster_id, cols.namespace, _selector(sel, sql.SQL("n.labels"), p))
            )
    if not ors:
        return FALSE
    return sql.SQL("({})").format(sql.SQL(" OR ").join(ors))


def scope_filter(scopes: list[ScopeRules | None], cols: ScopeColumns, p: Params) -> sql.Composable:
    """OR of the caller's scopes that grant the needed access; FALSE when there are none."""
    if any(s is None for s in scopes):
        return TRUE
    parts = [_one_scope(s, cols, p) for s in scopes if s is not None]
    if not parts:
        return FALSE
    return sql.SQL("({})").format(sql.SQL(" OR ").join(parts))
