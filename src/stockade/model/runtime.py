"""Runtime inputs of the policy engine: process executions, network flows, Kubernetes events.

Collector and Sensor produce these; the policy engine evaluates RUNTIME policies against one
event together with the deployment (and container) it belongs to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProcessIndicator:
    """One process execution observed in a container."""

    container_name: str
    name: str  # executable base name, e.g. "bash"
    exec_file_path: str = ""  # e.g. "/bin/bash"
    args: str = ""
    uid: int = 0
    gid: int = 0
    ancestors: tuple[str, ...] = ()  # exec file paths of the parent processes
    in_baseline: bool = True  # False when the process is not in the container's baseline
    pod_id: str = ""
    time: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class NetworkFlow:
    """A connection seen from or to the deployment."""

    src: str
    dst: str
    dst_port: int = 0
    protocol: str = "TCP"
    in_baseline: bool = True
    time: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class KubernetesEvent:
    """An API action on a pod seen by the admission webhook (exec, port-forward, attach)."""

    resource: str  # PODS_EXEC, PODS_PORTFORWARD, PODS_ATTACH
    pod: str = ""
    container: str = ""
    user: str = ""
    groups: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    time: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """A Kubernetes audit-log entry about a sensitive resource (secrets, config maps, ...)."""

    resource: str  # SECRETS, CONFIGMAPS, CLUSTER_ROLES, ...
    verb: str  # GET, CREATE, UPDATE, PATCH, DELETE
    resource_name: str = ""
    namespace: str = ""
    user: str = ""
    groups: tuple[str, ...] = ()
    source_ips: tuple[str, ...] = ()
    user_agent: str = ""
    impersonated: bool = False
    time: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class FileAccess:
    """A file operation by a process in a container."""

    container_name: str
    path: str
    operation: str  # OPEN, CREATE, RENAME, UNLINK, OWNERSHIP_CHANGE, PERMISSION_CHANGE
    process: ProcessIndicator | None = None
    time: dt.datetime | None = None
