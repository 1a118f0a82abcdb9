"""A normalised workload: what Sensor sees in the cluster and what the CLI reads from manifests.

Every Kubernetes kind (Deployment, Pod, DaemonSet, CronJob, DeploymentConfig, ...) becomes one
``Deployment`` with its pod-level settings and its containers. Quantities are normalised:
CPU in cores, memory in MiB; unset resources are 0 (as the policy criteria expect).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from stockade.model.image import ImageName


class EnvVarSource(StrEnum):
    RAW = "RAW"
    SECRET_KEY = "SECRET_KEY"  # noqa: S105 - an env var source, not a secret
    CONFIG_MAP_KEY = "CONFIG_MAP_KEY"
    FIELD = "FIELD"
    RESOURCE_FIELD = "RESOURCE_FIELD"
    UNKNOWN = "UNKNOWN"


class PortExposure(StrEnum):
    UNSET = "UNSET"
    INTERNAL = "INTERNAL"
    NODE = "NODE"
    HOST = "HOST"
    EXTERNAL = "EXTERNAL"
    ROUTE = "ROUTE"


class RBACLevel(StrEnum):
    NONE = "NONE"
    DEFAULT = "DEFAULT"
    ELEVATED_IN_NAMESPACE = "ELEVATED_IN_NAMESPACE"
    ELEVATED_CLUSTER_WIDE = "ELEVATED_CLUSTER_WIDE"
    CLUSTER_ADMIN = "CLUSTER_ADMIN"


RBAC_ORDER: tuple[RBACLevel, ...] = tuple(RBACLevel)


@dataclass(frozen=True, slots=True)
class EnvVar:
    name: str
    value: str = ""
    source: EnvVarSource = EnvVarSource.RAW


@dataclass(frozen=True, slots=True)
class Volume:
    name: str
    source: str = ""  # host path, secret name, config map name, claim name...
    destination: str = ""  # mount path in the container
    type: str = ""  # HostPath, Secret, ConfigMap, EmptyDir, PersistentVolumeClaim, ...
    read_only: bool = False
    mount_propagation: str = "NONE"  # NONE, HOSTTOCONTAINER, BIDIRECTIONAL


@dataclass(frozen=True, slots=True)
class Port:
    container_port: int
    protocol: str = "TCP"
    name: str = ""
    exposure: PortExposure = PortExposure.UNSET
    node_port: int = 0  # hostPort or a Service's nodePort; 0 when none


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    image: ImageName
    image_id: str = ""  # digest when known; the key for cached image facts
    privileged: bool = False
    allow_privilege_escalation: bool = True
    read_only_root_filesystem: bool = False
    add_capabilities: tuple[str, ...] = ()
    drop_capabilities: tuple[str, ...] = ()
    run_as_user: int | None = None
    app_armor_profile: str = ""
    seccomp_profile_type: str = ""  # UNCONFINED, RUNTIME_DEFAULT, LOCALHOST or ""
    cpu_request: float = 0.0
    cpu_limit: float = 0.0
    memory_request: float = 0.0
    memory_limit: float = 0.0
    env: tuple[EnvVar, ...] = ()
    volumes: tuple[Volume, ...] = ()
    ports: tuple[Port, ...] = ()
    liveness_probe: bool = False
    readiness_probe: bool = False
    init: bool = False


@dataclass(frozen=True, slots=True)
class Deployment:
    name: str
    namespace: str = "default"
    kind: str = "Deployment"
    id: str = ""
    cluster: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    service_account: str = "default"
    automount_service_account_token: bool = True
    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False
    replicas: int = 1
    runtime_class: str = ""
    containers: tuple[Container, ...] = ()
    has_ingress_network_policy: bool = False
    has_egress_network_policy: bool = False
    service_account_permission_level: RBACLevel = RBACLevel.NONE
