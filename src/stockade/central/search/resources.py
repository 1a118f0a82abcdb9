"""The searchable resources Central knows today; each later feature adds its own here."""

from __future__ import annotations

from psycopg import sql

from stockade.central.auth.scope_sql import ScopeColumns
from stockade.central.search.fields import Kind, SearchField, SearchResource

S = sql.SQL

CLUSTERS = SearchResource(
    category="CLUSTERS",
    table=S("clusters c"),
    id_column=S("c.id"),
    name_column=S("c.name"),
    fields=(
        SearchField("Cluster", S("c.name")),
        SearchField("Cluster ID", S("c.id::text")),
        SearchField("Cluster Label", S("c.labels"), Kind.LABELS, sortable=False),
        SearchField("Cluster Type", S("c.type")),
        SearchField("Created", S("c.created_at"), Kind.DATETIME),
    ),
    scope=ScopeColumns(cluster_id=S("c.id")),
    permission="Cluster",
    default_sort="Cluster",
)

NAMESPACES = SearchResource(
    category="NAMESPACES",
    table=S("namespaces n JOIN clusters nc ON nc.id = n.cluster_id"),
    id_column=S("n.id"),
    name_column=S("n.name"),
    fields=(
        SearchField("Namespace", S("n.name")),
        SearchField("Namespace ID", S("n.id::text")),
        SearchField("Namespace Label", S("n.labels"), Kind.LABELS, sortable=False),
        SearchField("Cluster", S("nc.name")),
        SearchField("Cluster ID", S("n.cluster_id::text")),
        SearchField("Created", S("n.created_at"), Kind.DATETIME),
    ),
    scope=ScopeColumns(cluster_id=S("n.cluster_id"), namespace=S("n.name")),
    permission="Namespace",
    location=S("nc.name"),
    default_sort="Namespace",
)

DEPLOYMENTS = SearchResource(
    category="DEPLOYMENTS",
    table=S("deployments d JOIN clusters dc ON dc.id = d.cluster_id"),
    id_column=S("d.id"),
    name_column=S("d.name"),
    fields=(
        SearchField("Deployment", S("d.name")),
        SearchField("Deployment ID", S("d.id::text")),
        SearchField("Deployment Label", S("d.labels"), Kind.LABELS, sortable=False),
        SearchField("Deployment Type", S("d.type")),
        SearchField("Namespace", S("d.namespace")),
        SearchField("Cluster", S("dc.name")),
        SearchField("Cluster ID", S("d.cluster_id::text")),
        SearchField("Replicas", S("d.replicas"), Kind.NUMBER),
        SearchField("Created", S("d.created_at"), Kind.DATETIME),
    ),
    scope=ScopeColumns(cluster_id=S("d.cluster_id"), namespace=S("d.namespace")),
    permission="Deployment",
    location=S("dc.name || '/' || d.namespace"),
    default_sort="Deployment",
)

POLICIES = SearchResource(
    category="POLICIES",
    table=S("policies p"),
    id_column=S("p.id"),
    name_column=S("p.name"),
    fields=(
        SearchField("Policy", S("p.name")),
        SearchField("Policy ID", S("p.id")),
        SearchField("Category", S("array_to_string(p.categories, ',')"), sortable=False),
        SearchField(
            "Severity",
            S("p.severity"),
            Kind.ENUM,
            enum_values=("LOW_SEVERITY", "MEDIUM_SEVERITY", "HIGH_SEVERITY", "CRITICAL_SEVERITY"),
        ),
        SearchField(
            "Lifecycle Stage", S("array_to_string(p.lifecycle_stages, ',')"), sortable=False
        ),
        SearchField("Enforcement", S("p.enforced"), Kind.BOOLEAN),
        SearchField("Disabled", S("p.disabled"), Kind.BOOLEAN),
        SearchField("Default", S("p.is_default"), Kind.BOOLEAN),
        SearchField("Policy Last Updated", S("p.updated_at"), Kind.DATETIME),
    ),
    scope=None,
    permission="WorkflowAdministration",
    default_sort="Policy",
)

ALERTS = SearchResource(
    category="ALERTS",
    table=S("alerts a"),
    id_column=S("a.id"),
    name_column=S("a.policy_name"),
    fields=(
        SearchField("Policy", S("a.policy_name")),
        SearchField("Policy ID", S("a.policy_id")),
        SearchField(
            "Severity",
            S("a.severity"),
            Kind.ENUM,
            enum_values=("LOW_SEVERITY", "MEDIUM_SEVERITY", "HIGH_SEVERITY", "CRITICAL_SEVERITY"),
        ),
        SearchField("Category", S("array_to_string(a.categories, ',')"), sortable=False),
        SearchField(
            "Lifecycle Stage",
            S("a.lifecycle_stage"),
            Kind.ENUM,
            enum_values=("BUILD", "DEPLOY", "RUNTIME"),
        ),
        SearchField(
            "Violation State",
            S("a.state"),
            Kind.ENUM,
            enum_values=("ACTIVE", "ATTEMPTED", "RESOLVED"),
        ),
        SearchField("Violation Time", S("a.updated_at"), Kind.DATETIME),
        SearchField("Cluster", S("a.cluster_name")),
        SearchField("Cluster ID", S("a.cluster_id::text")),
        SearchField("Namespace", S("a.namespace")),
        SearchField("Deployment", S("a.deployment_name")),
        SearchField("Deployment ID", S("a.deployment_id::text")),
        SearchField("Image", S("a.image_name")),
        SearchField("Enforcement", S("(a.enforcement IS NOT NULL)"), Kind.BOOLEAN),
    ),
    scope=ScopeColumns(cluster_id=S("a.cluster_id"), namespace=S("a.namespace")),
    permission="Alert",
    location=S("a.cluster_name || '/' || a.namespace || '/' || a.deployment_name"),
    default_sort="Violation Time",
)

SEARCHABLE: tuple[SearchResource, ...] = (
    CLUSTERS,
    NAMESPACES,
    DEPLOYMENTS,
    POLICIES,
    ALERTS,
)
