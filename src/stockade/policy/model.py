"""Policies in the product's JSON format, read and written losslessly.

``load_policies`` accepts a single policy object, a ``{"policies": [...]}`` export or a list
of policies. ``dump_policies`` writes ``{"policies": [...]}``. Keys Stockade does not know are
kept and written back; keys that were absent stay absent unless their value changed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TypeVar, Union, cast

from stockade.policy.errors import PolicyParseError

JSONValue = Union[str, int, float, bool, None, list["JSONValue"], dict[str, "JSONValue"]]  # noqa: UP007
JSONObject = dict[str, JSONValue]

MAX_POLICY_JSON_BYTES = 32 * 1024 * 1024
_E = TypeVar("_E", bound=StrEnum)


class LifecycleStage(StrEnum):
    BUILD = "BUILD"
    DEPLOY = "DEPLOY"
    RUNTIME = "RUNTIME"


class EventSource(StrEnum):
    NOT_APPLICABLE = "NOT_APPLICABLE"
    DEPLOYMENT_EVENT = "DEPLOYMENT_EVENT"
    AUDIT_LOG_EVENT = "AUDIT_LOG_EVENT"


class PolicySeverity(StrEnum):
    UNSET_SEVERITY = "UNSET_SEVERITY"
    LOW_SEVERITY = "LOW_SEVERITY"
    MEDIUM_SEVERITY = "MEDIUM_SEVERITY"
    HIGH_SEVERITY = "HIGH_SEVERITY"
    CRITICAL_SEVERITY = "CRITICAL_SEVERITY"

    @property
    def short(self) -> str:
        return self.value.removesuffix("_SEVERITY")


class EnforcementAction(StrEnum):
    UNSET_ENFORCEMENT = "UNSET_ENFORCEMENT"
    SCALE_TO_ZERO_ENFORCEMENT = "SCALE_TO_ZERO_ENFORCEMENT"
    UNSATISFIABLE_NODE_CONSTRAINT_ENFORCEMENT = "UNSATISFIABLE_NODE_CONSTRAINT_ENFORCEMENT"
    KILL_POD_ENFORCEMENT = "KILL_POD_ENFORCEMENT"
    FAIL_BUILD_ENFORCEMENT = "FAIL_BUILD_ENFORCEMENT"
    FAIL_KUBE_REQUEST_ENFORCEMENT = "FAIL_KUBE_REQUEST_ENFORCEMENT"
    FAIL_DEPLOYMENT_CREATE_ENFORCEMENT = "FAIL_DEPLOYMENT_CREATE_ENFORCEMENT"
    FAIL_DEPLOYMENT_UPDATE_ENFORCEMENT = "FAIL_DEPLOYMENT_UPDATE_ENFORCEMENT"


DEPLOY_ENFORCEMENTS = frozenset(
    {
        EnforcementAction.SCALE_TO_ZERO_ENFORCEMENT,
        EnforcementAction.UNSATISFIABLE_NODE_CONSTRAINT_ENFORCEMENT,
        EnforcementAction.FAIL_DEPLOYMENT_CREATE_ENFORCEMENT,
        EnforcementAction.FAIL_DEPLOYMENT_UPDATE_ENFORCEMENT,
    }
)


@dataclass(frozen=True, slots=True)
class Scope:
    cluster: str = ""
    namespace: str = ""
    label_key: str = ""
    label_value: str = ""
    has_label: bool = False


@dataclass(frozen=True, slots=True)
class Exclusion:
    name: str = ""
    deployment_name: str = ""
    deployment_scope: Scope | None = None
    has_deployment: bool = False
    image_name: str = ""
    has_image: bool = False
    expiration: dt.datetime | None = None
    raw_expiration: str = ""
    extra: tuple[tuple[str, JSONValue], ...] = ()

    def expired(self, now: dt.datetime) -> bool:
        return self.expiration is not None and self.expiration <= now


@dataclass(frozen=True, slots=True)
class PolicyGroup:
    field_name: str
    values: tuple[str, ...] = ()
    boolean_operator: str = "OR"
    negate: bool = False
    present: frozenset[str] = field(default=frozenset(), compare=False)


@dataclass(frozen=True, slots=True)
class PolicySection:
    groups: tuple[PolicyGroup, ...]
    section_name: str = ""
    present: frozenset[str] = field(default=frozenset(), compare=False)


@dataclass(frozen=True, slots=True)
class MitreVector:
    tactic: str
    techniques: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    id: str = ""
    description: str = ""
    rationale: str = ""
    remediation: str = ""
    disabled: bool = False
    categories: tuple[str, ...] = ()
    lifecycle_stages: tuple[LifecycleStage, ...] = ()
    event_source: EventSource = EventSource.NOT_APPLICABLE
    exclusions: tuple[Exclusion, ...] = ()
    scope: tuple[Scope, ...] = ()
    severity: PolicySeverity = PolicySeverity.LOW_SEVERITY
    enforcement_actions: tuple[EnforcementAction, ...] = ()
    notifiers: tuple[str, ...] = ()
    policy_version: str = "1.1"
    sections: tuple[PolicySection, ...] = ()
    mitre_attack_vectors: tuple[MitreVector, ...] = ()
    criteria_locked: bool = False
    mitre_vectors_locked: bool = False
    is_default: bool = False
    extra: tuple[tuple[str, JSONValue], ...] = ()
    present: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def enforced_at_build(self) -> bool:
        return EnforcementAction.FAIL_BUILD_ENFORCEMENT in self.enforcement_actions

    @property
    def enforced_at_deploy(self) -> bool:
        return any(a in DEPLOY_ENFORCEMENTS for a in self.enforcement_actions)

    def with_disabled(self, disabled: bool) -> Policy:
        return replace(self, disabled=disabled)


# ---- reading -----------------------------------------------------------------------------


class _Reader:
    """Checks the shape of one policy object and names where it is wrong."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, message: str) -> PolicyParseError:
        return PolicyParseError(f"{self.where}: {message}")

    def obj(self, value: JSONValue, what: str) -> JSONObject:
        if not isinstance(value, dict):
            raise self.fail(f"{what} must be an object")
        return value

    def lst(self, value: JSONValue, what: str) -> list[JSONValue]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{what} must be a list")
        return value

    def string(self, value: JSONValue, what: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(f"{what} must be a string")
        return value

    def boolean(self, value: JSONValue, what: str) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.fail(f"{what} must be true or false")
        return value

    def strings(self, value: JSONValue, what: str) -> tuple[str, ...]:
        return tuple(self.string(v, what) for v in self.lst(value, what))

    def enum(self, kind: type[_E], value: JSONValue, what: str) -> _E:
        text = self.string(value, what)
        try:
            return kind(text)
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise self.fail(f"{what} {text!r} is not one of {allowed}") from None


def _scope(r: _Reader, data: JSONValue) -> Scope:
    o = r.obj(data, "scope")
    label = o.get("label")
    lo = r.obj(label, "scope label") if label is not None else {}
    return Scope(
        cluster=r.string(o.get("cluster"), "scope cluster"),
        namespace=r.string(o.get("namespace"), "scope namespace"),
        label_key=r.string(lo.get("key"), "scope label key"),
        label_value=r.string(lo.get("value"), "scope label value"),
        has_label=label is not None,
    )


_EXCLUSION_KEYS = {"name", "deployment", "image", "expiration"}


def _exclusion(r: _Reader, data: JSONValue) -> Exclusion:
    o = r.obj(data, "exclusion")
    dep = o.get("deployment")
    img = o.get("image")
    dep_o = r.obj(dep, "exclusion deployment") if dep is not None else {}
    img_o = r.obj(img, "exclusion image") if img is not None else {}
    raw_exp = r.string(o.get("expiration"), "exclusion expiration")
    expiration = None
    if raw_exp:
        try:
            expiration = dt.datetime.fromisoformat(raw_exp.replace("Z", "+00:00"))
        except ValueError:
            raise r.fail(f"exclusion expiration {raw_exp!r} is not an RFC 3339 time") from None
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=dt.UTC)
    dep_scope = dep_o.get("scope")
    return Exclusion(
        name=r.string(o.get("name"), "exclusion name"),
        deployment_name=r.string(dep_o.get("name"), "exclusion deployment name"),
        deployment_scope=_scope(r, dep_scope) if dep_scope is not None else None,
        has_deployment=dep is not None,
        image_name=r.string(img_o.get("name"), "exclusion image name"),
        has_image=img is not None,
        expiration=expiration,
        raw_expiration=raw_exp,
        extra=tuple((k, v) for k, v in o.items() if k not in _EXCLUSION_KEYS),
    )


