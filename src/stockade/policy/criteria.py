"""The criteria registry: every policy field name, its value syntax and where its data lives.

Each field belongs to one *level* of the object tree the evaluator walks::

    DEPLOYMENT ─┬─ CONTAINER ─┬─ IMAGE ─┬─ COMPONENT ── CVE
                │             │         └─ DOCKERFILE (one line of the image history)
                │             ├─ ENV, VOLUME, PORT
                │             └─ PROCESS, FILE             (runtime, per container)
                └─ KUBE_EVENT, NETWORK_FLOW                (runtime, per deployment)
    AUDIT                                                  (audit-log events stand alone)

The groups of one policy section must all match along one path of this tree: the same
container for container fields, the same component for component fields, the same CVE for
CVE fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import Enum

from stockade.model.deployment import RBAC_ORDER, Container, Deployment, EnvVar, Port, Volume
from stockade.model.image import Component, DockerfileLine, Image, ImageName, Vulnerability
from stockade.model.runtime import (
    AuditEvent,
    FileAccess,
    KubernetesEvent,
    NetworkFlow,
    ProcessIndicator,
)
from stockade.policy import values as v


class Level(Enum):
    DEPLOYMENT = "deployment"
    CONTAINER = "container"
    IMAGE = "image"
    COMPONENT = "component"
    CVE = "cve"
    DOCKERFILE = "dockerfile line"
    ENV = "environment variable"
    VOLUME = "volume"
    PORT = "port"
    PROCESS = "process"
    FILE = "file access"
    KUBE_EVENT = "kubernetes event"
    NETWORK_FLOW = "network flow"
    AUDIT = "audit event"


PARENT: dict[Level, Level | None] = {
    Level.DEPLOYMENT: None,
    Level.CONTAINER: Level.DEPLOYMENT,
    Level.IMAGE: Level.CONTAINER,
    Level.COMPONENT: Level.IMAGE,
    Level.CVE: Level.COMPONENT,
    Level.DOCKERFILE: Level.IMAGE,
    Level.ENV: Level.CONTAINER,
    Level.VOLUME: Level.CONTAINER,
    Level.PORT: Level.CONTAINER,
    Level.PROCESS: Level.CONTAINER,
    Level.FILE: Level.CONTAINER,
    Level.KUBE_EVENT: Level.DEPLOYMENT,
    Level.NETWORK_FLOW: Level.DEPLOYMENT,
    Level.AUDIT: None,
}

IMAGE_LEVELS = frozenset({Level.IMAGE, Level.COMPONENT, Level.CVE, Level.DOCKERFILE})
EVENT_LEVELS = frozenset({Level.PROCESS, Level.FILE, Level.KUBE_EVENT, Level.NETWORK_FLOW})


def ancestors(level: Level) -> list[Level]:
    """``level`` and its ancestors, root first."""
    chain = [level]
    parent = PARENT[level]
    while parent is not None:
        chain.append(parent)
        parent = PARENT[parent]
    return chain[::-1]


@dataclass(frozen=True, slots=True)
class ImageView:
    """The image of one container: the reference from the manifest and, when known, its facts."""

    name: ImageName
    image: Image | None
    container: str = ""
    key: tuple[str, str] = ("", "")  # (facts identity, reference): the image cache key

    @classmethod
    def of(cls, name: ImageName, image: Image | None, container: str = "") -> ImageView:
        ident = image.cache_key if image is not None else ""
        return cls(name, image, container, (ident, name.full_name))


Values = tuple[object, ...] | None  # None: the element lacks the field entirely
Extractor = Callable[[object], Values]
MatcherFactory = Callable[[str, Callable[[], dt.datetime]], v.Matcher]


class Category(Enum):
    """What a field needs, which decides the lifecycle stages it fits."""

    IMAGE = "image"  # BUILD, DEPLOY, RUNTIME
    DEPLOYMENT = "deployment"  # DEPLOY, RUNTIME
    RUNTIME = "runtime"  # RUNTIME with a deployment event (process, flow, k8s event)
    AUDIT = "audit"  # RUNTIME with audit-log events


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    level: Level
    syntax: v.Syntax
    matcher: MatcherFactory
    extract: Extractor
    negatable: bool = True
    multi: bool = True  # several values / AND allowed
    absent_is_match: bool = False  # "should not contain" fields: missing = violation
    phrase: str = ""  # "{v}" is the value; used in violation messages
    allowed: tuple[str, ...] = ()
    audit_variant: FieldSpec | None = None  # same name, read from an audit event

    @property
    def category(self) -> Category:
        if self.level is Level.AUDIT:
            return Category.AUDIT
        if self.level in EVENT_LEVELS:
            return Category.RUNTIME
        if self.level in IMAGE_LEVELS:
            return Category.IMAGE
        return Category.DEPLOYMENT


# ---- matcher factories ------------------------------------------------------------------


def _regex(value: str, _now: Callable[[], dt.datetime]) -> v.Matcher:
    m = v.regex_matcher(value)
    if isinstance(m, v.WordMatcher):
        return m  # checks the type itself; kept bare so image facts can use word indexes
    return lambda x: isinstance(x, str) and m(x)


def _contains_regex(value: str, _now: Callable[[], dt.datetime]) -> v.Matcher:
    m = v.regex_matcher(value, contains=True)
    return lambda x: isinstance(x, str) and m(x)


def _number(value: str, _now: Callable[[], dt.datetime]) -> v.Matcher:
    return v.number_matcher(value)


def _bool(value: str, _now: Callable[[], dt.datetime]) -> v.Matcher:
    return v.bool_matcher(value)


def _days(value: str, now: Callable[[], dt.datetime]) -> v.Matcher:
    return v.days_matcher(value, now)


def _severity(value: str, _now: Callable[[], dt.datetime]) -> v.Matcher:
    return v.severity_matcher(value)


def _kv(value: str, _now: Callable[[], dt.datetime]) -> v.Matcher:
    return v.key_value_matcher(value)


def _annotation(value: str, _now: Callable[[], dt.datetime]) -> v.Matcher:
    return v.annotation_matcher(value)


def _ip(value: str, _now: Callable[[], dt.datetime]) -> v.Matcher:
    return v.ip_matcher(value)


def _compound(parts: int, allowed_first: tuple[str, ...] = ()) -> MatcherFactory:
    def make(value: str, _now: Callable[[], dt.datetime]) -> v.Matcher:
        pieces = v.split_compound(value, parts)
        if allowed_first and pieces[0] and pieces[0].upper() not in allowed_first:
            raise v.ValueSyntaxError(f"must start with one of {', '.join(allowed_first)} or '='")
        return v.compound_matcher(value, parts)

    return make


def _enum(allowed: tuple[str, ...]) -> MatcherFactory:
    return lambda value, _now: v.enum_matcher(value, allowed)


def _caps(allowed: tuple[str, ...]) -> MatcherFactory:
    def make(value: str, _now: Callable[[], dt.datetime]) -> v.Matcher:
        want = value.strip().upper().removeprefix("CAP_")
        if want not in allowed:
            raise v.ValueSyntaxError("is not a Linux capability name")
        return lambda x: isinstance(x, str) and x.upper().removeprefix("CAP_") == want

    return make


def _drop_caps(allowed: tuple[str, ...]) -> MatcherFactory:
    base = _caps(allowed)

    def make(value: str, now: Callable[[], dt.datetime]) -> v.Matcher:
        m = base(value, now)
        # dropping ALL drops every capability
        return lambda x: m(x) or (isinstance(x, str) and x.upper() == "ALL")

    return make


def _signature(value: str, _now: Callable[[], dt.datetime]) -> v.Matcher:
    if not value.startswith("io.stackrox.signatureintegration."):
        raise v.ValueSyntaxError(
            "must be a signature integration id (io.stackrox.signatureintegration.<uuid>)"
        )
    want = value.lower()
    return lambda x: isinstance(x, str) and x.lower() == want


def _rbac(value: str, _now: Callable[[], dt.datetime]) -> v.Matcher:
    return v.ordered_enum_matcher(value, tuple(str(x) for x in RBAC_ORDER))


# ---- extractors (typed per level; called with the element of that level) -----------------


def _one(x: object) -> Values:
    return (x,)


def _str_or_absent(x: str) -> Values:
    return (x,) if x else None


def _time_or_absent(x: dt.datetime | None) -> Values:
    return None if x is None else (x,)


def _dep(f: Callable[[Deployment], Values]) -> Extractor:
    return lambda o: f(o) if isinstance(o, Deployment) else None


def _ctr(f: Callable[[Container], Values]) -> Extractor:
    return lambda o: f(o) if isinstance(o, Container) else None


def _img(f: Callable[[ImageView], Values]) -> Extractor:
    return lambda o: f(o) if isinstance(o, ImageView) else None


def _scanned(f: Callable[[Image], Values]) -> Extractor:
    return lambda o: f(o.image) if isinstance(o, ImageView) and o.image is not None else None


def _comp(f: Callable[[Component], Values]) -> Extractor:
    return lambda o: f(o) if isinstance(o, Component) else None


def _cve(f: Callable[[Vulnerability], Values]) -> Extractor:
    return lambda o: f(o) if isinstance(o, Vulnerability) else None


def _env(f: Callable[[EnvVar], Values]) -> Extractor:
    return lambda o: f(o) if isinstance(o, EnvVar) else None


def _vol(f: Callable[[Volume], Values]) -> Extractor:
    return lambda o: f(o) if isinstance(o, Volume) else None


def _port(f: Callable[[Port], Values]) -> Extractor:
    return lambda o: f(o) if isinstance(o, Port) else None


def _proc(f: Callable[[ProcessIndicator], Values]) -> Extractor:
    return lambda o: f(o) if isinstance(o, ProcessIndicator) else None


def _kube(f: Callable[[KubernetesEvent], Values]) -> Extractor:
    return lambda o: f(o) if isinstance(o, KubernetesEvent) else None


def _audit(f: Callable[[AuditEvent], Values]) -> Extractor:
    return lambda o: f(o) if isinstance(o, AuditEvent) else None


def _items(m: Mapping[str, str]) -> Values:
    return tuple(m.items())


CAPABILITIES = (
    "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE",
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER",
    "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETGID", "SETFCAP", "SETPCAP",
    "SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT",
    "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG",
    "WAKE_ALARM",
)  # fmt: skip
DOCKERFILE_INSTRUCTIONS = (
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
)  # fmt: skip
ENV_SOURCES = ("UNSET", "RAW", "SECRET_KEY", "CONFIG_MAP_KEY", "FIELD", "RESOURCE_FIELD", "UNKNOWN")
KUBE_EVENT_RESOURCES = ("PODS_EXEC", "PODS_PORTFORWARD", "PODS_ATTACH")
AUDIT_RESOURCES = (
    "SECRETS", "CONFIGMAPS", "CLUSTER_ROLES", "CLUSTER_ROLE_BINDINGS", "NETWORK_POLICIES",
    "SECURITY_CONTEXT_CONSTRAINTS", "EGRESS_FIREWALLS",
)  # fmt: skip
AUDIT_VERBS = ("CREATE", "DELETE", "GET", "PATCH", "UPDATE")
FILE_OPERATIONS = ("OPEN", "CREATE", "RENAME", "UNLINK", "OWNERSHIP_CHANGE", "PERMISSION_CHANGE")


def _env_value(e: EnvVar) -> Values:
    return ((e.source.value, e.name, e.value if e.source.value == "RAW" else ""),)


def _dockerfile(d: DockerfileLine) -> Values:
    return ((d.instruction, d.value),)


def _writable_host_mount(vol: Volume) -> Values:
    return (vol.type.lower() == "hostpath" and not vol.read_only,)


def _ancestors(p: ProcessIndicator) -> Values:
    return p.ancestors


def _S(
    name: str,
    level: Level,
    syntax: v.Syntax,
    matcher: MatcherFactory,
    extract: Extractor,
    phrase: str = "",
    *,
    negatable: bool = True,
    multi: bool = True,
    absent_is_match: bool = False,
    allowed: tuple[str, ...] = (),
) -> FieldSpec:
    return FieldSpec(
        name=name,
        level=level,
        syntax=syntax,
        matcher=matcher,
        extract=extract,
        negatable=negatable,
        multi=multi,
        absent_is_match=absent_is_match,
        phrase=phrase,
        allowed=allowed,
    )


R, B, N, D, E = v.Syntax.REGEX, v.Syntax.BOOL, v.Syntax.NUMBER, v.Syntax.DAYS, v.Syntax.ENUM
KV, CP = v.Syntax.KEY_VALUE, v.Syntax.COMPOUND
L = Level

_FIELDS: list[FieldSpec] = [
    # ---- deployment ----
    _S(
        "Namespace",
        L.DEPLOYMENT,
        R,
        _regex,
        _dep(lambda d: (d.namespace,)),
        "is in namespace '{v}'",
    ),
    _S(
        "Service Account",
        L.DEPLOYMENT,
        R,
        _regex,
        _dep(lambda d: (d.service_account,)),
        "uses service account '{v}'",
    ),
    _S(
        "Automount Service Account Token",
        L.DEPLOYMENT,
        B,
        _bool,
        _dep(lambda d: (d.automount_service_account_token,)),
        "mounts the service account token automatically",
        negatable=False,
        multi=False,
    ),
    _S(
        "Host IPC",
        L.DEPLOYMENT,
        B,
        _bool,
        _dep(lambda d: (d.host_ipc,)),
        "shares the host's IPC namespace",
        negatable=False,
        multi=False,
    ),
    _S(
        "Host Network",
        L.DEPLOYMENT,
        B,
        _bool,
        _dep(lambda d: (d.host_network,)),
        "uses the host network namespace",
        negatable=False,
        multi=False,
    ),
    _S(
        "Host PID",
        L.DEPLOYMENT,
        B,
        _bool,
        _dep(lambda d: (d.host_pid,)),
        "shares the host's process ID namespace",
        negatable=False,
        multi=False,
    ),
    _S("Replicas", L.DEPLOYMENT, N, _number, _dep(lambda d: (d.replicas,)), "has {v} replicas"),
    _S(
        "Runtime Class",
        L.DEPLOYMENT,
        R,
        _regex,
        _dep(lambda d: (d.runtime_class,)),
        "uses runtime class '{v}'",
    ),
    _S(
        "Has Ingress Network Policy",
        L.DEPLOYMENT,
        B,
        _bool,
        _dep(lambda d: (d.has_ingress_network_policy,)),
        "has ingress network policy: {v}",
        multi=False,
    ),
    _S(
        "Has Egress Network Policy",
        L.DEPLOYMENT,
        B,
        _bool,
        _dep(lambda d: (d.has_egress_network_policy,)),
        "has egress network policy: {v}",
        multi=False,
    ),
    _S(
        "Minimum RBAC Permissions",
        L.DEPLOYMENT,
        E,
        _rbac,
        _dep(lambda d: (d.service_account_permission_level.value,)),
        "has RBAC permission level {v}",
        multi=False,
        allowed=tuple(str(x) for x in RBAC_ORDER),
    ),
    _S(
        "Disallowed Annotation",
        L.DEPLOYMENT,
        KV,
        _annotation,
        _dep(lambda d: _items(d.annotations)),
        "has disallowed annotation {v}",
        negatable=False,
    ),
    _S(
        "Required Annotation",
        L.DEPLOYMENT,
        KV,
        _kv,
        _dep(lambda d: _items(d.annotations)),
        "lacks the required annotation {want}",
        negatable=False,
        absent_is_match=True,
    ),
    _S(
        "Required Label",
        L.DEPLOYMENT,
        KV,
        _kv,
        _dep(lambda d: _items(d.labels)),
        "lacks the required label {want}",
        negatable=False,
        absent_is_match=True,
    ),
    # ---- container ----
    _S("Container Name", L.CONTAINER, R, _regex, _ctr(lambda c: (c.name,)), "is named '{v}'"),
    _S(
        "Privileged Container",
        L.CONTAINER,
        B,
        _bool,
        _ctr(lambda c: (c.privileged,)),
        "is privileged",
        negatable=False,
        multi=False,
    ),
    _S(
        "Allow Privilege Escalation",
        L.CONTAINER,
        B,
        _bool,
        _ctr(lambda c: (c.allow_privilege_escalation,)),
        "allows privilege escalation",
        negatable=False,
        multi=False,
    ),
    _S(
        "Read-Only Root Filesystem",
        L.CONTAINER,
        B,
        _bool,
        _ctr(lambda c: (c.read_only_root_filesystem,)),
        "has read-only root filesystem: {v}",
        negatable=False,
        multi=False,
    ),
    _S(
        "Add Capabilities",
        L.CONTAINER,
        E,
        _caps(CAPABILITIES),
        _ctr(lambda c: c.add_capabilities),
        "adds capability {v}",
        negatable=False,
        allowed=CAPABILITIES,
    ),
    _S(
        "Drop Capabilities",
        L.CONTAINER,
        E,
        _drop_caps(("ALL", *CAPABILITIES)),
        _ctr(lambda c: c.drop_capabilities),
        "does not drop capability {want}",
        negatable=False,
        absent_is_match=True,
        allowed=("ALL", *CAPABILITIES),
    ),
    _S(
        "AppArmor Profile",
        L.CONTAINER,
        R,
        _regex,
        _ctr(lambda c: _str_or_absent(c.app_armor_profile)),
        "has AppArmor profile '{v}'",
    ),
    _S(
        "Seccomp Profile Type",
        L.CONTAINER,
        E,
        _enum(("UNCONFINED", "RUNTIME_DEFAULT", "LOCALHOST")),
        _ctr(lambda c: _str_or_absent(c.seccomp_profile_type)),
        "has seccomp profile type {v}",
        multi=False,
        allowed=("UNCONFINED", "RUNTIME_DEFAULT", "LOCALHOST"),
    ),
    _S(
        "Container CPU Limit",
        L.CONTAINER,
        N,
        _number,
        _ctr(lambda c: (c.cpu_limit,)),
        "has CPU limit {v} cores",
        negatable=False,
    ),
    _S(
        "Container CPU Request",
        L.CONTAINER,
        N,
        _number,
        _ctr(lambda c: (c.cpu_request,)),
        "has CPU request {v} cores",
        negatable=False,
    ),
    _S(
        "Container Memory Limit",
        L.CONTAINER,
        N,
        _number,
        _ctr(lambda c: (c.memory_limit,)),
        "has memory limit {v} MB",
        negatable=False,
    ),
    _S(
        "Container Memory Request",
        L.CONTAINER,
        N,
        _number,
        _ctr(lambda c: (c.memory_request,)),
        "has memory request {v} MB",
        negatable=False,
    ),
    _S(
        "Liveness Probe Defined",
        L.CONTAINER,
        B,
        _bool,
        _ctr(lambda c: (c.liveness_probe,)),
        "has liveness probe defined: {v}",
        negatable=False,
        multi=False,
    ),
    _S(
        "Readiness Probe Defined",
        L.CONTAINER,
        B,
        _bool,
        _ctr(lambda c: (c.readiness_probe,)),
        "has readiness probe defined: {v}",
        multi=False,
    ),
    _S(
        "Environment Variable",
        L.ENV,
        CP,
        _compound(3, ENV_SOURCES),
        _env(_env_value),
        "has environment variable '{env}'",
        negatable=False,
    ),
    _S("Volume Name", L.VOLUME, R, _regex, _vol(lambda x: (x.name,)), "mounts volume '{v}'"),
    _S(
        "Volume Source",
        L.VOLUME,
        R,
        _regex,
        _vol(lambda x: _str_or_absent(x.source)),
        "mounts volume source '{v}'",
    ),
    _S(
        "Volume Destination",
        L.VOLUME,
        R,
        _regex,
        _vol(lambda x: _str_or_absent(x.destination)),
        "mounts a volume at '{v}'",
    ),
    _S(
        "Volume Type",
        L.VOLUME,
        R,
        _regex,
        _vol(lambda x: _str_or_absent(x.type)),
        "mounts a volume of type '{v}'",
    ),
    _S(
        "Mount Propagation",
        L.VOLUME,
        E,
        _enum(("NONE", "HOSTTOCONTAINER", "BIDIRECTIONAL")),
        _vol(lambda x: (x.mount_propagation,)),
        "mounts a volume with propagation {v}",
        allowed=("NONE", "HOSTTOCONTAINER", "BIDIRECTIONAL"),
    ),
    _S(
        "Writable Host Mount",
        L.VOLUME,
        B,
        _bool,
        _vol(_writable_host_mount),
        "mounts a host path writable",
        negatable=False,
        multi=False,
    ),
    _S(
        "Writable Mounted Volume",
        L.VOLUME,
        B,
        _bool,
        _vol(lambda x: (not x.read_only,)),
        "mounts a volume writable",
        negatable=False,
        multi=False,
    ),
    _S(
        "Exposed Port", L.PORT, N, _number, _port(lambda p: (p.container_port,)), "exposes port {v}"
    ),
    _S(
        "Exposed Port Protocol",
        L.PORT,
        R,
        _regex,
        _port(lambda p: (p.protocol,)),
        "exposes a port over {v}",
    ),
    _S(
        "Exposed Node Port",
        L.PORT,
        N,
        _number,
        _port(lambda p: (p.node_port,)),
        "exposes node port {v}",
    ),
    _S(
        "Port Exposure Method",
        L.PORT,
        E,
        _enum(("UNSET", "EXTERNAL", "NODE", "HOST", "INTERNAL", "ROUTE")),
        _port(lambda p: (p.exposure.value,)),
        "exposes a port with method {v}",
        allowed=("UNSET", "EXTERNAL", "NODE", "HOST", "INTERNAL", "ROUTE"),
    ),
    # ---- image ----
    _S(
        "Image Registry",
        L.IMAGE,
        R,
        _regex,
        _img(lambda i: (i.name.registry,)),
        "uses image registry '{v}'",
    ),
    _S(
        "Image Remote",
        L.IMAGE,
        R,
        _regex,
        _img(lambda i: (i.name.remote,)),
        "uses image remote '{v}'",
    ),
    _S(
        "Image Tag",
        L.IMAGE,
        R,
        _regex,
        _img(lambda i: _str_or_absent(i.name.tag)),
        "has image tag '{v}'",
    ),
    _S(
        "Image OS",
        L.IMAGE,
        R,
        _regex,
        _scanned(lambda i: _str_or_absent(i.os)),
        "has image OS '{v}'",
    ),
    _S(
        "Image User",
        L.IMAGE,
        R,
        _regex,
        _scanned(lambda i: (i.user,)),
        "runs its image as user '{v}'",
    ),
    _S(
        "Image Age",
        L.IMAGE,
        D,
        _days,
        _scanned(lambda i: _time_or_absent(i.created)),
        "has an image created {age}",
        negatable=False,
        multi=False,
    ),
    _S(
        "Image Scan Age",
        L.IMAGE,
        D,
        _days,
        _scanned(lambda i: _time_or_absent(i.scanned)),
        "has an image last scanned {age}",
        negatable=False,
        multi=False,
    ),
    _S(
        "Unscanned Image",
        L.IMAGE,
        B,
        _bool,
        _img(lambda i: (i.image is None or i.image.scanned is None,)),
        "has an image that was never scanned",
        negatable=False,
        multi=False,
    ),
    _S(
        "Image Signature Verified By",
        L.IMAGE,
        v.Syntax.REGEX,
        _signature,
        _img(lambda i: () if i.image is None else i.image.signature_verified_by),
        "has an image not verified by {want}",
        negatable=False,
        absent_is_match=True,
    ),
    _S(
        "Disallowed Image Label",
        L.IMAGE,
        KV,
        _kv,
        _scanned(lambda i: _items(i.labels)),
        "has disallowed image label {v}",
        negatable=False,
    ),
    _S(
        "Required Image Label",
        L.IMAGE,
        KV,
        _kv,
        _scanned(lambda i: _items(i.labels)),
        "lacks the required image label {want}",
        negatable=False,
        absent_is_match=True,
    ),
    _S(
        "Dockerfile Line",
        L.DOCKERFILE,
        CP,
        _compound(2, DOCKERFILE_INSTRUCTIONS),
        lambda o: _dockerfile(o) if isinstance(o, DockerfileLine) else None,
        "has Dockerfile line '{line}'",
        negatable=False,
    ),
    _S(
        "Image Component",
        L.COMPONENT,
        CP,
        _compound(2),
        _comp(lambda c: ((c.name, c.version),)),
        "has image component '{comp}'",
        negatable=False,
    ),
    # ---- CVE ----
    _S("CVE", L.CVE, R, _regex, _cve(lambda x: (x.cve,)), "{cve}"),
    _S("CVSS", L.CVE, N, _number, _cve(lambda x: (x.cvss,)), "{cve}", negatable=False),
    _S(
        "NVD CVSS",
        L.CVE,
        N,
        _number,
        _cve(lambda x: None if x.nvd_cvss is None else (x.nvd_cvss,)),
        "{cve}",
        negatable=False,
    ),
    _S(
        "Severity",
        L.CVE,
        v.Syntax.SEVERITY,
        _severity,
        _cve(lambda x: (x.severity,)),
        "{cve}",
        negatable=False,
    ),
    _S("Fixed By", L.CVE, R, _regex, _cve(lambda x: _str_or_absent(x.fixed_by)), "{cve}"),
    _S(
        "Fixable",
        L.CVE,
        B,
        _bool,
        _cve(lambda x: (x.fixable,)),
        "{cve}",
        negatable=False,
        multi=False,
    ),
    _S(
        "Days Since CVE Was Published",
        L.CVE,
        D,
        _days,
        _cve(lambda x: _time_or_absent(x.published)),
        "{cve}",
        negatable=False,
        multi=False,
    ),
    _S(
        "Days Since CVE Fix Was Available",
        L.CVE,
        D,
        _days,
        _cve(lambda x: _time_or_absent(x.fix_available_since)),
        "{cve}",
        negatable=False,
        multi=False,
    ),
    _S(
        "Days Since CVE Was First Discovered In Image",
        L.CVE,
        D,
        _days,
        _cve(lambda x: _time_or_absent(x.first_seen_in_image)),
        "{cve}",
        negatable=False,
        multi=False,
    ),
    _S(
        "Days Since CVE Was First Discovered In System",
        L.CVE,
        D,
        _days,
        _cve(lambda x: _time_or_absent(x.first_seen_in_system)),
        "{cve}",
        negatable=False,
        multi=False,
    ),
    # ---- runtime: process, file, network flow, kubernetes event ----
    _S("Process Name", L.PROCESS, R, _regex, _proc(lambda p: (p.name,)), "ran process '{v}'"),
    _S(
        "Process Arguments",
        L.PROCESS,
        R,
        _contains_regex,
        _proc(lambda p: (p.args,)),
        "ran a process with arguments '{v}'",
    ),
    _S(
        "Process Ancestor",
        L.PROCESS,
        R,
        _regex,
        _proc(_ancestors),
        "ran a process whose ancestor is '{v}'",
    ),
    _S(
        "Process UID",
        L.PROCESS,
        R,
        _regex,
        _proc(lambda p: (str(p.uid),)),
        "ran a process as UID {v}",
    ),
    _S(
        "Unexpected Process Executed",
        L.PROCESS,
        B,
        _bool,
        _proc(lambda p: (not p.in_baseline,)),
        "ran a process outside its baseline",
        negatable=False,
        multi=False,
    ),
    _S(
        "File Path",
        L.FILE,
        R,
        _regex,
        lambda o: (o.path,) if isinstance(o, FileAccess) else None,
        "accessed file '{v}'",
    ),
    _S(
        "File Operation",
        L.FILE,
        E,
        _enum(FILE_OPERATIONS),
        lambda o: (o.operation,) if isinstance(o, FileAccess) else None,
        "performed file operation {v}",
        allowed=FILE_OPERATIONS,
    ),
    _S(
        "Unexpected Network Flow Detected",
        L.NETWORK_FLOW,
        B,
        _bool,
        lambda o: (not o.in_baseline,) if isinstance(o, NetworkFlow) else None,
        "had a network flow outside its baseline",
        negatable=False,
        multi=False,
    ),
    _S(
        "Kubernetes Resource",
        L.KUBE_EVENT,
        E,
        _enum(KUBE_EVENT_RESOURCES),
        _kube(lambda k: (k.resource,)),
        "was the target of Kubernetes action {v}",
        negatable=False,
        allowed=KUBE_EVENT_RESOURCES,
    ),
    _S(
        "Kubernetes User Name",
        L.KUBE_EVENT,
        R,
        _regex,
        _kube(lambda k: _str_or_absent(k.user)),
        "was acted on by user '{v}'",
    ),
    _S(
        "Kubernetes User Groups",
        L.KUBE_EVENT,
        R,
        _regex,
        _kube(lambda k: k.groups),
        "was acted on by a member of group '{v}'",
    ),
    # ---- audit log ----
    _S(
        "Kubernetes API Verb",
        L.AUDIT,
        E,
        _enum(AUDIT_VERBS),
        _audit(lambda a: (a.verb,)),
        "verb {v}",
        negatable=False,
        allowed=AUDIT_VERBS,
    ),
    _S(
        "Kubernetes Resource Name",
        L.AUDIT,
        R,
        _regex,
        _audit(lambda a: _str_or_absent(a.resource_name)),
        "resource name '{v}'",
    ),
    _S(
        "Source IP Address",
        L.AUDIT,
        v.Syntax.IP,
        _ip,
        _audit(lambda a: a.source_ips),
        "from source IP {v}",
    ),
    _S(
        "User Agent",
        L.AUDIT,
        R,
        _regex,
        _audit(lambda a: _str_or_absent(a.user_agent)),
        "with user agent '{v}'",
    ),
    _S(
        "Is Impersonated User",
        L.AUDIT,
        B,
        _bool,
        _audit(lambda a: (a.impersonated,)),
        "by an impersonated user",
        negatable=False,
        multi=False,
    ),
]

_AUDIT_VARIANTS = {
    "Kubernetes Resource": _S(
        "Kubernetes Resource",
        L.AUDIT,
        E,
        _enum(AUDIT_RESOURCES),
        _audit(lambda a: (a.resource,)),
        "resource {v}",
        negatable=False,
        allowed=AUDIT_RESOURCES,
    ),
    "Kubernetes User Name": _S(
        "Kubernetes User Name",
        L.AUDIT,
        R,
        _regex,
        _audit(lambda a: _str_or_absent(a.user)),
        "by user '{v}'",
    ),
    "Kubernetes User Groups": _S(
        "Kubernetes User Groups",
        L.AUDIT,
        R,
        _regex,
        _audit(lambda a: a.groups),
        "by a member of group '{v}'",
    ),
}

REGISTRY: dict[str, FieldSpec] = {}
for _f in _FIELDS:
    if _f.name in _AUDIT_VARIANTS:
        _f = replace(_f, audit_variant=_AUDIT_VARIANTS[_f.name])
    assert _f.name not in REGISTRY, _f.name
    REGISTRY[_f.name] = _f


def lookup(name: str, audit: bool = False) -> FieldSpec | None:
    """The field named exactly ``name`` (as in the product), for an audit-log policy if asked."""
    spec = REGISTRY.get(name)
    if spec is not None and audit and spec.audit_variant is not None:
        return spec.audit_variant
    return spec
