"""An access scope's rules as form text and back: one cluster per line, one
``cluster/namespace`` per line, and one label selector per line written as requirements
joined by ``;`` (``env IN prod,stage; team EXISTS``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FORM_KEYS = (
    "name",
    "description",
    "clusters",
    "namespaces",
    "cluster_selectors",
    "namespace_selectors",
)
OPS = ("IN", "NOT_IN", "EXISTS", "NOT_EXISTS")
_SELECTOR_KEYS = {
    "cluster_selectors": "clusterLabelSelectors",
    "namespace_selectors": "namespaceLabelSelectors",
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _selector_text(selector: Mapping[str, Any]) -> str:
    parts = []
    for r in selector.get("requirements") or []:
        values = ",".join(r.get("values") or [])
        parts.append(f"{r['key']} {r['op']} {values}".strip())
    return "; ".join(parts)


def form_values(doc: Mapping[str, Any]) -> dict[str, Any]:
    rules = doc.get("rules")
    r: Mapping[str, Any] = rules or {}
    return {
        "name": doc.get("name", ""),
        "description": doc.get("description", ""),
        "clusters": "\n".join(r.get("includedClusters") or []),
        "namespaces": "\n".join(
            f"{n['clusterName']}/{n['namespaceName']}" for n in r.get("includedNamespaces") or []
        ),
        "cluster_selectors": "\n".join(
            _selector_text(s) for s in r.get("clusterLabelSelectors") or []
        ),
        "namespace_selectors": "\n".join(
            _selector_text(s) for s in r.get("namespaceLabelSelectors") or []
        ),
        "builtin": (doc.get("traits") or {}).get("origin") == "DEFAULT",
        "unrestricted": "rules" in doc and rules is None,
    }


def _selector(line: str) -> dict[str, Any]:
    requirements = []
    for part in (p.strip() for p in line.split(";")):
        words = part.split(None, 2)
        if len(words) < 2 or words[1].upper() not in OPS:
            raise ValueError(f"{part!r} is not 'key OPERATOR values' (operators: {', '.join(OPS)})")
        key, op = words[0], words[1].upper()
        values = [v.strip() for v in words[2].split(",") if v.strip()] if len(words) > 2 else []
        if op in ("IN", "NOT_IN") and not values:
            raise ValueError(f"{part!r}: {op} needs values, separated by commas")
        requirements.append({"key": key, "op": op, "values": values})
    return {"requirements": requirements}


def rules_from_form(values: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the API's rules object, errors by form field)."""
    errors: dict[str, str] = {}
    namespaces = []
    for line in _lines(values.get("namespaces", "")):
        cluster, sep, namespace = line.partition("/")
        if not sep or not cluster.strip() or not namespace.strip():
            errors["namespaces"] = f"{line!r} is not cluster/namespace"
            break
        namespaces.append({"clusterName": cluster.strip(), "namespaceName": namespace.strip()})
    rules: dict[str, Any] = {
        "includedClusters": _lines(values.get("clusters", "")),
        "includedNamespaces": namespaces,
    }
    for form_key, api_key in _SELECTOR_KEYS.items():
        selectors = []
        for line in _lines(values.get(form_key, "")):
            try:
                selectors.append(_selector(line))
            except ValueError as exc:
                errors[form_key] = str(exc)
                break
        rules[api_key] = selectors
    return rules, errors


def error_field(message: str) -> str:
    """Which input an API error about a scope belongs beside."""
    if "label selector" in message:
        return "cluster_selectors"
    if "includedNamespaces" in message:
        return "namespaces"
    return "name"