def _group(r: _Reader, data: JSONValue) -> PolicyGroup:
    o = r.obj(data, "policy group")
    values = []
    for v in r.lst(o.get("values"), "policy group values"):
        vo = r.obj(v, "policy group value")
        values.append(r.string(vo.get("value"), "policy group value"))
    op = r.string(o.get("booleanOperator"), "booleanOperator") or "OR"
    if op not in ("OR", "AND"):
        raise r.fail(f"booleanOperator {op!r} must be OR or AND")
    return PolicyGroup(
        field_name=r.string(o.get("fieldName"), "fieldName"),
        values=tuple(values),
        boolean_operator=op,
        negate=r.boolean(o.get("negate"), "negate"),
        present=frozenset(o),
    )


def _section(r: _Reader, data: JSONValue) -> PolicySection:
    o = r.obj(data, "policy section")
    return PolicySection(
        groups=tuple(_group(r, g) for g in r.lst(o.get("policyGroups"), "policyGroups")),
        section_name=r.string(o.get("sectionName"), "sectionName"),
        present=frozenset(o),
    )


_POLICY_KEYS = {
    "id", "name", "description", "rationale", "remediation", "disabled", "categories",
    "lifecycleStages", "eventSource", "exclusions", "scope", "severity", "enforcementActions",
    "notifiers", "policyVersion", "policySections", "mitreAttackVectors", "criteriaLocked",
    "mitreVectorsLocked", "isDefault",
}  # fmt: skip


