"""The default policy set against the test table: each policy fires on its 'match' case and
stays quiet on its 'nomatch' case; the hardened baseline triggers nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from stockade.policy import LifecycleStage, compile_policies, load_default_policies
from stockade.policy.evaluator import CompiledPolicySet

from .fixtures import NOW, Case, cases

SHARED = Path(__file__).parents[2] / ".." / "shared" / "reference"
CASES = cases()


@pytest.fixture(scope="module")
def engine() -> CompiledPolicySet:
    return compile_policies(load_default_policies(), now=lambda: NOW, include_disabled=True)


def fired(engine: CompiledPolicySet, case: Case, build_only: bool = False) -> set[str]:
    if build_only:
        assert case.image is not None
        return {v.policy.name for v in engine.evaluate_image(case.image)}
    if case.audit is not None:
        return {v.policy.name for v in engine.evaluate_audit_event(case.audit)}
    if case.process is not None:
        return {
            v.policy.name
            for v in engine.evaluate_process(case.deployment, case.process, case.images)
        }
    if case.kube_event is not None:
        return {
            v.policy.name
            for v in engine.evaluate_kubernetes_event(case.deployment, case.kube_event)
        }
    if case.flow is not None:
        return {v.policy.name for v in engine.evaluate_network_flow(case.deployment, case.flow)}
    return {v.policy.name for v in engine.evaluate_deployment(case.deployment, case.images)}


def test_baseline_triggers_nothing(engine: CompiledPolicySet) -> None:
    case = Case({})
    assert fired(engine, case) == set()
    assert case.image is not None
    assert engine.evaluate_image(case.image) == []


def test_every_default_policy_has_cases() -> None:
    with (SHARED / "default-policies.tsv").open() as f:
        names = {row["name"] for row in csv.DictReader(f, delimiter="\t")}
    assert set(CASES) == names
    assert all({"match", "nomatch"} <= set(c) for c in CASES.values())


@pytest.mark.parametrize("name", sorted(CASES))
def test_default_policy_table(engine: CompiledPolicySet, name: str) -> None:
    policy = next(cp.policy for cp in engine.policies if cp.policy.name == name)
    for kind, expected in (("match", True), ("nomatch", False)):
        case = Case(CASES[name][kind])
        got = fired(engine, case, policy.lifecycle_stages == (LifecycleStage.BUILD,))
        assert (name in got) is expected, f"{kind}: fired {sorted(got)}"
        build_case = case.image_only and case.image is not None and case.process is None
        if LifecycleStage.BUILD in policy.lifecycle_stages and build_case:
            assert case.image is not None
            at_build = {v.policy.name for v in engine.evaluate_image(case.image)}
            assert (name in at_build) is expected, f"{kind} at build: {sorted(at_build)}"


def test_violation_messages_read_well(engine: CompiledPolicySet) -> None:
    case = Case(CASES["Latest tag"]["match"])
    [v] = [
        v
        for v in engine.evaluate_deployment(case.deployment, case.images)
        if v.policy.name == "Latest tag"
    ]
    assert v.messages == ("Container 'api' has image tag 'LATEST'",)
    case = Case(CASES["Log4Shell: log4j Remote Code Execution vulnerability"]["match"])
    assert case.image is not None
    [v] = [v for v in engine.evaluate_image(case.image) if v.policy.name.startswith("Log4Shell")]
    assert v.messages[0].startswith(
        "CVE-2021-44228 (CVSS 10.0, critical) in log4j-core 2.14.1, fixed in 2.15.0"
    )


def test_enabled_state_and_enforcement_follow_the_reference() -> None:
    with (SHARED / "default-policies.tsv").open() as f:
        rows = {row["name"]: row for row in csv.DictReader(f, delimiter="\t")}
    for p in load_default_policies():
        row = rows[p.name]
        assert p.disabled == (row["default_state"] == "disabled")
        assert "/".join(s.value for s in p.lifecycle_stages) == row["stages"]
        assert p.severity.short == row["severity"]
        enf = ";".join(a.value for a in p.enforcement_actions) or "-"
        assert enf == row["enforcement"]
        fields = sorted({g.field_name for s in p.sections for g in s.groups})
        assert "; ".join(fields) == row["criteria_fields"]
