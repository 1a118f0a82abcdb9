"""The policy criteria builder: a form draft read from and written back to plain fields.

Without JavaScript the builder is one form that posts back: "add section", "add criterion",
"remove …" and "update" buttons change the draft and render it again; "save" turns the draft
into the product's policy JSON, which the engine validates. The engine names policy,
section, field and value when it refuses one; :func:`engine_errors` maps those names back to
the input that holds them, so the message shows beside that input.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from stockade.central.portal.common import form_str
from stockade.policy import LifecycleStage
from stockade.policy.criteria import REGISTRY, Category, FieldSpec
from stockade.policy.errors import PolicyValidationError
from stockade.policy.model import EnforcementAction, EventSource

# which stage each enforcement action acts at (the product's grouping)
ACTIONS_BY_STAGE: dict[str, tuple[tuple[str, str], ...]] = {
    LifecycleStage.BUILD.value: (
        (EnforcementAction.FAIL_BUILD_ENFORCEMENT.value, "Fail the build (CI checks)"),
    ),
    LifecycleStage.DEPLOY.value: (
        (EnforcementAction.SCALE_TO_ZERO_ENFORCEMENT.value, "Scale the deployment to zero"),
        (
            EnforcementAction.UNSATISFIABLE_NODE_CONSTRAINT_ENFORCEMENT.value,
            "Add an unsatisfiable node constraint",
        ),
        (
            EnforcementAction.FAIL_DEPLOYMENT_CREATE_ENFORCEMENT.value,
            "Refuse creating the deployment (admission)",
        ),
        (
            EnforcementAction.FAIL_DEPLOYMENT_UPDATE_ENFORCEMENT.value,
            "Refuse updating the deployment (admission)",
        ),
    ),
    LifecycleStage.RUNTIME.value: (
        (EnforcementAction.KILL_POD_ENFORCEMENT.value, "Kill the pod"),
        (
            EnforcementAction.FAIL_KUBE_REQUEST_ENFORCEMENT.value,
            "Refuse the Kubernetes request (exec, port-forward)",
        ),
    ),
}
ACTION_STAGE = {a: stage for stage, acts in ACTIONS_BY_STAGE.items() for a, _ in acts}
EVENT_SOURCES = (
    (EventSource.NOT_APPLICABLE.value, "Not applicable (build and deploy policies)"),
    (EventSource.DEPLOYMENT_EVENT.value, "Deployment events (processes, network, exec)"),
    (EventSource.AUDIT_LOG_EVENT.value, "Kubernetes audit log"),
)
CATEGORY_LABELS = {
    Category.IMAGE: "Image contents (build, deploy, runtime)",
    Category.DEPLOYMENT: "Deployment configuration (deploy, runtime)",
    Category.RUNTIME: "Runtime activity (runtime, deployment events)",
    Category.AUDIT: "Kubernetes audit log (runtime, audit-log events)",
}
MAX_ROWS = 50  # sections, criteria per section, scopes, exclusions: a post-back stays small


def field_hint(spec: FieldSpec) -> str:
    """The value syntax and rules of one criterion, in a sentence for beside its input."""
    parts = [f"Value: {spec.syntax.value}"]
    if spec.allowed:
        parts.append("one of " + ", ".join(spec.allowed))
    if not spec.multi:
        parts.append("exactly one value")
    if not spec.negatable:
        parts.append("cannot be negated")
    if spec.audit_variant is not None:
        parts.append("also usable in audit-log policies")
    return "; ".join(parts) + "."


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    hint: str


def catalogue() -> list[tuple[str, list[CatalogueEntry]]]:
    """Every criterion, grouped by what it needs (and so which stages it fits)."""
    groups: dict[Category, list[CatalogueEntry]] = {c: [] for c in CATEGORY_LABELS}
    for spec in REGISTRY.values():
        groups[spec.category].append(CatalogueEntry(spec.name, field_hint(spec)))
    return [
        (CATEGORY_LABELS[c], sorted(entries, key=lambda e: e.name)) for c, entries in groups.items()
    ]


# ---- the draft ------------------------------------------------------------------------------


@dataclass
class GroupRow:
    field: str = ""
    values: str = ""  # one value per line
    op: str = "OR"
    negate: bool = False

    @property
    def hint(self) -> str:
        spec = REGISTRY.get(self.field)
        return field_hint(spec) if spec is not None else "Choose a field to see its value syntax."


@dataclass
class SectionRow:
    name: str = ""
    groups: list[GroupRow] = field(default_factory=lambda: [GroupRow()])


@dataclass
class ScopeRow:
    cluster: str = ""
    namespace: str = ""
    label_key: str = ""
    label_value: str = ""

    def blank(self) -> bool:
        return not (self.cluster or self.namespace or self.label_key or self.label_value)


@dataclass
class ExclusionRow:
    name: str = ""
    deployment: str = ""
    scope: ScopeRow = field(default_factory=ScopeRow)
    image: str = ""
    expiration: str = ""
    # what a stored exclusion holds beyond these boxes (JSON), carried through post-backs in a
    # hidden field and written back, so saving from the builder loses nothing
    kept: str = ""

    def blank(self) -> bool:
        return not (self.name or self.deployment or self.image or self.expiration) and (
            self.scope.blank()
        )


@dataclass
class Draft:
    name: str = ""
    description: str = ""
    rationale: str = ""
    remediation: str = ""
    severity: str = "MEDIUM_SEVERITY"
    categories: list[str] = field(default_factory=list)
    new_categories: str = ""
    stages: list[str] = field(default_factory=lambda: [LifecycleStage.BUILD.value])
    event_source: str = EventSource.NOT_APPLICABLE.value
    enabled: bool = True
    sections: list[SectionRow] = field(default_factory=lambda: [SectionRow()])
    scopes: list[ScopeRow] = field(default_factory=list)
    exclusions: list[ExclusionRow] = field(default_factory=list)
    enforcement: list[str] = field(default_factory=list)
    notifiers: list[str] = field(default_factory=list)

    def actions(self) -> list[tuple[str, str, str]]:
        """(action, label, stage) for the chosen stages, plus any chosen action that no
        longer fits them (so the error about it has a box to sit beside)."""
        out = [
            (a, label, stage)
            for stage, acts in ACTIONS_BY_STAGE.items()
            for a, label in acts
            if stage in self.stages or a in self.enforcement
        ]
        return out


def _raw(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _indices(form: FormData, pattern: re.Pattern[str]) -> list[int]:
    found = {int(m.group(1)) for k in form if (m := pattern.fullmatch(k))}
    return sorted(found)[:MAX_ROWS]


def _scope_row(form: FormData, prefix: str) -> ScopeRow:
    return ScopeRow(
        cluster=form_str(form, f"{prefix}-cluster"),
        namespace=form_str(form, f"{prefix}-namespace"),
        label_key=form_str(form, f"{prefix}-label-key"),
        label_value=form_str(form, f"{prefix}-label-value"),
    )


def _strings(form: FormData, key: str) -> list[str]:
    return [s for s in form.getlist(key) if isinstance(s, str) and s]


def draft_from_form(form: FormData) -> Draft:
    sections = []
    for i in _indices(form, re.compile(r"s(\d+)-name")):
        groups = [
            GroupRow(
                field=form_str(form, f"s{i}-g{j}-field"),
                values=_raw(form, f"s{i}-g{j}-values").replace("\r\n", "\n"),
                op="AND" if form_str(form, f"s{i}-g{j}-op") == "AND" else "OR",
                negate=form_str(form, f"s{i}-g{j}-negate") == "true",
            )
            for j in _indices(form, re.compile(rf"s{i}-g(\d+)-field"))
        ]
        sections.append(SectionRow(form_str(form, f"s{i}-name"), groups))
    return Draft(
        name=form_str(form, "name"),
        description=form_str(form, "description"),
        rationale=form_str(form, "rationale"),
        remediation=form_str(form, "remediation"),
        severity=form_str(form, "severity"),
        categories=_strings(form, "categories"),
        new_categories=_raw(form, "new-categories"),
        stages=_strings(form, "lifecycleStages"),
        event_source=form_str(form, "eventSource") or EventSource.NOT_APPLICABLE.value,
        enabled=form_str(form, "enabled") == "true",
        sections=sections,
        scopes=[
            _scope_row(form, f"scope{k}")
            for k in _indices(form, re.compile(r"scope(\d+)-namespace"))
        ],
        exclusions=[
            ExclusionRow(
                name=form_str(form, f"ex{k}-name"),
                deployment=form_str(form, f"ex{k}-deployment"),
                scope=_scope_row(form, f"ex{k}"),
                image=form_str(form, f"ex{k}-image"),
                expiration=form_str(form, f"ex{k}-expiration"),
                kept=_raw(form, f"ex{k}-kept"),
            )
            for k in _indices(form, re.compile(r"ex(\d+)-name"))
        ],
        enforcement=_strings(form, "enforcementActions"),
        notifiers=_strings(form, "notifiers"),
    )


def _str(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key)
    return value if isinstance(value, str) else ""


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    return value if isinstance(value, list) else []


def _obj(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _scope_from(doc: Mapping[str, Any]) -> ScopeRow:
    label = _obj(doc, "label")
    return ScopeRow(
        _str(doc, "cluster"), _str(doc, "namespace"), _str(label, "key"), _str(label, "value")
    )


# the parts of an exclusion the builder's boxes show (nested: the deployment's name and scope)
_SHOWN: dict[str, Any] = {
    "name": None,
    "expiration": None,
    "image": {"name": None},
    "deployment": {"name": None, "scope": {"cluster": None, "namespace": None, "label": None}},
}


def _without(doc: Mapping[str, Any], shown: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        inner = shown.get(key, ...)
        if inner is None:
            continue
        if isinstance(inner, dict) and isinstance(value, dict):
            rest = _without(value, inner)
            if rest:
                out[key] = rest
        else:
            out[key] = value
    return out


def _kept(exclusion: Mapping[str, Any]) -> str:
    rest = _without(exclusion, _SHOWN)
    return json.dumps(rest, sort_keys=True) if rest else ""


def _merge_kept(ex: dict[str, Any], kept: str) -> dict[str, Any]:
    """``ex`` with what the stored exclusion held beyond the boxes; the boxes win."""
    try:
        rest = json.loads(kept) if kept else {}
    except ValueError:
        return ex
    if not isinstance(rest, dict):
        return ex

    def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in over.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merged(out[key], value)
            else:
                out[key] = value
        return out

    return merged(rest, ex)


def draft_from_doc(doc: Mapping[str, Any]) -> Draft:
    """A stored policy (the product's JSON) as a draft."""
    sections = []
    for s in _list(doc, "policySections"):
        groups = [
            GroupRow(
                field=_str(g, "fieldName"),
                values="\n".join(_str(v, "value") for v in _list(g, "values")),
                op="AND" if g.get("booleanOperator") == "AND" else "OR",
                negate=g.get("negate") is True,
            )
            for g in _list(s, "policyGroups")
        ]
        sections.append(SectionRow(_str(s, "sectionName"), groups))
    exclusions = []
    for e in _list(doc, "exclusions"):
        dep, img = _obj(e, "deployment"), _obj(e, "image")
        scope = _obj(dep, "scope")
        exclusions.append(
            ExclusionRow(
                name=_str(e, "name"),
                deployment=_str(dep, "name"),
                scope=_scope_from(scope),
                image=_str(img, "name"),
                expiration=_str(e, "expiration"),
                kept=_kept(e) if isinstance(e, dict) else "",
            )
        )
    return Draft(
        name=_str(doc, "name"),
        description=_str(doc, "description"),
        rationale=_str(doc, "rationale"),
        remediation=_str(doc, "remediation"),
        severity=_str(doc, "severity") or "LOW_SEVERITY",
        categories=[c for c in _list(doc, "categories") if isinstance(c, str)],
        stages=[s for s in _list(doc, "lifecycleStages") if isinstance(s, str)],
        event_source=_str(doc, "eventSource") or EventSource.NOT_APPLICABLE.value,
        enabled=doc.get("disabled") is not True,
        sections=sections,
        scopes=[_scope_from(s) for s in _list(doc, "scope") if isinstance(s, dict)],
        exclusions=exclusions,
        enforcement=[a for a in _list(doc, "enforcementActions") if isinstance(a, str)],
        notifiers=[n for n in _list(doc, "notifiers") if isinstance(n, str)],
    )


# ---- buttons that change the draft ----------------------------------------------------------

_NEW_ROW: dict[str, Callable[[], Any]] = {
    "group": GroupRow,
    "section": SectionRow,
    "scope": ScopeRow,
    "exclusion": ExclusionRow,
}
_ACTION = re.compile(r"(add|remove)-(section|group|scope|exclusion)(?:-(\d+))?(?:-(\d+))?")


def apply_action(draft: Draft, action: str) -> None:
    """Add or remove a row as the pressed button asks; unknown or stale buttons do nothing."""
    m = _ACTION.fullmatch(action)
    if m is None:
        return
    verb, what = m.group(1), m.group(2)
    i = int(m.group(3)) if m.group(3) else -1
    j = int(m.group(4)) if m.group(4) else -1
    rows: list[Any]
    if what == "group":
        if not 0 <= i < len(draft.sections):
            return
        rows, at = draft.sections[i].groups, j
    else:
        lists: dict[str, list[Any]] = {
            "section": draft.sections,
            "scope": draft.scopes,
            "exclusion": draft.exclusions,
        }
        rows = lists[what]
        at = i
    if verb == "add" and len(rows) < MAX_ROWS:
        rows.append(_NEW_ROW[what]())
    elif verb == "remove" and 0 <= at < len(rows):
        del rows[at]


# ---- from the draft to the policy JSON ------------------------------------------------------


def _scope_json(s: ScopeRow) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if s.cluster:
        out["cluster"] = s.cluster
    if s.namespace:
        out["namespace"] = s.namespace
    if s.label_key or s.label_value:
        out["label"] = {"key": s.label_key, "value": s.label_value}
    return out


def _expiration(text: str) -> str:
    """An RFC 3339 time (or a date, meaning its midnight UTC); raises ValueError."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        dt.date.fromisoformat(text)
        return f"{text}T00:00:00Z"
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def draft_to_doc(
    draft: Draft, base: Mapping[str, Any], severities: Sequence[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The policy JSON the draft describes, laid over ``base`` (the stored policy, so keys
    the builder does not show survive an edit), and the errors found before the engine."""
    errors: dict[str, str] = {}
    if not draft.name:
        errors["name"] = "A policy needs a name."
    if draft.severity not in severities:
        errors["severity"] = "Choose a severity."
    if draft.event_source not in {value for value, _ in EVENT_SOURCES}:
        errors["eventSource"] = "Choose an event source from the list."
    stages = [s for s in draft.stages if s in ACTIONS_BY_STAGE]
    if not stages:
        errors["lifecycleStages"] = "Choose at least one lifecycle stage."
    for a in draft.enforcement:
        stage = ACTION_STAGE.get(a)
        if stage is None:
            errors["enforcementActions"] = f"{a} is not an enforcement action."
        elif stage not in stages:
            errors["enforcementActions"] = (
                f"{a} acts at the {stage} stage, which this policy does not have."
            )
    sections = []
    for i, s in enumerate(draft.sections):
        groups = []
        for j, g in enumerate(s.groups):
            if g.field not in REGISTRY:
                errors[f"s{i}-g{j}-field"] = "Choose a field from the list."
            values = [line.strip() for line in g.values.split("\n") if line.strip()]
            groups.append(
                {
                    "fieldName": g.field,
                    "booleanOperator": g.op,
                    "negate": g.negate,
                    "values": [{"value": v} for v in values],
                }
            )
        sections.append({"sectionName": s.name, "policyGroups": groups})
    exclusions = []
    for k, e in enumerate(draft.exclusions):
        if e.blank():
            continue
        ex: dict[str, Any] = {"name": e.name or e.deployment or e.image}
        if e.deployment or not e.scope.blank():
            dep: dict[str, Any] = {"name": e.deployment} if e.deployment else {}
            if not e.scope.blank():
                dep["scope"] = _scope_json(e.scope)
            ex["deployment"] = dep
        if e.image:
            ex["image"] = {"name": e.image}
        if "deployment" not in ex and "image" not in ex:
            errors[f"ex{k}-deployment"] = "Name a deployment, a scope or an image to exclude."
        if e.expiration:
            try:
                ex["expiration"] = _expiration(e.expiration)
            except ValueError:
                errors[f"ex{k}-expiration"] = (
                    "Write the expiration as a date (2027-01-31) or an RFC 3339 time "
                    "(2027-01-31T12:00:00Z)."
                )
        exclusions.append(_merge_kept(ex, e.kept))
    new = [c.strip() for c in draft.new_categories.split("\n") if c.strip()]
    doc = {k: v for k, v in base.items() if k not in ("id", "lastUpdated")}
    doc.update(
        name=draft.name,
        description=draft.description,
        rationale=draft.rationale,
        remediation=draft.remediation,
        severity=draft.severity,
        categories=list(dict.fromkeys([*draft.categories, *new])),
        lifecycleStages=stages,
        eventSource=draft.event_source,
        disabled=not draft.enabled,
        policySections=sections,
        scope=[_scope_json(s) for s in draft.scopes if not s.blank()],
        exclusions=exclusions,
        enforcementActions=list(draft.enforcement),
        notifiers=list(draft.notifiers),
    )
    return doc, errors


# ---- the engine's refusal, beside the input it is about -------------------------------------

_VALUE_REASONS = ("needs at least one value", "takes exactly one value", "has more than")


def engine_errors(exc: PolicyValidationError, draft: Draft) -> dict[str, str]:
    """The input an engine error names: section N's criterion M's field, values or negate
    box, a section, or a policy-level field; ``form`` when none fits."""
    reason = f"{exc.value!r}: {exc.reason}" if exc.value else exc.reason
    if exc.section:
        labels = [s.name or f"#{i + 1}" for i, s in enumerate(draft.sections)]
        if exc.section in labels:
            i = labels.index(exc.section)
            if not exc.field:
                return {f"s{i}": reason}
            matches = [j for j, g in enumerate(draft.sections[i].groups) if g.field == exc.field]
            if matches:
                j = matches[-1] if "appears twice" in exc.reason else matches[0]
                if exc.value or exc.reason.startswith(_VALUE_REASONS):
                    part = "values"
                elif exc.reason == "cannot be negated":
                    part = "negate"
                else:
                    part = "field"
                return {f"s{i}-g{j}-{part}": reason}
    if "stage" in exc.reason and "event source" not in exc.reason and not exc.section:
        return {"lifecycleStages": reason}
    if "event source" in exc.reason or "audit-log" in exc.reason:
        return {"eventSource": reason}
    if "policy sections" in exc.reason:
        return {"sections": "Add a policy section with at least one criterion."}
    return {"form": exc.message}
