"""Kubernetes manifests (plain decoded YAML/JSON) into ``model.deployment.Deployment``.

Handles Deployment, Pod, DaemonSet, StatefulSet, ReplicaSet, ReplicationController, Job,
CronJob and OpenShift DeploymentConfig, ``kind: List`` and multi-document streams (so
``helm template`` output works). Services and NetworkPolicies in the same input decide port
exposure and whether ingress/egress policies apply. Other kinds are skipped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from stockade.model.deployment import (
    Container,
    Deployment,
    EnvVar,
    EnvVarSource,
    Port,
    PortExposure,
    Volume,
)
from stockade.model.image import ImageName
from stockade.workload.errors import ManifestError
from stockade.workload.yamlsafe import MAX_MANIFEST_BYTES, load_documents

logger = logging.getLogger(__name__)

Obj = Mapping[str, object]

POD_TEMPLATE_KINDS = {
    "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "ReplicationController", "Job",
    "DeploymentConfig",
}  # fmt: skip


def _obj(value: object) -> Obj:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Obj]:
    if not isinstance(value, list):
        return []
    return [x for x in value if isinstance(x, Mapping)]


def _str(value: object, default: str = "") -> str:
    if value is None:
        return default
    return str(value)


def _bool(value: object, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _str_map(value: object) -> dict[str, str]:
    return {str(k): _str(v) for k, v in _obj(value).items()}


_QUANTITY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")
_SUFFIX = {
    "": 1.0, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60,
}  # fmt: skip


def parse_quantity(value: object) -> float:
    """A Kubernetes quantity ("500m", "1.5", "128Mi") as a plain number; 0 if unparseable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    m = _QUANTITY.match(_str(value))
    if not m or m.group(2) not in _SUFFIX:
        return 0.0
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def _cpu(value: object) -> float:
    return parse_quantity(value)


def _mem_mb(value: object) -> float:
    return parse_quantity(value) / 2**20


_SECCOMP = {
    "unconfined": "UNCONFINED",
    "runtimedefault": "RUNTIME_DEFAULT",
    "localhost": "LOCALHOST",
}
_PROPAGATION = {"bidirectional": "BIDIRECTIONAL", "hosttocontainer": "HOSTTOCONTAINER"}
_VOLUME_TYPES = {
    "hostPath": ("HostPath", "path"),
    "secret": ("Secret", "secretName"),
    "configMap": ("ConfigMap", "name"),
    "persistentVolumeClaim": ("PersistentVolumeClaim", "claimName"),
    "emptyDir": ("EmptyDir", ""),
    "projected": ("Projected", ""),
    "downwardAPI": ("DownwardAPI", ""),
    "nfs": ("NFS", "path"),
    "csi": ("CSI", "driver"),
    "ephemeral": ("Ephemeral", ""),
}


def _env(container: Obj) -> tuple[EnvVar, ...]:
    out: list[EnvVar] = []
    for e in _list(container.get("env")):
        name = _str(e.get("name"))
        source_obj = _obj(e.get("valueFrom"))
        if not source_obj:
            out.append(EnvVar(name, _str(e.get("value")), EnvVarSource.RAW))
        elif "secretKeyRef" in source_obj:
            out.append(EnvVar(name, "", EnvVarSource.SECRET_KEY))
        elif "configMapKeyRef" in source_obj:
            out.append(EnvVar(name, "", EnvVarSource.CONFIG_MAP_KEY))
        elif "fieldRef" in source_obj:
            out.append(EnvVar(name, "", EnvVarSource.FIELD))
        elif "resourceFieldRef" in source_obj:
            out.append(EnvVar(name, "", EnvVarSource.RESOURCE_FIELD))
        else:
            out.append(EnvVar(name, "", EnvVarSource.UNKNOWN))
    return tuple(out)


def _volumes(container: Obj, pod_volumes: Mapping[str, Obj]) -> tuple[Volume, ...]:
    out: list[Volume] = []
    for mount in _list(container.get("volumeMounts")):
        name = _str(mount.get("name"))
        spec = pod_volumes.get(name, {})
        vtype, source = "", ""
        for key, (label, source_key) in _VOLUME_TYPES.items():
            if key in spec:
                vtype = label
                source = _str(_obj(spec[key]).get(source_key)) if source_key else ""
                break
        else:
            if spec:
                vtype = next(iter(k for k in spec if k != "name"), "")
        out.append(
            Volume(
                name=name,
                source=source,
                destination=_str(mount.get("mountPath")),
                type=vtype,
                read_only=_bool(mount.get("readOnly"), False),
                mount_propagation=_PROPAGATION.get(
                    _str(mount.get("mountPropagation")).lower(), "NONE"
                ),
            )
        )
    return tuple(out)