def policy_from_json(data: JSONValue, where: str = "policy") -> Policy:
    """One policy object to a Policy; raises PolicyParseError naming what is wrong."""
    r = _Reader(where)
    o = r.obj(data, "a policy")
    name = r.string(o.get("name"), "name")
    if not name:
        raise r.fail("a policy needs a non-empty 'name'")
    r = _Reader(f"policy {name!r}")
    mitre = []
    for m in r.lst(o.get("mitreAttackVectors"), "mitreAttackVectors"):
        mo = r.obj(m, "MITRE ATT&CK vector")
        mitre.append(
            MitreVector(
                tactic=r.string(mo.get("tactic"), "tactic"),
                techniques=r.strings(mo.get("techniques"), "techniques"),
            )
        )
    event_source = o.get("eventSource")
    return Policy(
        id=r.string(o.get("id"), "id"),
        name=name,
        description=r.string(o.get("description"), "description"),
        rationale=r.string(o.get("rationale"), "rationale"),
        remediation=r.string(o.get("remediation"), "remediation"),
        disabled=r.boolean(o.get("disabled"), "disabled"),
        categories=r.strings(o.get("categories"), "categories"),
        lifecycle_stages=tuple(
            r.enum(LifecycleStage, s, "lifecycle stage")
            for s in r.lst(o.get("lifecycleStages"), "lifecycleStages")
        ),
        event_source=(
            r.enum(EventSource, event_source, "eventSource")
            if event_source
            else EventSource.NOT_APPLICABLE
        ),
        exclusions=tuple(_exclusion(r, e) for e in r.lst(o.get("exclusions"), "exclusions")),
        scope=tuple(_scope(r, s) for s in r.lst(o.get("scope"), "scope")),
        severity=(
            r.enum(PolicySeverity, o["severity"], "severity")
            if o.get("severity")
            else PolicySeverity.LOW_SEVERITY
        ),
        enforcement_actions=tuple(
            r.enum(EnforcementAction, a, "enforcement action")
            for a in r.lst(o.get("enforcementActions"), "enforcementActions")
        ),
        notifiers=r.strings(o.get("notifiers"), "notifiers"),
        policy_version=r.string(o.get("policyVersion"), "policyVersion") or "1.1",
        sections=tuple(_section(r, s) for s in r.lst(o.get("policySections"), "policySections")),
        mitre_attack_vectors=tuple(mitre),
        criteria_locked=r.boolean(o.get("criteriaLocked"), "criteriaLocked"),
        mitre_vectors_locked=r.boolean(o.get("mitreVectorsLocked"), "mitreVectorsLocked"),
        is_default=r.boolean(o.get("isDefault"), "isDefault"),
        extra=tuple((k, v) for k, v in o.items() if k not in _POLICY_KEYS),
        present=frozenset(o),
    )


