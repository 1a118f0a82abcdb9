"""Small constructors for policies and objects used across the policy tests."""

from __future__ import annotations

from typing import Any

from stockade.model.deployment import Container, Deployment
from stockade.model.image import Component, Image, ImageName, Severity, Vulnerability
from stockade.policy import Policy, policy_from_json


def policy(
    *sections: list[dict[str, Any]],
    stages: tuple[str, ...] = ("DEPLOY",),
    name: str = "p",
    **extra: Any,
) -> Policy:
    data: dict[str, Any] = {
        "name": name,
        "lifecycleStages": list(stages),
        "severity": "LOW_SEVERITY",
        "policySections": [{"policyGroups": groups} for groups in sections],
    }
    data.update(extra)
    return policy_from_json(data)


def group(field: str, *values: str, negate: bool = False, op: str = "OR") -> dict[str, Any]:
    return {
        "fieldName": field,
        "booleanOperator": op,
        "negate": negate,
        "values": [{"value": v} for v in values],
    }


def container(name: str = "web", image: str = "nginx:1.25", **kw: Any) -> Container:
    return Container(name=name, image=ImageName.parse(image), **kw)


def deployment(*containers: Container, name: str = "web", **kw: Any) -> Deployment:
    return Deployment(name=name, containers=containers or (container(),), **kw)


def cve(
    cve_id: str, cvss: float = 5.0, fixed_by: str = "", severity: str = "MODERATE"
) -> Vulnerability:
    return Vulnerability(cve=cve_id, cvss=cvss, fixed_by=fixed_by, severity=Severity[severity])


def image(ref: str = "nginx:1.25", *components: Component, **kw: Any) -> Image:
    import datetime as dt

    kw.setdefault("scanned", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    kw.setdefault(
        "id", f"sha256:{abs(hash((ref, components, tuple(sorted(kw.items(), key=str))))):064x}"
    )
    return Image(name=ImageName.parse(ref), components=components, **kw)
