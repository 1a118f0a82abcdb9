"""Violations and the sentences that explain them.

A message says what matched as a user reads it, e.g. ``Container 'web' has image tag
'latest'`` or ``CVE-2021-44228 (CVSS 10.0) in log4j-core 2.14.1, fixed in 2.15.0``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from stockade.model.deployment import Container, Deployment, EnvVar, Port, Volume
from stockade.model.image import Component, DockerfileLine, Vulnerability
from stockade.model.runtime import (
    AuditEvent,
    FileAccess,
    KubernetesEvent,
    NetworkFlow,
    ProcessIndicator,
)
from stockade.policy.criteria import FieldSpec, ImageView, Level
from stockade.policy.model import LifecycleStage, Policy, PolicyGroup


class Violation:
    """One policy that matched one object, with one message per way it matched.

    Messages are rendered on first access: deciding *whether* a policy fires never pays for
    the sentences.
    """

    __slots__ = ("_messages", "_render", "policy")

    def __init__(
        self,
        policy: Policy,
        messages: tuple[str, ...] | None = None,
        render: Callable[[], tuple[str, ...]] | None = None,
    ) -> None:
        self.policy = policy
        self._messages = messages
        self._render = render

    @property
    def messages(self) -> tuple[str, ...]:
        if self._messages is None:
            self._messages = self._render() if self._render is not None else ()
            self._render = None
        return self._messages

    def enforced(self, stage: LifecycleStage) -> bool:
        if stage is LifecycleStage.BUILD:
            return self.policy.enforced_at_build
        if stage is LifecycleStage.DEPLOY:
            return self.policy.enforced_at_deploy
        return bool(self.policy.enforcement_actions)

    def __repr__(self) -> str:
        return f"Violation({self.policy.name!r}, {self.messages!r})"


Step = tuple[Level, Sequence[FieldSpec], Sequence[PolicyGroup], object]


def _fmt_number(x: object) -> str:
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def _age(when: dt.datetime) -> str:
    days = (dt.datetime.now(dt.UTC) - when).days
    return f"{days} days ago ({when.date().isoformat()})"


def cve_sentence(cve: Vulnerability, component: Component | None) -> str:
    text = f"{cve.cve} (CVSS {cve.cvss:.1f}"
    if cve.severity.name != "UNKNOWN":
        text += f", {cve.severity.name.lower()}"
    text += ")"
    if component is not None:
        text += f" in {component.name} {component.version}".rstrip()
    text += f", fixed in {cve.fixed_by}" if cve.fixed_by else ", no fix available"
    return text


def _phrase(spec: FieldSpec, group: PolicyGroup, element: object) -> str:
    want = " or ".join(f"'{x}'" for x in group.values)
    value = ""
    extracted = spec.extract(element)
    if extracted:
        first = extracted[0]
        if (
            isinstance(first, tuple)
            and len(first) == 2
            and spec.name.endswith(("Label", "Annotation"))
        ):
            value = f"'{first[0]}={first[1]}'"
        else:
            value = _fmt_number(first)
    fields: dict[str, str] = {"v": value, "want": want, "age": ""}
    if spec.name.startswith(("Image Age", "Image Scan Age")) and extracted:
        first = extracted[0]
        if isinstance(first, dt.datetime):
            fields["age"] = _age(first)
    if isinstance(element, EnvVar):
        shown = element.value if element.source.value == "RAW" else f"<{element.source.value}>"
        fields["env"] = f"{element.name}={shown}" if element.value else element.name
    if isinstance(element, DockerfileLine):
        fields["line"] = f"{element.instruction} {element.value}"
    if isinstance(element, Component):
        fields["comp"] = f"{element.name} {element.version}".rstrip()
    if spec.name in ("Exposed Port", "Exposed Port Protocol", "Exposed Node Port") and isinstance(
        element, Port
    ):
        return f"exposes port {element.container_port}/{element.protocol}" + (
            f" on node port {element.node_port}" if element.node_port else ""
        )
    if spec.name.startswith("Volume") and isinstance(element, Volume):
        return f"mounts volume '{element.name}' ({element.type or 'volume'} '{element.source}' at '{element.destination}')"  # noqa: E501
    if group.negate:
        return f"has {spec.name.lower()} '{value}' (not {want})"
    try:
        return spec.phrase.format(**fields)
    except KeyError:
        return f"matches {spec.name} {want}"


def _join(parts: list[str]) -> str:
    return " and ".join(dict.fromkeys(parts))


def _subject(
    level: Level,
    element: object,
    container: str,
    in_deployment: bool,
    deployment: str,
    image: str,
) -> str:
    if level is Level.DEPLOYMENT or level in (Level.KUBE_EVENT, Level.NETWORK_FLOW):
        return f"Deployment '{deployment}'"
    if in_deployment and container:
        return f"Container '{container}'"
    if isinstance(element, ImageView):
        return f"Image '{element.name.full_name}'"
    return f"Image '{image}'" if image else "Image"


def describe_path(steps: Sequence[Step], in_deployment: bool) -> str:
    """One sentence (clauses joined by '; ') for one matched path through the object tree."""
    container = ""
    deployment = ""
    image_name = ""
    component: Component | None = None
    for _level, _specs, _groups, element in steps:
        if isinstance(element, Deployment):
            deployment = element.name
        elif isinstance(element, Container):
            container = element.name
        elif isinstance(element, ImageView):
            image_name = element.name.full_name
            container = container or element.container
        elif isinstance(element, Component):
            component = element
    clauses: list[str] = []
    for level, specs, groups, element in steps:
        if not specs:
            continue
        if isinstance(element, Vulnerability):
            text = cve_sentence(element, component)
            if in_deployment and container:
                text += f" (container '{container}')"
            elif image_name:
                text += f" (image '{image_name}')"
            clauses.append(text)
            continue
        if isinstance(element, AuditEvent):
            parts = [_phrase(s, g, element) for s, g in zip(specs, groups, strict=True)]
            clauses.append("Kubernetes API request: " + ", ".join(parts))
            continue
        if isinstance(element, ProcessIndicator | FileAccess):
            parts = [_phrase(s, g, element) for s, g in zip(specs, groups, strict=True)]
            proc = element if isinstance(element, ProcessIndicator) else element.process
            detail = ""
            if proc is not None:
                detail = (
                    f" ({proc.exec_file_path or proc.name} {proc.args}".rstrip()
                    + f", uid {proc.uid})"
                )
            clauses.append(f"Container '{container}' " + _join(parts) + detail)
            continue
        if isinstance(element, KubernetesEvent | NetworkFlow):
            parts = [_phrase(s, g, element) for s, g in zip(specs, groups, strict=True)]
            clauses.append(f"Deployment '{deployment}' " + _join(parts))
            continue
        subject = _subject(level, element, container, in_deployment, deployment, image_name)
        parts = [_phrase(s, g, element) for s, g in zip(specs, groups, strict=True)]
        clauses.append(f"{subject} " + _join(parts))
    return "; ".join(clauses)
