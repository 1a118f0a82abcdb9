"""Policy validation: every group names a known field, every value fits its syntax, every
field fits the policy's lifecycle stages and event source. Errors name policy, section,
field and value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from stockade.policy import values as v
from stockade.policy.criteria import Category, FieldSpec, lookup
from stockade.policy.errors import PolicyValidationError
from stockade.policy.model import EventSource, LifecycleStage, Policy, PolicyGroup

MAX_VALUES_PER_GROUP = 1000


@dataclass(frozen=True, slots=True)
class ResolvedGroup:
    spec: FieldSpec
    group: PolicyGroup
    matchers: tuple[v.Matcher, ...]


def _section_label(policy: Policy, index: int) -> str:
    name = policy.sections[index].section_name
    return name or f"#{index + 1}"


def is_audit_policy(policy: Policy) -> bool:
    return policy.event_source is EventSource.AUDIT_LOG_EVENT


def resolve_policy(policy: Policy, now: Callable[[], dt.datetime]) -> list[list[ResolvedGroup]]:
    """Validate ``policy`` and compile its values; raises PolicyValidationError."""
    audit = is_audit_policy(policy)
    stages = set(policy.lifecycle_stages)
    if not stages:
        raise PolicyValidationError("names no lifecycle stage", policy=policy.name)
    if audit and stages != {LifecycleStage.RUNTIME}:
        raise PolicyValidationError(
            "audit-log policies apply to the RUNTIME stage only", policy=policy.name
        )
    if (
        LifecycleStage.RUNTIME not in stages
        and policy.event_source is not EventSource.NOT_APPLICABLE
    ):
        raise PolicyValidationError(
            f"event source {policy.event_source.value} needs the RUNTIME stage", policy=policy.name
        )
    if not policy.sections:
        raise PolicyValidationError("has no policy sections", policy=policy.name)
    out: list[list[ResolvedGroup]] = []
    for si, section in enumerate(policy.sections):
        label = _section_label(policy, si)
        if not section.groups:
            raise PolicyValidationError("has no criteria", policy=policy.name, section=label)
        resolved: list[ResolvedGroup] = []
        seen: set[str] = set()
        for group in section.groups:
            resolved.append(_resolve_group(policy, label, group, audit, stages, now))
            if group.field_name in seen:
                raise PolicyValidationError(
                    "appears twice in one section", policy=policy.name, section=label,
                    field=group.field_name,
                )  # fmt: skip
            seen.add(group.field_name)
        categories = {g.spec.category for g in resolved}
        if stages == {LifecycleStage.RUNTIME} and not audit and Category.RUNTIME not in categories:
            raise PolicyValidationError(
                "a RUNTIME policy needs a process, network flow, file or Kubernetes event "
                "criterion in every section",
                policy=policy.name,
                section=label,
            )
        out.append(resolved)
    return out


def _resolve_group(
    policy: Policy,
    section: str,
    group: PolicyGroup,
    audit: bool,
    stages: set[LifecycleStage],
    now: Callable[[], dt.datetime],
) -> ResolvedGroup:
    def fail(reason: str, value: str = "") -> PolicyValidationError:
        return PolicyValidationError(
            reason, policy=policy.name, section=section, field=group.field_name, value=value
        )

    spec = lookup(group.field_name, audit=audit)
    if spec is None:
        raise fail("is not a known policy criterion")
    cat = spec.category
    if audit and cat is not Category.AUDIT:
        raise fail("cannot be used in an audit-log policy")
    if not audit and cat is Category.AUDIT:
        raise fail("needs an AUDIT_LOG_EVENT policy")
    if LifecycleStage.BUILD in stages and cat is not Category.IMAGE:
        raise fail("does not fit the BUILD stage (only image criteria do)")
    if LifecycleStage.DEPLOY in stages and cat in (Category.RUNTIME, Category.AUDIT):
        raise fail("is a runtime criterion and does not fit the DEPLOY stage")
    if cat is Category.RUNTIME and LifecycleStage.RUNTIME not in stages:
        raise fail("needs the RUNTIME stage")
    if not group.values:
        raise fail("needs at least one value")
    if len(group.values) > MAX_VALUES_PER_GROUP:
        raise fail(f"has more than {MAX_VALUES_PER_GROUP} values")
    if group.negate and not spec.negatable:
        raise fail("cannot be negated")
    if not spec.multi and (len(group.values) > 1 or group.boolean_operator == "AND"):
        raise fail("takes exactly one value")
    matchers = []
    for value in group.values:
        if not value.strip():
            raise fail("must not be empty", value)
        try:
            matchers.append(spec.matcher(value, now))
        except v.ValueSyntaxError as exc:
            raise fail(str(exc), value) from exc
    return ResolvedGroup(spec=spec, group=group, matchers=tuple(matchers))


def validate_policy(policy: Policy) -> None:
    """Raise PolicyValidationError if ``policy`` is not valid."""
    resolve_policy(policy, lambda: dt.datetime.now(dt.UTC))
