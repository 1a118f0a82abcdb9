"""Policy scopes and exclusions.

A policy with scopes applies only to deployments matching at least one scope (cluster,
namespace, label). A deployment exclusion (name and/or scope) removes the deployment; an image
exclusion removes the containers running that image. Expired exclusions no longer apply.
Names and namespaces are regular expressions matched against the whole value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from functools import lru_cache

from stockade.model.deployment import Deployment
from stockade.model.image import ImageName
from stockade.policy.model import Policy, Scope
from stockade.policy.values import ValueSyntaxError, regex_matcher


@lru_cache(maxsize=4096)
def _rx(pattern: str) -> object:
    try:
        return regex_matcher(pattern)
    except ValueSyntaxError:
        return None


_RESULTS: dict[tuple[str, str], bool] = {}
_RESULTS_MAX = 100_000


def _matches(pattern: str, value: str) -> bool:
    """Whole-value match, memoised: many policies share the same exclusion patterns."""
    if not pattern:
        return True
    key = (pattern, value)
    got = _RESULTS.get(key)
    if got is None:
        m = _rx(pattern)
        got = bool(m(value)) if callable(m) else pattern == value
        if len(_RESULTS) >= _RESULTS_MAX:
            _RESULTS.clear()
        _RESULTS[key] = got
    return got


def scope_matches(scope: Scope, deployment: Deployment) -> bool:
    if (
        scope.cluster
        and scope.cluster != deployment.cluster
        and not _matches(scope.cluster, deployment.cluster)
    ):
        return False
    if not _matches(scope.namespace, deployment.namespace):
        return False
    if scope.has_label or scope.label_key:
        return any(
            _matches(scope.label_key, k) and _matches(scope.label_value, v)
            for k, v in deployment.labels.items()
        )
    return True


def apply(policy: Policy, deployment: Deployment, now: dt.datetime) -> Deployment | None:
    """``deployment`` as the policy sees it, or None if out of scope or excluded."""
    if policy.scope and not any(scope_matches(s, deployment) for s in policy.scope):
        return None
    excluded_images: list[str] = []
    for ex in policy.exclusions:
        if ex.expired(now):
            continue
        if ex.has_deployment or ex.deployment_name or ex.deployment_scope is not None:
            name_ok = _matches(ex.deployment_name, deployment.name)
            scope_ok = ex.deployment_scope is None or scope_matches(ex.deployment_scope, deployment)
            if name_ok and scope_ok:
                return None
        if ex.image_name:
            excluded_images.append(ex.image_name)
    if not excluded_images:
        return deployment
    kept = tuple(
        c
        for c in deployment.containers
        if not any(image_name_matches(p, c.image) for p in excluded_images)
    )
    if len(kept) == len(deployment.containers):
        return deployment
    return replace(deployment, containers=kept)


def image_name_matches(pattern: str, name: ImageName) -> bool:
    full = name.full_name
    short = f"{name.registry}/{name.remote}"
    return _matches(pattern, full) or _matches(pattern, short) or full.startswith(pattern)


def image_excluded(policy: Policy, name: ImageName, now: dt.datetime) -> bool:
    return any(
        ex.image_name and not ex.expired(now) and image_name_matches(ex.image_name, name)
        for ex in policy.exclusions
    )
