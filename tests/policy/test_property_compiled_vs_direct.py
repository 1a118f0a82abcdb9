"""The compiled evaluator and a direct, brute-force reading of the semantics agree.

The direct reading enumerates every combination of container, environment variable,
component and CVE of a deployment and checks each group against the element of its level,
with Python's own ``re`` for the regular expressions. It shares no code with the evaluator
beyond the model types.
"""

from __future__ import annotations

import itertools
import operator
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockade.model.deployment import Container, Deployment, EnvVar
from stockade.model.image import Component, Image, ImageName, Vulnerability
from stockade.policy import compile_policies

from .helpers import policy

WORDS = ["web", "db", "latest", "v1", "openssl", "zlib", "CVE-1", "CVE-2", "SECRET", "x"]
PATTERNS = ["web", "db", "latest", "v1", "openssl|zlib", "CVE-1", "CVE-.*", ".*", "x", "w.*"]

# field -> (level, extractor on the element of that level, kind)
FIELDS: dict[str, tuple[str, Any, str]] = {
    "Namespace": ("deployment", lambda d: [d.namespace], "regex"),
    "Container Name": ("container", lambda c: [c.name], "regex"),
    "Image Tag": ("container", lambda c: [c.image.tag], "regex"),
    "Privileged Container": ("container", lambda c: [c.privileged], "bool"),
    "Environment Variable": ("env", lambda e: [(e.source.value, e.name, e.value)], "env"),
    "Image Component": ("component", lambda k: [(k.name, k.version)], "comp"),
    "CVE": ("cve", lambda x: [x.cve], "regex"),
    "CVSS": ("cve", lambda x: [x.cvss], "number"),
    "Fixed By": ("cve", lambda x: [x.fixed_by] if x.fixed_by else None, "regex"),
}
NEGATABLE = {"Namespace", "Container Name", "Image Tag", "CVE", "Fixed By"}


def _re(p: str, s: str) -> bool:
    return re.fullmatch(f"(?:{p})", s, re.IGNORECASE) is not None


def direct_value_match(kind: str, value: str, x: Any) -> bool:
    if kind == "regex":
        return isinstance(x, str) and _re(value, x)
    if kind == "bool":
        return x is (value == "true")
    if kind == "number":
        op, num = value.split(" ")
        ops = {">=": operator.ge, "<": operator.lt, ">": operator.gt, "<=": operator.le}
        return ops[op](x, float(num))
    parts = value.split("=", 2 if kind == "env" else 1)
    return all(p == "" or _re(p, str(v)) for p, v in zip(parts, x, strict=True))


def direct_group(g: dict[str, Any], element: Any) -> bool:
    _level, extract, kind = FIELDS[g["fieldName"]]
    vals = extract(element)
    if vals is None:
        return False
    hits = [any(direct_value_match(kind, v["value"], x) for x in vals) for v in g["values"]]
    res = all(hits) if g["booleanOperator"] == "AND" else any(hits)
    return res != g["negate"]


def direct_evaluate(
    sections: list[list[dict[str, Any]]], dep: Deployment, images: dict[str, Image]
) -> bool:
    for groups in sections:
        levels = {FIELDS[g["fieldName"]][0] for g in groups}
        for c in dep.containers:
            img = images.get(c.image.full_name)
            comps: list[Any] = list(img.components) if img else []
            envs: list[Any] = list(c.env) if "env" in levels else [None]
            comp_choices: list[Any] = comps if levels & {"component", "cve"} else [None]
            for e, k in itertools.product(envs, comp_choices):
                cves: list[Any] = list(k.vulnerabilities) if "cve" in levels else [None]
                for x in cves:
                    elem = {"deployment": dep, "container": c, "env": e, "component": k, "cve": x}
                    if all(direct_group(g, elem[FIELDS[g["fieldName"]][0]]) for g in groups):
                        return True
    return False


def value_for(field: str) -> st.SearchStrategy[str]:
    kind = FIELDS[field][2]
    if kind == "regex":
        return st.sampled_from(PATTERNS)
    if kind == "bool":
        return st.sampled_from(["true", "false"])
    if kind == "number":
        return st.builds(
            lambda o, n: f"{o} {n}",
            st.sampled_from([">=", "<", ">", "<="]),
            st.sampled_from([0, 5, 7, 9.8]),
        )
    if kind == "env":
        return st.builds(
            lambda s, n: f"{s}={n}=",
            st.sampled_from(["RAW", "SECRET_KEY", ""]),
            st.sampled_from(["", ".*SECRET.*", "x"]),
        )
    return st.builds(
        lambda n, v: f"{n}={v}",
        st.sampled_from(["openssl", "zlib", "", "x"]),
        st.sampled_from(["", "1", "v1"]),
    )


@st.composite
def groups_st(draw: st.DrawFn) -> dict[str, Any]:
    field = draw(st.sampled_from(sorted(FIELDS)))
    single = FIELDS[field][2] == "bool"
    values = draw(st.lists(value_for(field), min_size=1, max_size=1 if single else 3))
    return {
        "fieldName": field,
        "booleanOperator": "OR" if single else draw(st.sampled_from(["OR", "AND"])),
        "negate": field in NEGATABLE and draw(st.booleans()),
        "values": [{"value": v} for v in values],
    }


@st.composite
def sections_st(draw: st.DrawFn) -> list[list[dict[str, Any]]]:
    out = []
    for _ in range(draw(st.integers(1, 2))):
        gs = draw(st.lists(groups_st(), min_size=1, max_size=3, unique_by=lambda g: g["fieldName"]))
        out.append(gs)
    return out


vuln_st = st.builds(
    Vulnerability,
    cve=st.sampled_from(["CVE-1", "CVE-2", "CVE-3"]),
    cvss=st.sampled_from([0.0, 5.0, 7.0, 9.8]),
    fixed_by=st.sampled_from(["", "1", "v1"]),
)
comp_st = st.builds(
    Component,
    name=st.sampled_from(["openssl", "zlib", "x"]),
    version=st.sampled_from(["1", "v1", "2"]),
    vulnerabilities=st.lists(vuln_st, max_size=3).map(tuple),
)
env_st = st.builds(
    EnvVar, name=st.sampled_from(["A_SECRET", "x", "PATH"]), value=st.sampled_from(["", "x"])
)


@st.composite
def world_st(draw: st.DrawFn) -> tuple[Deployment, dict[str, Image]]:
    containers = []
    images: dict[str, Image] = {}
    for i in range(draw(st.integers(1, 3))):
        tag = draw(st.sampled_from(["latest", "v1", "x"]))
        name = ImageName.parse(f"repo{i}:{tag}")
        containers.append(
            Container(
                name=draw(st.sampled_from(["web", "db", "x"])),
                image=name,
                privileged=draw(st.booleans()),
                env=tuple(draw(st.lists(env_st, max_size=2))),
            )
        )
        comps = tuple(draw(st.lists(comp_st, max_size=3)))
        images[name.full_name] = Image(
            name=name, id=f"sha256:{i}-{draw(st.integers(0, 10**9))}", components=comps
        )
    dep = Deployment(
        name="d", namespace=draw(st.sampled_from(["web", "db", "x"])), containers=tuple(containers)
    )
    return dep, images


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections=sections_st(), world=world_st())
def test_compiled_agrees_with_direct(
    sections: list[list[dict[str, Any]]], world: tuple[Deployment, dict[str, Image]]
) -> None:
    dep, images = world
    p = policy(*sections)
    compiled = bool(compile_policies([p]).evaluate_deployment(dep, images))
    assert compiled == direct_evaluate(sections, dep, images)