def _ports(container: Obj) -> tuple[Port, ...]:
    out = []
    for p in _list(container.get("ports")):
        try:
            number = int(_str(p.get("containerPort"), "0"))
            host = int(_str(p.get("hostPort"), "0"))
        except ValueError:
            continue
        out.append(
            Port(
                container_port=number,
                protocol=_str(p.get("protocol"), "TCP").upper(),
                name=_str(p.get("name")),
                exposure=PortExposure.HOST if host else PortExposure.UNSET,
                node_port=host,
            )
        )
    return tuple(out)


def _container(
    c: Obj, pod: Obj, pod_annotations: Mapping[str, str], pod_volumes: Mapping[str, Obj], init: bool
) -> Container:
    name = _str(c.get("name"))
    sc = _obj(c.get("securityContext"))
    pod_sc = _obj(pod.get("securityContext"))
    caps = _obj(sc.get("capabilities"))
    resources = _obj(c.get("resources"))
    requests = _obj(resources.get("requests"))
    limits = _obj(resources.get("limits"))
    seccomp = _str(_obj(sc.get("seccompProfile")).get("type")) or _str(
        _obj(pod_sc.get("seccompProfile")).get("type")
    )
    apparmor = _str(_obj(sc.get("appArmorProfile")).get("type")) or _str(
        _obj(pod_sc.get("appArmorProfile")).get("type")
    )
    apparmor = pod_annotations.get(
        f"container.apparmor.security.beta.kubernetes.io/{name}", apparmor
    )
    image_ref = _str(c.get("image"))
    image = ImageName.parse(image_ref) if image_ref else ImageName()
    privileged = _bool(sc.get("privileged"), False)
    run_as = sc.get("runAsUser", pod_sc.get("runAsUser"))
    return Container(
        name=name,
        image=image,
        image_id=image.digest,
        privileged=privileged,
        allow_privilege_escalation=_bool(sc.get("allowPrivilegeEscalation"), True) or privileged,
        read_only_root_filesystem=_bool(sc.get("readOnlyRootFilesystem"), False),
        add_capabilities=tuple(_str(x).upper() for x in _as_list(caps.get("add"))),
        drop_capabilities=tuple(_str(x).upper() for x in _as_list(caps.get("drop"))),
        run_as_user=run_as if isinstance(run_as, int) and not isinstance(run_as, bool) else None,
        app_armor_profile=apparmor.lower(),
        seccomp_profile_type=_SECCOMP.get(seccomp.lower(), seccomp.upper()),
        cpu_request=_cpu(requests.get("cpu")),
        cpu_limit=_cpu(limits.get("cpu")),
        memory_request=_mem_mb(requests.get("memory")),
        memory_limit=_mem_mb(limits.get("memory")),
        env=_env(c),
        volumes=_volumes(c, pod_volumes),
        ports=_ports(c),
        liveness_probe=isinstance(c.get("livenessProbe"), Mapping),
        readiness_probe=isinstance(c.get("readinessProbe"), Mapping),
        init=init,
    )


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class _Workload:
    kind: str
    meta: Obj
    pod_meta: Obj
    pod_spec: Obj
    replicas: int


def _workload(doc: Obj) -> _Workload | None:
    kind = _str(doc.get("kind"))
    meta = _obj(doc.get("metadata"))
    spec = _obj(doc.get("spec"))
    if kind == "Pod":
        return _Workload(kind, meta, meta, spec, 1)
    if kind == "CronJob":
        template = _obj(_obj(_obj(spec.get("jobTemplate")).get("spec")).get("template"))
        return _Workload(kind, meta, _obj(template.get("metadata")), _obj(template.get("spec")), 1)
    if kind in POD_TEMPLATE_KINDS:
        template = _obj(spec.get("template"))
        replicas = spec.get("replicas", 1 if kind != "DaemonSet" else 0)
        count = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
        return _Workload(
            kind, meta, _obj(template.get("metadata")), _obj(template.get("spec")), count
        )
    return None


def _selector_matches(selector: Obj, labels: Mapping[str, str]) -> bool:
    for k, v in _str_map(selector.get("matchLabels")).items():
        if labels.get(k) != v:
            return False
    for expr in _list(selector.get("matchExpressions")):
        key = _str(expr.get("key"))
        op = _str(expr.get("operator"))
        values = {_str(x) for x in _as_list(expr.get("values"))}
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _expose(
    containers: Sequence[Container], services: Iterable[Obj], labels: Mapping[str, str]
) -> tuple[Container, ...]:
    rank = {PortExposure.UNSET: 0, PortExposure.INTERNAL: 1, PortExposure.NODE: 2,
            PortExposure.HOST: 3, PortExposure.EXTERNAL: 4, PortExposure.ROUTE: 5}  # fmt: skip
    out = []
    for c in containers:
        ports = []
        for p in c.ports:
            best, node_port = p.exposure, p.node_port
            for svc in services:
                spec = _obj(svc.get("spec"))
                selector = _str_map(spec.get("selector"))
                if not selector or any(labels.get(k) != v for k, v in selector.items()):
                    continue
                stype = _str(spec.get("type"), "ClusterIP")
                level = {"NodePort": PortExposure.NODE, "LoadBalancer": PortExposure.EXTERNAL}.get(
                    stype, PortExposure.INTERNAL
                )
                for sp in _list(spec.get("ports")):
                    target = sp.get("targetPort", sp.get("port"))
                    if target in (p.container_port, str(p.container_port)) or (
                        p.name and target == p.name
                    ):
                        if rank[level] > rank[best]:
                            best = level
                        np_ = sp.get("nodePort")
                        if isinstance(np_, int) and level is not PortExposure.INTERNAL:
                            node_port = node_port or np_
            ports.append(replace(p, exposure=best, node_port=node_port))
        out.append(replace(c, ports=tuple(ports)))
    return tuple(out)


