"""Stockade's policy engine: the product's policy JSON, all criteria, a compiled evaluator.

policies = load_policies(text)                 # one policy, {"policies": [...]}, or a list
compiled = compile_policies(policies)          # validates; PolicyValidationError names the spot
compiled.evaluate_deployment(dep, images)      # -> list[Violation]
compiled.evaluate_image(image)
compiled.evaluate_process(dep, process)        # also _kubernetes_event, _network_flow, ...
dump_policies(policies)                        # {"policies": [...]}
load_default_policies()                        # Stockade's default set (package data)
"""

from __future__ import annotations

from stockade.policy.defaults import load_default_policies
from stockade.policy.errors import PolicyError, PolicyParseError, PolicyValidationError
from stockade.policy.evaluator import CompiledPolicySet, compile_policies
from stockade.policy.model import (
    EnforcementAction,
    EventSource,
    LifecycleStage,
    Policy,
    PolicyGroup,
    PolicySection,
    PolicySeverity,
    dump_policies,
    dumps_policies,
    load_policies,
    policy_from_json,
    policy_to_json,
)
from stockade.policy.validate import validate_policy
from stockade.policy.violations import Violation

compile = compile_policies

__all__ = [
    "CompiledPolicySet",
    "EnforcementAction",
    "EventSource",
    "LifecycleStage",
    "Policy",
    "PolicyError",
    "PolicyGroup",
    "PolicyParseError",
    "PolicySection",
    "PolicySeverity",
    "PolicyValidationError",
    "Violation",
    "compile",
    "compile_policies",
    "dump_policies",
    "dumps_policies",
    "load_default_policies",
    "load_policies",
    "policy_from_json",
    "policy_to_json",
    "validate_policy",
]