def parse_json_text(text: str | bytes, where: str = "input") -> JSONValue:
    if len(text) > MAX_POLICY_JSON_BYTES:
        raise PolicyParseError(f"{where} is larger than {MAX_POLICY_JSON_BYTES // 2**20} MiB")
    try:
        return cast(JSONValue, json.loads(text))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PolicyParseError(f"{where} is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise PolicyParseError(f"{where} is nested too deeply") from exc


def load_policies(source: str | bytes | JSONValue, where: str = "input") -> list[Policy]:
    """Policies from JSON text or decoded JSON: one policy, ``{"policies": [...]}`` or a list."""
    data = parse_json_text(source, where) if isinstance(source, str | bytes) else source
    if isinstance(data, dict) and "policies" in data and "name" not in data:
        items = data["policies"]
        if not isinstance(items, list):
            raise PolicyParseError(f"{where}: 'policies' must be a list")
    elif isinstance(data, list):
        items = data
    elif isinstance(data, dict):
        items = [data]
    else:
        raise PolicyParseError(f"{where}: expected a policy object or {{'policies': [...]}}")
    return [policy_from_json(p, f"{where} policy #{i + 1}") for i, p in enumerate(items)]


# ---- writing -----------------------------------------------------------------------------


def _scope_json(s: Scope) -> JSONObject:
    out: JSONObject = {}
    if s.cluster:
        out["cluster"] = s.cluster
    if s.namespace:
        out["namespace"] = s.namespace
    if s.has_label or s.label_key or s.label_value:
        out["label"] = {"key": s.label_key, "value": s.label_value}
    return out


def _exclusion_json(e: Exclusion) -> JSONObject:
    out: JSONObject = {"name": e.name}
    if e.has_deployment or e.deployment_name or e.deployment_scope:
        dep: JSONObject = {}
        if e.deployment_name:
            dep["name"] = e.deployment_name
        if e.deployment_scope is not None:
            dep["scope"] = _scope_json(e.deployment_scope)
        out["deployment"] = dep
    if e.has_image or e.image_name:
        out["image"] = {"name": e.image_name}
    if e.raw_expiration:
        out["expiration"] = e.raw_expiration
    out.update(e.extra)
    return out


def _group_json(g: PolicyGroup) -> JSONObject:
    out: JSONObject = {"fieldName": g.field_name}
    if "booleanOperator" in g.present or g.boolean_operator != "OR":
        out["booleanOperator"] = g.boolean_operator
    if "negate" in g.present or g.negate:
        out["negate"] = g.negate
    out["values"] = [{"value": v} for v in g.values]
    return out


def policy_to_json(p: Policy) -> JSONObject:
    """The product's JSON form of one policy (keys in the product's order)."""
    present = p.present
    out: JSONObject = {}

    def put(key: str, value: JSONValue, default: JSONValue) -> None:
        if key in present or value != default:
            out[key] = value

    put("id", p.id, "")
    out["name"] = p.name
    put("description", p.description, "")
    put("rationale", p.rationale, "")
    put("remediation", p.remediation, "")
    put("disabled", p.disabled, False)
    put("categories", list(p.categories), [])
    put("lifecycleStages", [s.value for s in p.lifecycle_stages], [])
    put("eventSource", p.event_source.value, EventSource.NOT_APPLICABLE.value)
    put("exclusions", [_exclusion_json(e) for e in p.exclusions], [])
    put("scope", [_scope_json(s) for s in p.scope], [])
    out["severity"] = p.severity.value
    put("enforcementActions", [a.value for a in p.enforcement_actions], [])
    put("notifiers", list(p.notifiers), [])
    out["policyVersion"] = p.policy_version
    sections: list[JSONValue] = []
    for s in p.sections:
        so: JSONObject = {}
        if "sectionName" in s.present or s.section_name:
            so["sectionName"] = s.section_name
        so["policyGroups"] = [_group_json(g) for g in s.groups]
        sections.append(so)
    out["policySections"] = sections
    put(
        "mitreAttackVectors",
        [{"tactic": m.tactic, "techniques": list(m.techniques)} for m in p.mitre_attack_vectors],
        [],
    )
    put("criteriaLocked", p.criteria_locked, False)
    put("mitreVectorsLocked", p.mitre_vectors_locked, False)
    put("isDefault", p.is_default, False)
    out.update(p.extra)
    return out


def dump_policies(policies: Iterable[Policy]) -> JSONObject:
    """The ``{"policies": [...]}`` export document."""
    return {"policies": [policy_to_json(p) for p in policies]}


def dumps_policies(policies: Sequence[Policy] | Policy, indent: int = 2) -> str:
    if isinstance(policies, Policy):
        return json.dumps(policy_to_json(policies), indent=indent) + "\n"
    return json.dumps(dump_policies(policies), indent=indent) + "\n"


def policy_from_mapping(data: Mapping[str, JSONValue]) -> Policy:
    return policy_from_json(dict(data))