def _network_policies(
    policies: Iterable[Obj], namespace: str, labels: Mapping[str, str]
) -> tuple[bool, bool]:
    ingress = egress = False
    for np_ in policies:
        if _str(_obj(np_.get("metadata")).get("namespace"), "default") != namespace:
            continue
        spec = _obj(np_.get("spec"))
        if not _selector_matches(_obj(spec.get("podSelector")), labels):
            continue
        types = {_str(t) for t in _as_list(spec.get("policyTypes"))}
        if not types:
            types = {"Ingress"} | ({"Egress"} if "egress" in spec else set())
        ingress = ingress or "Ingress" in types
        egress = egress or "Egress" in types
    return ingress, egress


def _flatten(docs: Iterable[object]) -> list[Obj]:
    out: list[Obj] = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, Mapping):
            raise ManifestError(
                "a manifest document is not a Kubernetes object (expected a mapping)"
            )
        if _str(doc.get("kind")).endswith("List") and isinstance(doc.get("items"), list):
            out.extend(_flatten(_as_list(doc.get("items"))))
        else:
            out.append(doc)
    return out


def normalize_objects(
    docs: Iterable[object], default_namespace: str = "default"
) -> list[Deployment]:
    """Decoded manifests to deployments (Services/NetworkPolicies among them are applied)."""
    objects = _flatten(docs)
    services = [o for o in objects if o.get("kind") == "Service"]
    netpols = [o for o in objects if o.get("kind") == "NetworkPolicy"]
    out: list[Deployment] = []
    for doc in objects:
        w = _workload(doc)
        if w is None:
            continue
        namespace = _str(w.meta.get("namespace"), default_namespace) or default_namespace
        pod_labels = _str_map(w.pod_meta.get("labels"))
        pod_annotations = _str_map(w.pod_meta.get("annotations"))
        pod_volumes = {_str(v.get("name")): v for v in _list(w.pod_spec.get("volumes"))}
        containers = [
            _container(c, w.pod_spec, pod_annotations, pod_volumes, init=True)
            for c in _list(w.pod_spec.get("initContainers"))
        ] + [
            _container(c, w.pod_spec, pod_annotations, pod_volumes, init=False)
            for c in _list(w.pod_spec.get("containers"))
        ]
        ns_services = [
            s
            for s in services
            if _str(_obj(s.get("metadata")).get("namespace"), default_namespace) == namespace
        ]
        ingress, egress = _network_policies(netpols, namespace, pod_labels)
        name = _str(w.meta.get("name"))
        if not name:
            raise ManifestError(f"a {w.kind} has no metadata.name")
        out.append(
            Deployment(
                name=name,
                namespace=namespace,
                kind=w.kind,
                id=_str(w.meta.get("uid")),
                labels=_str_map(w.meta.get("labels")),
                annotations=_str_map(w.meta.get("annotations")),
                pod_labels=pod_labels,
                service_account=_str(
                    w.pod_spec.get("serviceAccountName", w.pod_spec.get("serviceAccount")),
                    "default",
                )
                or "default",
                automount_service_account_token=_bool(
                    w.pod_spec.get("automountServiceAccountToken"), True
                ),
                host_network=_bool(w.pod_spec.get("hostNetwork"), False),
                host_pid=_bool(w.pod_spec.get("hostPID"), False),
                host_ipc=_bool(w.pod_spec.get("hostIPC"), False),
                replicas=w.replicas,
                runtime_class=_str(w.pod_spec.get("runtimeClassName")),
                containers=_expose(containers, ns_services, pod_labels),
                has_ingress_network_policy=ingress,
                has_egress_network_policy=egress,
            )
        )
    return out


def load_deployments(
    text: str | bytes,
    where: str = "input",
    default_namespace: str = "default",
    max_bytes: int = MAX_MANIFEST_BYTES,
) -> list[Deployment]:
    """Manifest text (YAML or JSON, one or many documents) to deployments."""
    return normalize_objects(load_documents(text, where, max_bytes), default_namespace)
