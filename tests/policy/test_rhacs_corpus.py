"""Every exported product policy imports, exports back to the same JSON, and evaluates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stockade.policy import compile_policies, dump_policies, load_policies, policy_to_json

from .fixtures import NOW, Case

CORPUS = Path(__file__).parents[2] / ".." / "shared" / "reference" / "rhacs-default-policies"
FILES = sorted(CORPUS.glob("*.json"))


def test_corpus_present() -> None:
    assert len(FILES) == 89


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_import_export_evaluate(path: Path) -> None:
    original = json.loads(path.read_text())
    [p] = load_policies(path.read_text(), where=path.name)
    assert policy_to_json(p) == original
    engine = compile_policies([p], now=lambda: NOW, include_disabled=True)
    case = Case({})
    engine.evaluate_deployment(case.deployment, case.images)
    assert case.image is not None
    engine.evaluate_image(case.image)


def test_export_document_round_trips() -> None:
    policies = [load_policies(p.read_text())[0] for p in FILES]
    doc = dump_policies(policies)
    again = load_policies(json.dumps(doc))
    assert [policy_to_json(p) for p in again] == doc["policies"]
