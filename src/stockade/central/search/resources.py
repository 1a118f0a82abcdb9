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
        SearchField(
            "Category",
            S("pc.v"),
            sortable=False,
            via=S("SELECT 1 FROM unnest(p.categories) AS pc(v) WHERE TRUE"),
        ),
        SearchField(
            "Severity",
            S("p.severity"),
            Kind.ENUM,
            enum_values=("LOW_SEVERITY", "MEDIUM_SEVERITY", "HIGH_SEVERITY", "CRITICAL_SEVERITY"),
        ),
        # one match per element: "Lifecycle Stage:DEPLOY" finds BUILD+DEPLOY policies too
        SearchField(
            "Lifecycle Stage",
            S("ps.v"),
            Kind.ENUM,
            sortable=False,
            enum_values=("BUILD", "DEPLOY", "RUNTIME"),
            via=S("SELECT 1 FROM unnest(p.lifecycle_stages) AS ps(v) WHERE TRUE"),
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
        SearchField(
            "Category",
            S("ac.v"),
            sortable=False,
            via=S("SELECT 1 FROM unnest(a.categories) AS ac(v) WHERE TRUE"),
        ),
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

SEVERITY_ORDER = ("UNKNOWN", "LOW", "MODERATE", "IMPORTANT", "CRITICAL")


def _deployment_link(image_id: str) -> sql.Composable:
    return sql.SQL(
        "SELECT 1 FROM deployment_images di JOIN deployments sd ON sd.id = di.deployment_id"
        " JOIN clusters sc ON sc.id = sd.cluster_id WHERE di.image_id = {}"
    ).format(sql.SQL(image_id))


def _usage_fields(image_id: str) -> tuple[SearchField, ...]:
    via = _deployment_link(image_id)
    return (
        SearchField("Cluster", S("sc.name"), via=via, sortable=False),
        SearchField("Cluster ID", S("sd.cluster_id::text"), via=via, sortable=False),
        SearchField("Namespace", S("sd.namespace"), via=via, sortable=False),
        SearchField("Deployment", S("sd.name"), via=via, sortable=False),
        SearchField("Deployment ID", S("sd.id::text"), via=via, sortable=False),
    )


IMAGES = SearchResource(
    category="IMAGES",
    table=S("images i"),
    id_column=S("i.id"),
    name_column=S("i.name"),
    fields=(
        SearchField("Image", S("i.name")),
        SearchField("Image SHA", S("i.id")),
        SearchField("Image Registry", S("i.registry")),
        SearchField("Image Remote", S("i.remote")),
        SearchField("Image Tag", S("i.tag")),
        SearchField("Image OS", S("i.os")),
        SearchField("Image Scan Time", S("i.scanned_at"), Kind.DATETIME),
        SearchField("Image Created Time", S("i.created"), Kind.DATETIME),
        SearchField("Image Scan State", S("i.scan_state")),
        SearchField("CVE Count", S("i.cves_count"), Kind.NUMBER),
        SearchField("Fixable CVE Count", S("i.fixable_cves_count"), Kind.NUMBER),
        SearchField("Top CVSS", S("i.top_cvss"), Kind.NUMBER),
        SearchField("Component Count", S("i.components_count"), Kind.NUMBER),
        SearchField(
            "CVE",
            S("f.cve_id"),
            sortable=False,
            via=S("SELECT 1 FROM image_cves f WHERE f.image_id = i.id"),
        ),
        SearchField(
            "Severity",
            S("f.severity"),
            Kind.ENUM,
            enum_values=SEVERITY_ORDER,
            sortable=False,
            via=S("SELECT 1 FROM image_cves f WHERE f.image_id = i.id"),
        ),
        SearchField(
            "Fixable",
            S("f.fixable"),
            Kind.BOOLEAN,
            sortable=False,
            via=S("SELECT 1 FROM image_cves f WHERE f.image_id = i.id"),
        ),
        SearchField(
            "Component",
            S("ic.name"),
            sortable=False,
            via=S("SELECT 1 FROM image_components ic WHERE ic.image_id = i.id"),
        ),
        *_usage_fields("i.id"),
    ),
    scope=None,
    scope_via=_deployment_link("i.id"),
    permission="Image",
    default_sort="Image",
)

FINDINGS = SearchResource(
    category="VULNERABILITIES",
    # LEFT JOINs on unique keys whose rows always exist (foreign keys; a scan stores an
    # image's components and findings together): the same rows as inner joins, but PostgreSQL
    # drops a LEFT JOIN whose columns a query does not use, so a CVE list without image or
    # component terms never joins a million findings to their components.
    table=S(
        "image_cves f LEFT JOIN cves c ON c.id = f.cve_id"
        " LEFT JOIN images i ON i.id = f.image_id"
        " LEFT JOIN image_components ic ON ic.image_id = f.image_id AND ic.idx = f.component_idx"
    ),
    id_column=S("f.cve_id"),
    name_column=S("f.cve_id"),
    fields=(
        SearchField("CVE", S("f.cve_id")),
        SearchField("Severity", S("f.severity"), Kind.ENUM, enum_values=SEVERITY_ORDER),
        SearchField("CVSS", S("f.cvss"), Kind.NUMBER),
        SearchField("Fixable", S("f.fixable"), Kind.BOOLEAN),
        SearchField("Fixed By", S("f.fixed_by")),
        SearchField(
            "Vulnerability State",
            S("f.state"),
            Kind.ENUM,
            enum_values=("OBSERVED", "DEFERRED", "FALSE_POSITIVE"),
        ),
        SearchField("EPSS", S("c.epss"), Kind.NUMBER),
        SearchField("Known Exploited", S("c.kev"), Kind.BOOLEAN),
        SearchField("KEV", S("c.kev"), Kind.BOOLEAN),
        SearchField("CVE Published On", S("c.published"), Kind.DATETIME),
        SearchField("First Seen", S("c.first_seen_system"), Kind.DATETIME),
        SearchField("First Image Occurrence", S("f.first_seen_image"), Kind.DATETIME),
        SearchField("Image", S("i.name")),
        SearchField("Image SHA", S("i.id")),
        SearchField("Component", S("ic.name")),
        SearchField("Component Version", S("ic.version")),
        SearchField("Component Source", S("ic.source")),
        *_usage_fields("f.image_id"),
    ),
    scope=None,
    scope_via=_deployment_link("f.image_id"),
    permission="Image",
    default_sort="CVE",
)

# Findings' fields by how they vary. CVE_FACTS are the CVE's own (the same on every finding
# of it); FINDING_SCORES may differ between two findings of one CVE in one image (two
# components, two sources); IMAGE_FACTS hold for every finding of one image.
CVE_FACTS = frozenset({"CVE", "EPSS", "Known Exploited", "KEV", "CVE Published On", "First Seen"})
FINDING_SCORES = frozenset({"Severity", "CVSS", "Fixable"})
IMAGE_FACTS = frozenset({"Image", "Image SHA", *(f.name for f in _usage_fields("f.image_id"))})

# The same CVE list from the totals kept at write time (store/vuln_totals.py): one row per
# (CVE, rolled-up severity, CVSS, fixability) with its image count. Only CVE-level fields;
# callers use it when nothing else narrows the findings (see api/vulnerabilities.py).
CVE_TOTALS = SearchResource(
    category="VULNERABILITIES",
    table=S("(SELECT * FROM cve_image_buckets WHERE images > 0) f JOIN cves c ON c.id = f.cve_id"),
    id_column=S("f.cve_id"),
    name_column=S("f.cve_id"),
    fields=tuple(f for f in FINDINGS.fields if f.name in CVE_FACTS | FINDING_SCORES),
    scope=None,
    scope_via=None,
    permission="Image",
    default_sort="CVE",
)

COMPONENTS = SearchResource(
    category="IMAGE_COMPONENTS",
    table=S("image_components ic LEFT JOIN images i ON i.id = ic.image_id"),  # as FINDINGS
    id_column=S("ic.name"),
    name_column=S("ic.name"),
    fields=(
        SearchField("Component", S("ic.name")),
        SearchField("Component Version", S("ic.version")),
        SearchField("Component Source", S("ic.source")),
        SearchField("Image", S("i.name")),
        SearchField("Image SHA", S("i.id")),
        SearchField(
            "CVE",
            S("f.cve_id"),
            sortable=False,
            via=S(
                "SELECT 1 FROM image_cves f WHERE f.image_id = ic.image_id"
                " AND f.component_idx = ic.idx"
            ),
        ),
        # the component's kind has a fixable finding in the image (kept by the images store)
        SearchField("Fixable", S("ic.has_fixable"), Kind.BOOLEAN, sortable=False),
        *_usage_fields("ic.image_id"),
    ),
    scope=None,
    scope_via=_deployment_link("ic.image_id"),
    permission="Image",
    default_sort="Component",
)

SEARCHABLE: tuple[SearchResource, ...] = (
    CLUSTERS,
    NAMESPACES,
    DEPLOYMENTS,
    POLICIES,
    ALERTS,
)
