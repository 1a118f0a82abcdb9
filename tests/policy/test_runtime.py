"""Runtime criteria against process, file, network-flow, Kubernetes and audit events."""

from __future__ import annotations

import json
from pathlib import Path

from stockade.model.runtime import (
    AuditEvent,
    FileAccess,
    KubernetesEvent,
    NetworkFlow,
    ProcessIndicator,
)
from stockade.policy import compile_policies, load_default_policies

from .helpers import container, deployment, group, policy

RUNTIME = {"stages": ("RUNTIME",), "eventSource": "DEPLOYMENT_EVENT"}


def test_process_fields_link_to_the_container_that_ran_it() -> None:
    p = policy(
        [group("Privileged Container", "true"), group("Process Name", "iptables")], **RUNTIME
    )
    engine = compile_policies([p])
    dep = deployment(container("app"), container("net", privileged=True))
    in_app = ProcessIndicator(container_name="app", name="iptables")
    in_net = ProcessIndicator(
        container_name="net", name="iptables", exec_file_path="/sbin/iptables", args="-L"
    )
    assert engine.evaluate_process(dep, in_app) == []
    [v] = engine.evaluate_process(dep, in_net)
    assert v.messages == (
        "Container 'net' is privileged; Container 'net' ran process 'iptables' (/sbin/iptables -L, uid 0)",
    )


def test_process_arguments_match_anywhere_and_ancestors() -> None:
    args = policy([group("Process Arguments", "KUBERNETES_SERVICE_HOST")], **RUNTIME)
    anc = policy([group("Process Ancestor", ".*java")], **RUNTIME)
    dep = deployment(container("app"))
    proc = ProcessIndicator(
        "app", "curl", args="-k https://$KUBERNETES_SERVICE_HOST/api", ancestors=("/usr/bin/java",)
    )
    assert compile_policies([args]).evaluate_process(dep, proc)
    assert compile_policies([anc]).evaluate_process(dep, proc)
    assert not compile_policies([anc]).evaluate_process(
        dep, ProcessIndicator("app", "curl", ancestors=("/bin/sh",))
    )


def test_file_access() -> None:
    p = policy([group("File Path", "/etc/shadow"), group("File Operation", "OPEN")], **RUNTIME)
    engine = compile_policies([p])
    dep = deployment(container("app"))
    assert engine.evaluate_file_access(dep, FileAccess("app", "/etc/shadow", "OPEN"))
    assert not engine.evaluate_file_access(dep, FileAccess("app", "/etc/shadow", "UNLINK"))
    assert not engine.evaluate_file_access(dep, FileAccess("app", "/etc/passwd", "OPEN"))


def test_kubernetes_event_user_and_groups() -> None:
    p = policy(
        [
            group("Kubernetes Resource", "PODS_EXEC"),
            group("Kubernetes User Groups", "system:masters", negate=True),
        ],
        **RUNTIME,
    )
    engine = compile_policies([p])
    dep = deployment()
    assert engine.evaluate_kubernetes_event(
        dep, KubernetesEvent("PODS_EXEC", user="dev", groups=("devs",))
    )
    assert not engine.evaluate_kubernetes_event(
        dep, KubernetesEvent("PODS_EXEC", user="root", groups=("system:masters",))
    )


def test_network_flow_and_audit_event() -> None:
    flow = policy([group("Unexpected Network Flow Detected", "true")], **RUNTIME)
    assert compile_policies([flow]).evaluate_network_flow(
        deployment(), NetworkFlow("a", "b", in_baseline=False)
    )
    audit = policy(
        [
            group("Kubernetes Resource", "CONFIGMAPS"),
            group("Kubernetes API Verb", "DELETE"),
            group("Source IP Address", "10.0.0.7"),
        ],
        stages=("RUNTIME",),
        eventSource="AUDIT_LOG_EVENT",
    )
    engine = compile_policies([audit])
    assert engine.evaluate_audit_event(AuditEvent("CONFIGMAPS", "DELETE", source_ips=("10.0.0.7",)))
    assert not engine.evaluate_audit_event(
        AuditEvent("CONFIGMAPS", "GET", source_ips=("10.0.0.7",))
    )


def test_default_policies_use_their_own_words() -> None:
    ref = Path(__file__).parents[2] / ".." / "shared" / "reference" / "rhacs-default-policies"
    theirs = {}
    for f in ref.glob("*.json"):
        data = json.loads(f.read_text())
        theirs[data["name"]] = data
    for p in load_default_policies():
        other = theirs[p.name]
        for key, ours in (
            ("description", p.description),
            ("rationale", p.rationale),
            ("remediation", p.remediation),
        ):
            assert ours and ours != other.get(key), (p.name, key)
