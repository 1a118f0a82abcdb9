"""Errors of the policy engine.

StockadeError
└── PolicyError                 anything about policies (exit code 3: could not evaluate)
    ├── PolicyParseError        not JSON, or not the shape of a policy (exit code 2)
    └── PolicyValidationError   a policy names an unknown field, a bad value or a field
                                that does not fit its stage; names policy/section/field/value
"""

from __future__ import annotations

from stockade.core.errors import StockadeError


class PolicyError(StockadeError):
    """A policy could not be read or evaluated."""

    exit_code = 3


class PolicyParseError(PolicyError):
    """Policy input is not valid JSON or not shaped like a policy."""

    exit_code = 2


class PolicyValidationError(PolicyError):
    """A policy is well-formed JSON but its criteria are invalid."""

    exit_code = 2

    def __init__(
        self,
        reason: str,
        *,
        policy: str = "",
        section: str = "",
        field: str = "",
        value: str = "",
    ) -> None:
        where = [f"policy {policy!r}"] if policy else []
        if section:
            where.append(f"section {section!r}")
        if field:
            where.append(f"field {field!r}")
        if value:
            where.append(f"value {value!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {reason}" if prefix else reason)
        self.reason = reason
        self.policy = policy
        self.section = section
        self.field = field
        self.value = value
