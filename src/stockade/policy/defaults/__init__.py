"""Stockade's default policy set: one JSON file per policy in this package."""

from __future__ import annotations

from importlib import resources

from stockade.policy.model import Policy, load_policies


def load_default_policies() -> list[Policy]:
    """Every default policy (enabled and disabled), sorted by name."""
    out: list[Policy] = []
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            out.extend(load_policies(entry.read_text(encoding="utf-8"), where=entry.name))
    return sorted(out, key=lambda p: p.name)
