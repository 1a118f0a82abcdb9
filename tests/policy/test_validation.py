"""Invalid policies are rejected with a message naming policy, section, field and value."""

from __future__ import annotations

import pytest

from stockade.policy import PolicyParseError, PolicyValidationError, compile_policies, load_policies

from .helpers import group, policy


def reject(p) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyValidationError) as info:
        compile_policies([p])
    return str(info.value)


def test_unknown_field() -> None:
    msg = reject(policy([group("Image Colour", "red")], name="Paint"))
    assert "policy 'Paint'" in msg and "section '#1'" in msg and "field 'Image Colour'" in msg
    assert "not a known policy criterion" in msg


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("CVSS", "high"),
        ("Severity", ">= SEVERE"),
        ("Privileged Container", "yes"),
        ("Image Age", "-3"),
        ("Add Capabilities", "FLY"),
        ("Image Tag", "(unclosed"),
        ("Required Label", "=nokey"),
        ("Dockerfile Line", "JUMP=x"),
        ("Port Exposure Method", "SIDEWAYS"),
    ],
)
def test_bad_value_syntax(field: str, value: str) -> None:
    msg = reject(policy([group(field, value)], name="Bad", stages=("DEPLOY",)))
    assert f"field '{field}'" in msg and f"value '{value}'" in msg


def test_field_must_fit_stage() -> None:
    assert "BUILD" in reject(policy([group("Privileged Container", "true")], stages=("BUILD",)))
    assert "DEPLOY" in reject(policy([group("Process Name", "sh")], stages=("DEPLOY",)))
    msg = reject(
        policy(
            [group("Privileged Container", "true")],
            stages=("RUNTIME",),
            eventSource="DEPLOYMENT_EVENT",
        )
    )
    assert "RUNTIME policy needs" in msg


def test_negation_and_multiple_values_where_forbidden() -> None:
    assert "cannot be negated" in reject(policy([group("CVSS", ">= 7", negate=True)]))
    assert "exactly one value" in reject(policy([group("Privileged Container", "true", "false")]))


def test_invalid_json_and_shape() -> None:
    with pytest.raises(PolicyParseError, match="not valid JSON"):
        load_policies("{nope")
    with pytest.raises(PolicyParseError, match="'name'"):
        load_policies('{"policySections": []}')
    with pytest.raises(PolicyParseError, match="lifecycle stage 'LATER'"):
        load_policies('{"name": "x", "lifecycleStages": ["LATER"]}')


def test_named_section_in_message() -> None:
    p = policy([group("Image Tag", "ok")], [group("Nope", "x")], name="Two")
    assert "section '#2'" in reject(p)
