"""The access-control model users of the product we model already know.

A *permission set* gives each resource an access level (no access / read / read-write); an
*access scope* limits which clusters and namespaces are visible; a *role* joins one of each.
Principals (the admin user, API tokens, later SSO users) hold roles.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal


class Access(enum.IntEnum):
    NO_ACCESS = 0
    READ_ACCESS = 1
    READ_WRITE_ACCESS = 2


RESOURCES: tuple[str, ...] = (
    "Access",
    "Administration",
    "Alert",
    "CVE",
    "Cluster",
    "Compliance",
    "Deployment",
    "DeploymentExtension",
    "Detection",
    "Image",
    "Integration",
    "K8sRole",
    "K8sRoleBinding",
    "K8sSubject",
    "Namespace",
    "NetworkGraph",
    "NetworkPolicy",
    "Node",
    "Secret",
    "ServiceAccount",
    "VulnerabilityManagementApprovals",
    "VulnerabilityManagementRequests",
    "WatchedImage",
    "WorkflowAdministration",
)


@dataclass(frozen=True)
class PermissionSet:
    id: str
    name: str
    resource_to_access: Mapping[str, Access]
    description: str = ""
    builtin: bool = False

    def access(self, resource: str) -> Access:
        return self.resource_to_access.get(resource, Access.NO_ACCESS)


LabelOp = Literal["IN", "NOT_IN", "EXISTS", "NOT_EXISTS"]


@dataclass(frozen=True)
class LabelRequirement:
    key: str
    op: LabelOp
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[LabelRequirement, ...]


@dataclass(frozen=True)
class ScopeRules:
    """Which clusters/namespaces an access scope includes; an object is in scope when any
    rule includes it (its cluster, its namespace, or a label selector)."""

    included_clusters: tuple[str, ...] = ()
    included_namespaces: tuple[tuple[str, str], ...] = ()  # (cluster name, namespace)
    cluster_label_selectors: tuple[LabelSelector, ...] = ()
    namespace_label_selectors: tuple[LabelSelector, ...] = ()

    def is_empty(self) -> bool:
        return not (
            self.included_clusters
            or self.included_namespaces
            or self.cluster_label_selectors
            or self.namespace_label_selectors
        )


@dataclass(frozen=True)
class AccessScope:
    id: str
    name: str
    rules: ScopeRules | None  # None: unrestricted
    description: str = ""
    builtin: bool = False


@dataclass(frozen=True)
class Role:
    name: str
    permission_set: PermissionSet
    access_scope: AccessScope
    description: str = ""
    builtin: bool = False


# ---- JSON shapes of the public API (camelCase, as the product's API) ------------------------


def _selector_from_json(doc: Mapping[str, Any]) -> LabelSelector:
    reqs = []
    for r in doc.get("requirements") or []:
        op = str(r.get("op", "")).upper()
        if op not in ("IN", "NOT_IN", "EXISTS", "NOT_EXISTS"):
            raise ValueError(
                f"label selector operator {r.get('op')!r} is not one of "
                "IN, NOT_IN, EXISTS, NOT_EXISTS"
            )
        key = r.get("key")
        if not isinstance(key, str) or not key:
            raise ValueError("label selector requirement needs a key")
        reqs.append(LabelRequirement(key, op, tuple(str(v) for v in r.get("values") or ())))  # type: ignore[arg-type]
    return LabelSelector(tuple(reqs))


def rules_from_json(doc: Mapping[str, Any] | None) -> ScopeRules | None:
    if doc is None:
        return None
    namespaces = []
    for ns in doc.get("includedNamespaces") or []:
        cluster, name = ns.get("clusterName"), ns.get("namespaceName")
        if not isinstance(cluster, str) or not isinstance(name, str):
            raise ValueError(  # noqa: TRY004
                "includedNamespaces entries need clusterName and namespaceName"
            )
        namespaces.append((cluster, name))
    return ScopeRules(
        included_clusters=tuple(str(c) for c in doc.get("includedClusters") or ()),
        included_namespaces=tuple(namespaces),
        cluster_label_selectors=tuple(
            _selector_from_json(s) for s in doc.get("clusterLabelSelectors") or ()
        ),
        namespace_label_selectors=tuple(
            _selector_from_json(s) for s in doc.get("namespaceLabelSelectors") or ()
        ),
    )


def _selector_to_json(sel: LabelSelector) -> dict[str, Any]:
    return {
        "requirements": [
            {"key": r.key, "op": r.op, "values": list(r.values)} for r in sel.requirements
        ]
    }


def rules_to_json(rules: ScopeRules | None) -> dict[str, Any] | None:
    if rules is None:
        return None
    return {
        "includedClusters": list(rules.included_clusters),
        "includedNamespaces": [
            {"clusterName": c, "namespaceName": n} for c, n in rules.included_namespaces
        ],
        "clusterLabelSelectors": [_selector_to_json(s) for s in rules.cluster_label_selectors],
        "namespaceLabelSelectors": [_selector_to_json(s) for s in rules.namespace_label_selectors],
    }


def access_map_from_json(doc: Mapping[str, Any]) -> dict[str, Access]:
    out: dict[str, Access] = {}
    for resource, level in doc.items():
        if resource not in RESOURCES:
            raise ValueError(f"unknown resource {resource!r}")
        try:
            out[resource] = Access[str(level)]
        except KeyError as exc:
            raise ValueError(
                f"access level {level!r} for {resource} is not NO_ACCESS, READ_ACCESS or "
                "READ_WRITE_ACCESS"
            ) from exc
    return out


def access_map_to_json(access: Mapping[str, Access]) -> dict[str, str]:
    return {r: access.get(r, Access.NO_ACCESS).name for r in RESOURCES}


# ---- Built-in permission sets, scopes and roles ----------------------------------------------

_ALL_RW = {r: Access.READ_WRITE_ACCESS for r in RESOURCES}
_ALL_READ = {r: Access.READ_ACCESS for r in RESOURCES if r != "Administration"}
_VULN_READ = {r: Access.READ_ACCESS for r in ("CVE", "Cluster", "Deployment", "Image", "Namespace")}

BUILTIN_PERMISSION_SETS: tuple[PermissionSet, ...] = (
    PermissionSet(
        "io.stockade.permissionset.admin",
        "Admin",
        _ALL_RW,
        "Full read and write access to every resource",
        True,
    ),
    PermissionSet(
        "io.stockade.permissionset.analyst",
        "Analyst",
        _ALL_READ,
        "Read access to every resource except administration",
        True,
    ),
    PermissionSet(
        "io.stockade.permissionset.ci",
        "Continuous Integration",
        {"Detection": Access.READ_ACCESS, "Image": Access.READ_WRITE_ACCESS},
        "What a CI pipeline needs: scan images and run build/deploy checks",
        True,
    ),
    PermissionSet("io.stockade.permissionset.none", "None", {}, "No access to any resource", True),
    PermissionSet(
        "io.stockade.permissionset.sensor-creator",
        "Sensor Creator",
        {"Cluster": Access.READ_WRITE_ACCESS, "Administration": Access.READ_WRITE_ACCESS},
        "Create secured clusters and the bundles their Sensors need",
        True,
    ),
    PermissionSet(
        "io.stockade.permissionset.vuln-requester",
        "Vulnerability Management Requester",
        {**_VULN_READ, "VulnerabilityManagementRequests": Access.READ_WRITE_ACCESS},
        "Request deferrals and false-positive marks for vulnerabilities",
        True,
    ),
    PermissionSet(
        "io.stockade.permissionset.vuln-approver",
        "Vulnerability Management Approver",
        {**_VULN_READ, "VulnerabilityManagementApprovals": Access.READ_WRITE_ACCESS},
        "Approve or deny vulnerability exception requests",
        True,
    ),
)

UNRESTRICTED_SCOPE = AccessScope(
    "io.stockade.accessscope.unrestricted",
    "Unrestricted",
    None,
    "Every cluster and namespace",
    True,
)
DENY_ALL_SCOPE = AccessScope(
    "io.stockade.accessscope.denyall", "Deny All", ScopeRules(), "No cluster or namespace", True
)
BUILTIN_SCOPES = (UNRESTRICTED_SCOPE, DENY_ALL_SCOPE)

BUILTIN_ROLES: tuple[Role, ...] = tuple(
    Role(ps.name, ps, UNRESTRICTED_SCOPE, ps.description, True) for ps in BUILTIN_PERMISSION_SETS
)

ADMIN_ROLE = "Admin"


@dataclass(frozen=True)
class RoleSet:
    """The roles a principal holds, resolved for permission and scope checks."""

    roles: tuple[Role, ...] = field(default_factory=tuple)

    @cached_property
    def effective(self) -> dict[str, Access]:
        """Resource -> the highest access any role grants (computed once per role set)."""
        return {
            res: max((r.permission_set.access(res) for r in self.roles), default=Access.NO_ACCESS)
            for res in RESOURCES
        }

    def access(self, resource: str) -> Access:
        return self.effective.get(resource, Access.NO_ACCESS)

    def scopes_for(self, resource: str, needed: Access) -> list[ScopeRules | None]:
        """The scopes of the roles that grant ``needed`` on ``resource`` (None = unrestricted)."""
        return [
            r.access_scope.rules for r in self.roles if r.permission_set.access(resource) >= needed
        ]

    def names(self) -> list[str]:
        return [r.name for r in self.roles]
