"""The evaluator caches an image's results by the image's identity; facts that change
without a rescan (an approved exception hides a finding, new vulnerability data changes a
score, a signature is verified) must not be answered from the old entry."""

from __future__ import annotations

import dataclasses

from stockade.model.image import Component
from stockade.policy import compile_policies

from .helpers import cve, group, image, policy

LOG4J = Component("log4j-core", "2.14.1", "java", vulnerabilities=(cve("CVE-2021-44228", 10.0),))


def test_a_finding_hidden_without_rescan_is_not_answered_from_the_cache() -> None:
    compiled = compile_policies(
        [policy([group("CVE", "CVE-2021-44228")], stages=("BUILD",), name="log4shell")]
    )
    before = image("acme/app:1", LOG4J)
    assert [v.policy.name for v in compiled.evaluate_image(before)] == ["log4shell"]
    # the same digest and scan time, loaded again with the finding excepted
    after = dataclasses.replace(
        before, components=(dataclasses.replace(LOG4J, vulnerabilities=()),)
    )
    assert after.id == before.id and after.scanned == before.scanned
    assert compiled.evaluate_image(after) == []
    assert [v.policy.name for v in compiled.evaluate_image(before)] == ["log4shell"]


def test_a_new_score_without_rescan_is_seen() -> None:
    compiled = compile_policies([policy([group("CVSS", ">= 9")], stages=("BUILD",), name="hot")])
    low = image("acme/app:1", dataclasses.replace(LOG4J, vulnerabilities=(cve("CVE-1", 5.0),)))
    assert compiled.evaluate_image(low) == []
    rescored = dataclasses.replace(
        low, components=(dataclasses.replace(LOG4J, vulnerabilities=(cve("CVE-1", 9.8),)),)
    )
    assert [v.policy.name for v in compiled.evaluate_image(rescored)] == ["hot"]


def test_identical_facts_share_the_cache_entry() -> None:
    a = image("acme/app:1", LOG4J)
    b = dataclasses.replace(a)
    assert a is not b and a.cache_key == b.cache_key
