"""Manifests of every workload kind normalise into the deployment model; hostile YAML fails fast."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from stockade.model.deployment import EnvVarSource, PortExposure
from stockade.workload import ManifestError, load_deployments, parse_quantity

POD_SPEC = """
      serviceAccountName: builder
      automountServiceAccountToken: false
      hostNetwork: true
      containers:
      - name: main
        image: quay.io/acme/app:2.0@sha256:abcdef
        securityContext:
          privileged: true
          readOnlyRootFilesystem: true
          capabilities: {add: [net_admin], drop: [ALL]}
          seccompProfile: {type: Unconfined}
        resources:
          requests: {cpu: 250m, memory: 64Mi}
          limits: {cpu: "2", memory: 1Gi}
        env:
        - {name: A, value: "1"}
        - {name: B, valueFrom: {secretKeyRef: {name: s, key: k}}}
        - {name: C, valueFrom: {configMapKeyRef: {name: c, key: k}}}
        - {name: D, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        ports: [{containerPort: 9090, hostPort: 9090, protocol: UDP}]
        volumeMounts:
        - {name: host, mountPath: /host, mountPropagation: Bidirectional}
        - {name: sec, mountPath: /secrets, readOnly: true}
        livenessProbe: {exec: {command: [true]}}
      volumes:
      - {name: host, hostPath: {path: /var/lib}}
      - {name: sec, secret: {secretName: creds}}
"""


def _indent(text: str, n: int) -> str:
    return "\n".join((" " * n + line[6:]) if line.strip() else line for line in text.splitlines())


def manifest(kind: str) -> str:
    if kind == "Pod":
        return f"apiVersion: v1\nkind: Pod\nmetadata: {{name: x, namespace: ns}}\nspec:\n{_indent(POD_SPEC, 2)}\n"
    if kind == "CronJob":
        return (
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: x, namespace: ns}\nspec:\n"
            "  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n"
            f"{_indent(POD_SPEC, 10)}\n"
        )
    return (
        f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: x, namespace: ns}}\nspec:\n  replicas: 4\n"
        f"  template:\n    metadata: {{labels: {{app: x}}}}\n    spec:\n{_indent(POD_SPEC, 6)}\n"
    )


KINDS = [
    "Deployment",
    "Pod",
    "DaemonSet",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "DeploymentConfig",
]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind(kind: str) -> None:
    [d] = load_deployments(manifest(kind))
    assert (d.kind, d.name, d.namespace) == (kind, "x", "ns")
    assert (
        d.service_account == "builder" and not d.automount_service_account_token and d.host_network
    )
    [c] = d.containers
    assert (c.image.registry, c.image.remote, c.image.tag, c.image.digest) == (
        "quay.io",
        "acme/app",
        "2.0",
        "sha256:abcdef",
    )
    assert c.privileged and c.read_only_root_filesystem
    assert c.add_capabilities == ("NET_ADMIN",) and c.drop_capabilities == ("ALL",)
    assert c.seccomp_profile_type == "UNCONFINED"
    assert (c.cpu_request, c.cpu_limit, c.memory_request, c.memory_limit) == (
        0.25,
        2.0,
        64.0,
        1024.0,
    )
    assert [e.source for e in c.env] == [
        EnvVarSource.RAW,
        EnvVarSource.SECRET_KEY,
        EnvVarSource.CONFIG_MAP_KEY,
        EnvVarSource.FIELD,
    ]
    [p] = c.ports
    assert (p.container_port, p.protocol, p.exposure, p.node_port) == (
        9090,
        "UDP",
        PortExposure.HOST,
        9090,
    )
    host, sec = c.volumes
    assert (host.type, host.source, host.destination, host.mount_propagation, host.read_only) == (
        "HostPath",
        "/var/lib",
        "/host",
        "BIDIRECTIONAL",
        False,
    )
    assert (sec.type, sec.source, sec.read_only) == ("Secret", "creds", True)
    assert c.liveness_probe and not c.readiness_probe
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        assert d.replicas == 4


def test_list_multi_document_and_helm_output() -> None:
    text = (
        "# Source: chart/templates/a.yaml\n---\n"
        + manifest("Deployment")
        + "---\n# Source: chart/templates/empty.yaml\n---\n"
        + "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p1}\n  spec: {containers: [{name: c, image: busybox}]}\n"
        + "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: cm}\n"
    )
    deps = load_deployments(text, default_namespace="team")
    assert [(d.kind, d.name, d.namespace) for d in deps] == [
        ("Deployment", "x", "ns"),
        ("Pod", "p1", "team"),
    ]
    assert deps[1].containers[0].image.full_name == "docker.io/library/busybox:latest"


def test_services_and_network_policies_apply() -> None:
    text = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec:
  template:
    metadata: {labels: {app: web, tier: fe}}
    spec:
      containers: [{name: w, image: nginx, ports: [{containerPort: 80, name: http}, {containerPort: 9000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: a}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 443, targetPort: http, nodePort: 31000}]}
---
apiVersion: v1
kind: Service
metadata: {name: other-ns, namespace: b}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 9000, targetPort: 9000}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np, namespace: a}
spec:
  podSelector: {matchExpressions: [{key: tier, operator: In, values: [fe]}]}
  egress: [{}]
"""
    [d] = load_deployments(text)
    http, metrics = d.containers[0].ports
    assert (http.exposure, http.node_port) == (PortExposure.EXTERNAL, 31000)
    assert metrics.exposure is PortExposure.UNSET
    assert d.has_ingress_network_policy and d.has_egress_network_policy


@pytest.mark.parametrize(
    ("q", "v"),
    [("500m", 0.5), ("2", 2.0), ("1Gi", 2.0**30), ("1.5k", 1500.0), ("bogus", 0.0), (3, 3.0)],
)
def test_quantities(q: object, v: float) -> None:
    assert parse_quantity(q) == v


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_yaml_bomb_is_refused_quickly_and_cheaply() -> None:
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(ManifestError, match="alias bomb"):
        load_deployments(_bomb())
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 20 * 2**20


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(ManifestError):
        load_deployments("a: &a [*a]\n")


def test_ten_megabyte_manifest_is_refused() -> None:
    text = "kind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: " + "x" * (10 * 2**20) + "\n"
    start = time.perf_counter()
    with pytest.raises(ManifestError, match="MiB limit"):
        load_deployments(text)
    assert time.perf_counter() - start < 1.0


def test_invalid_yaml_and_non_objects() -> None:
    with pytest.raises(ManifestError, match="not valid YAML at line"):
        load_deployments("a: [1,\n")
    with pytest.raises(ManifestError, match="not a Kubernetes object"):
        load_deployments("- just\n- a list\n")
    with pytest.raises(ManifestError, match=r"no metadata\.name"):
        load_deployments("kind: Pod\nspec: {containers: []}\n")


def test_python_tags_are_not_constructed() -> None:
    with pytest.raises(ManifestError):
        load_deployments("kind: !!python/object/apply:os.system ['true']\n")
