"""Collections: named sets of deployments chosen by cluster, namespace and deployment name
(exact or regular expression) and by label (the product's ``resourceSelectors``).

A collection holds the deployments matched by any of its selectors (and those of the
collections it embeds, see collection_store.py); a selector matches a
deployment when every one of its rules does; a rule matches when any of its values does.
Regular expressions are PostgreSQL's and must match the whole name; they are evaluated
only in the database (checked there when saved), so what a dry run shows is what a report
reads. Labels are matched exactly, written ``key=value``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from psycopg import sql

from stockade.central.reports.errors import InvalidReport
from stockade.central.sqlparams import Params

MatchType = Literal["EXACT", "REGEX"]

# field name -> (kind, column); deployments d, clusters cl, namespaces ns
FIELDS: dict[str, tuple[str, sql.Composable]] = {
    "Cluster": ("name", sql.SQL("cl.name")),
    "Namespace": ("name", sql.SQL("d.namespace")),
    "Deployment": ("name", sql.SQL("d.name")),
    "Cluster Label": ("label", sql.SQL("cl.labels")),
    "Namespace Label": ("label", sql.SQL("ns.labels")),
    "Deployment Label": ("label", sql.SQL("d.labels")),
}
MAX_SELECTORS = 20
MAX_VALUES = 200


@dataclass(frozen=True)
class RuleValue:
    value: str
    match: MatchType


@dataclass(frozen=True)
class Rule:
    field: str
    values: tuple[RuleValue, ...]


@dataclass(frozen=True)
class Selector:
    rules: tuple[Rule, ...]


def _list(doc: Any, path: str, *, limit: int) -> list[Any]:
    if not isinstance(doc, list) or not doc:
        raise InvalidReport(path, "must be a non-empty list")
    if len(doc) > limit:
        raise InvalidReport(path, f"has more than {limit} entries")
    return doc


def _value(doc: Any, field: str, path: str) -> RuleValue:
    if not isinstance(doc, Mapping):
        raise InvalidReport(path, "must be an object with value and matchType")
    value = doc.get("value")
    match = doc.get("matchType", "EXACT")
    if not isinstance(value, str) or not value:
        raise InvalidReport(f"{path}.value", "is required")
    if match not in ("EXACT", "REGEX"):
        raise InvalidReport(f"{path}.matchType", f"{match!r} is not EXACT or REGEX")
    if FIELDS[field][0] == "label":
        if match != "EXACT":
            raise InvalidReport(f"{path}.matchType", "labels match EXACT only")
        key, eq, _ = value.partition("=")
        if not eq or not key:
            raise InvalidReport(f"{path}.value", f"{value!r} is not key=value")
    return RuleValue(value, match)


def parse_selectors(doc: Any, path: str = "resourceSelectors") -> tuple[Selector, ...]:
    selectors = []
    for i, sel in enumerate(_list(doc, path, limit=MAX_SELECTORS)):
        sp = f"{path}[{i}]"
        if not isinstance(sel, Mapping):
            raise InvalidReport(sp, "must be an object with rules")
        rules = []
        for j, rule in enumerate(_list(sel.get("rules"), f"{sp}.rules", limit=len(FIELDS))):
            rp = f"{sp}.rules[{j}]"
            if not isinstance(rule, Mapping):
                raise InvalidReport(rp, "must be an object")
            field = rule.get("fieldName")
            if field not in FIELDS:
                raise InvalidReport(
                    f"{rp}.fieldName", f"{field!r} is not one of {', '.join(FIELDS)}"
                )
            if rule.get("operator", "OR") != "OR":
                raise InvalidReport(f"{rp}.operator", "only OR is supported")
            values = _list(rule.get("values"), f"{rp}.values", limit=MAX_VALUES)
            rules.append(
                Rule(
                    field,
                    tuple(_value(v, field, f"{rp}.values[{k}]") for k, v in enumerate(values)),
                )
            )
        selectors.append(Selector(tuple(rules)))
    return tuple(selectors)


def selectors_json(selectors: tuple[Selector, ...]) -> list[dict[str, Any]]:
    return [
        {
            "rules": [
                {
                    "fieldName": r.field,
                    "operator": "OR",
                    "values": [{"value": v.value, "matchType": v.match} for v in r.values],
                }
                for r in s.rules
            ]
        }
        for s in selectors
    ]


def regexes(
    selectors: tuple[Selector, ...], path: str = "resourceSelectors"
) -> list[tuple[str, str]]:
    """(field path, pattern) of every regular expression, to check in the database."""
    out = []
    for i, s in enumerate(selectors):
        for j, r in enumerate(s.rules):
            for k, v in enumerate(r.values):
                if v.match == "REGEX":
                    out.append((f"{path}[{i}].rules[{j}].values[{k}].value", v.value))
    return out


def _value_sql(field: str, v: RuleValue, p: Params) -> sql.Composable:
    kind, column = FIELDS[field]
    if kind == "label":
        key, _, want = v.value.partition("=")
        return sql.SQL("({} ->> {}) = {}").format(column, p.add(key), p.add(want))
    if v.match == "REGEX":
        return sql.SQL("{} ~ ('^(?:' || {} || ')$')").format(column, p.add(v.value))
    return sql.SQL("{} = {}").format(column, p.add(v.value))


def selectors_sql(selectors: tuple[Selector, ...], p: Params) -> sql.Composable:
    """A condition on deployments ``d`` joined with clusters ``cl`` and namespaces ``ns``."""
    ors = []
    for s in selectors:
        ands = [
            sql.SQL("({})").format(
                sql.SQL(" OR ").join(_value_sql(r.field, v, p) for v in r.values)
            )
            for r in s.rules
        ]
        ors.append(sql.SQL("({})").format(sql.SQL(" AND ").join(ands)))
    return sql.SQL("({})").format(sql.SQL(" OR ").join(ors)) if ors else sql.SQL("FALSE")


# The deployments a condition from selectors_sql applies to.
DEPLOYMENTS_FROM = sql.SQL(
    "deployments d JOIN clusters cl ON cl.id = d.cluster_id"
    " LEFT JOIN namespaces ns ON ns.cluster_id = d.cluster_id AND ns.name = d.namespace"
)
