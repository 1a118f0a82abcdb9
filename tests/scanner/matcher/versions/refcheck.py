"""Shared assertions: compare every ordered pair of a generated list with a reference."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from .conftest import Reference


# Reference answers come from another process: no per-example deadline, and session
# fixtures are fine to share across examples.
# STOCKADE_FUZZ_SCALE=10 runs ten times as many examples (for a longer hunt by hand).
_SCALE = float(os.environ.get("STOCKADE_FUZZ_SCALE", "1"))
# CI replays the same examples every run (a submission must not fail by chance); local runs
# draw new ones each time and keep finding new corners.
_DERANDOMIZE = bool(os.environ.get("CI"))


def reference_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max(1, int(max_examples * _SCALE)),
        derandomize=_DERANDOMIZE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def sign(value: int) -> int:
    return (value > 0) - (value < 0)


def assert_pairs_agree(
    versions: Sequence[str],
    ours: Callable[[str, str], int],
    reference: Callable[[list[tuple[str, str]]], list[str]],
) -> None:
    """Every ordered pair (a, b) of ``versions``: our sign equals the reference's sign."""
    pairs = [(a, b) for a in versions for b in versions]
    answers = reference(pairs)
    mismatches = [
        (a, b, sign(ours(a, b)), answer)
        for (a, b), answer in zip(pairs, answers, strict=True)
        if str(sign(ours(a, b))) != str(sign(int(answer)))
    ]
    assert not mismatches, f"disagreements (a, b, ours, reference): {mismatches[:10]}"


def assert_answers_agree(
    reference: Reference,
    cases: Sequence[tuple[str, ...]],
    command: str,
    ours: Callable[..., str],
) -> None:
    """Ask ``command<TAB>case...`` for every case; our answer must equal the reference's."""
    answers = reference.ask(["\t".join((command, *case)) for case in cases])
    wrong = [
        (*case, ours(*case), answer)
        for case, answer in zip(cases, answers, strict=True)
        if ours(*case) != answer
    ]
    assert not wrong, f"disagreements (case..., ours, reference): {wrong[:10]}"


def flag(value: bool) -> str:
    return "1" if value else "0"
