"""Matching semantics as the product defines them."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from stockade.model.deployment import EnvVar, EnvVarSource, Port
from stockade.model.image import Component
from stockade.policy import compile_policies

from .helpers import container, cve, deployment, group, image, policy


def names(p, dep, images=None) -> bool:  # type: ignore[no-untyped-def]
    return bool(compile_policies([p]).evaluate_deployment(dep, images))


@pytest.mark.parametrize(
    ("tag", "fires"),
    [("latest", True), ("LATEST", True), ("latest-1", False), ("my-latest", False)],
)
def test_regex_is_whole_value_and_case_insensitive(tag: str, fires: bool) -> None:
    p = policy([group("Image Tag", "latest")])
    assert names(p, deployment(container(image=f"nginx:{tag}"))) is fires


def test_sections_or_groups_and() -> None:
    p = policy(
        [group("Image Tag", "latest"), group("Privileged Container", "true")],
        [group("Container Name", "sidecar")],
    )
    assert not names(p, deployment(container(image="nginx:latest")))
    assert names(p, deployment(container(image="nginx:latest", privileged=True)))
    assert names(p, deployment(container(name="sidecar")))


def test_values_or_unless_and() -> None:
    any_of = policy([group("Exposed Node Port", "<= 1024", "> 5000")])
    all_of = policy([group("Exposed Node Port", "<= 1024", "> 0", op="AND")])
    low = deployment(container(ports=(Port(80, node_port=80),)))
    zero = deployment(container(ports=(Port(80, node_port=0),)))
    assert names(any_of, low) and names(any_of, zero)
    assert names(all_of, low) and not names(all_of, zero)


def test_negate() -> None:
    p = policy([group("Namespace", "kube-system", "istio-.*", negate=True)])
    assert names(p, deployment(namespace="shop"))
    assert not names(p, deployment(namespace="kube-system"))
    assert not names(p, deployment(namespace="istio-ingress"))


def test_groups_of_one_section_match_the_same_container() -> None:
    p = policy([group("Image Tag", "latest"), group("Privileged Container", "true")])
    split = deployment(container("a", image="nginx:latest"), container("b", privileged=True))
    same = deployment(container("a", image="nginx:latest", privileged=True))
    assert not names(p, split)
    assert names(p, same)


def test_cve_groups_match_the_same_cve() -> None:
    p = policy([group("CVSS", ">= 7"), group("Fixed By", ".*")])
    spread = image(
        "app:1",
        Component(
            "openssl", "3.0.1", vulnerabilities=(cve("CVE-1", 9.8), cve("CVE-2", 3.1, "3.0.2"))
        ),
    )
    one = image(
        "app:1", Component("openssl", "3.0.1", vulnerabilities=(cve("CVE-1", 9.8, "3.0.9"),))
    )
    dep = deployment(container(image="app:1"))
    assert not names(p, dep, {"app:1": spread, "docker.io/library/app:1": spread})
    assert names(p, dep, {"docker.io/library/app:1": one})


def test_component_groups_match_the_same_component() -> None:
    p = policy([group("Image Component", "openssl="), group("CVE", "CVE-9")], stages=("BUILD",))
    img = image(
        "app:2",
        Component("openssl", "3", vulnerabilities=(cve("CVE-1"),)),
        Component("zlib", "1", vulnerabilities=(cve("CVE-9"),)),
    )
    assert compile_policies([p]).evaluate_image(img) == []


def test_env_compound_value() -> None:
    p = policy([group("Environment Variable", "RAW=.*PASSWORD.*=")])
    raw = deployment(container(env=(EnvVar("DB_PASSWORD", "x"),)))
    from_secret = deployment(container(env=(EnvVar("DB_PASSWORD", "", EnvVarSource.SECRET_KEY),)))
    assert names(p, raw) and not names(p, from_secret)


def test_required_label_fires_when_missing() -> None:
    p = policy([group("Required Label", "owner=.+")])
    assert names(p, deployment(labels={"app": "x"}))
    assert names(p, deployment(labels={"owner": ""}))
    assert not names(p, deployment(labels={"owner": "team-a"}))


def test_disabled_policies_do_not_fire() -> None:
    p = policy([group("Image Tag", "latest")], disabled=True)
    dep = deployment(container(image="nginx:latest"))
    assert compile_policies([p]).evaluate_deployment(dep) == []
    assert compile_policies([p], include_disabled=True).evaluate_deployment(dep)


def test_scope_and_exclusions() -> None:
    base = [group("Image Tag", "latest")]
    dep = deployment(
        container(image="nginx:latest"), name="web", namespace="shop", labels={"tier": "fe"}
    )
    scoped_in = policy(base, scope=[{"namespace": "sh.*", "label": {"key": "tier", "value": "fe"}}])
    scoped_out = policy(base, scope=[{"namespace": "other"}])
    assert names(scoped_in, dep) and not names(scoped_out, dep)
    excluded = policy(
        base,
        exclusions=[{"name": "x", "deployment": {"name": "web", "scope": {"namespace": "shop"}}}],
    )
    assert not names(excluded, dep)
    by_image = policy(
        base, exclusions=[{"name": "x", "image": {"name": "docker.io/library/nginx:latest"}}]
    )
    assert not names(by_image, dep)
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    expired = policy(
        base, exclusions=[{"name": "x", "deployment": {"name": "web"}, "expiration": past}]
    )
    active = policy(
        base, exclusions=[{"name": "x", "deployment": {"name": "web"}, "expiration": future}]
    )
    assert names(expired, dep)
    assert not names(active, dep)


def test_catastrophic_regex_is_linear() -> None:
    p = policy([group("Container Name", "(a+)+$")])
    dep = deployment(container(name="a" * 200_000 + "!"))
    start = time.perf_counter()
    assert not names(p, dep)
    assert time.perf_counter() - start < 1.0


def test_severity_comparator() -> None:
    p = policy([group("Severity", ">= IMPORTANT")], stages=("BUILD",))
    engine = compile_policies([p])
    low = image("a:1", Component("c", "1", vulnerabilities=(cve("CVE-1", severity="MODERATE"),)))
    high = image("a:2", Component("c", "1", vulnerabilities=(cve("CVE-1", severity="CRITICAL"),)))
    assert engine.evaluate_image(low) == [] and engine.evaluate_image(high)


def test_warm_cache_is_used() -> None:
    p = policy([group("CVE", "CVE-1")])
    engine = compile_policies([p])
    img = image("a:1", Component("c", "1", vulnerabilities=(cve("CVE-1"),)))
    dep = deployment(container(image="a:1"))
    for _ in range(3):
        assert engine.evaluate_deployment(dep, {"docker.io/library/a:1": img})
    assert engine.cache_misses == 1 and engine.cache_hits >= 2
