"""Check results and their output formats: table, JSON, CSV, JUnit XML and SARIF 2.1.0.

Shared by ``stockade deployment check`` and ``stockade image check``. Output is
deterministic (no timestamps), so reports can be compared in tests and CI.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from stockade import __version__
from stockade.policy import LifecycleStage, Policy, Violation

FORMATS = ("table", "json", "csv", "junit", "sarif")


@dataclass(frozen=True, slots=True)
class CheckedObject:
    """One deployment or image and what the policies said about it."""

    kind: str  # "deployment" / "image"
    name: str
    namespace: str
    source: str  # file it came from
    violations: tuple[Violation, ...]


@dataclass(frozen=True, slots=True)
class CheckReport:
    stage: LifecycleStage
    policies: tuple[Policy, ...]  # every policy that was evaluated
    objects: tuple[CheckedObject, ...]

    def failing(self, v: Violation) -> bool:
        return v.enforced(self.stage)

    @property
    def any_failing(self) -> bool:
        return any(self.failing(v) for o in self.objects for v in o.violations)


def _label(o: CheckedObject) -> str:
    return f"{o.namespace}/{o.name}" if o.namespace else o.name


def render(report: CheckReport, fmt: str) -> str:
    if fmt == "table":
        return _table(report)
    if fmt == "json":
        return _json(report)
    if fmt == "csv":
        return _csv(report)
    if fmt == "junit":
        return _junit(report)
    if fmt == "sarif":
        return _sarif(report)
    raise ValueError(fmt)


def _table(report: CheckReport) -> str:
    rows = [("OBJECT", "POLICY", "SEVERITY", "BREAKS", "VIOLATION")]
    for o in report.objects:
        for v in o.violations:
            for i, msg in enumerate(v.messages):
                first = i == 0
                rows.append(
                    (
                        _label(o) if first else "",
                        v.policy.name if first else "",
                        v.policy.severity.short if first else "",
                        ("yes" if report.failing(v) else "no") if first else "",
                        msg,
                    )
                )
    total = sum(len(o.violations) for o in report.objects)
    failing = sum(report.failing(v) for o in report.objects for v in o.violations)
    out = io.StringIO()
    if total:
        widths = [min(max(len(r[i]) for r in rows), 60) for i in range(4)]
        for r in rows:
            cells = [r[i].ljust(widths[i]) for i in range(4)]
            out.write("  ".join([*cells, r[4]]).rstrip() + "\n")
        out.write("\n")
    objects = len(report.objects)
    out.write(
        f"{objects} {report.objects[0].kind if objects else 'object'}(s) checked against "
        f"{len(report.policies)} {report.stage.value} policies: {total} violation(s), "
        f"{failing} of an enforced policy.\n"
    )
    return out.getvalue()


def _policy_json(p: Policy) -> dict[str, object]:
    return {
        "id": p.id,
        "name": p.name,
        "severity": p.severity.value,
        "description": p.description,
        "remediation": p.remediation,
        "enforcementActions": [a.value for a in p.enforcement_actions],
    }


def _json(report: CheckReport) -> str:
    results = []
    for o in report.objects:
        results.append(
            {
                "kind": o.kind,
                "name": o.name,
                "namespace": o.namespace,
                "source": o.source,
                "violations": [
                    {
                        "policy": _policy_json(v.policy),
                        "failing": report.failing(v),
                        "messages": list(v.messages),
                    }
                    for v in o.violations
                ],
            }
        )
    doc = {
        "stage": report.stage.value,
        "results": results,
        "summary": {
            "objects": len(report.objects),
            "policies": len(report.policies),
            "violations": sum(len(o.violations) for o in report.objects),
            "failing": sum(report.failing(v) for o in report.objects for v in o.violations),
        },
    }
    return json.dumps(doc, indent=2) + "\n"


def _csv(report: CheckReport) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["kind", "namespace", "name", "policy", "severity", "failing", "message"])
    for o in report.objects:
        for v in o.violations:
            for msg in v.messages:
                w.writerow(
                    [o.kind, o.namespace, o.name, v.policy.name, v.policy.severity.short,
                     str(report.failing(v)).lower(), msg]
                )  # fmt: skip
    return out.getvalue()


def _junit(report: CheckReport) -> str:
    suites = ET.Element("testsuites", name="stockade")
    total_tests = total_failures = 0
    for o in report.objects:
        by_policy = {v.policy.name: v for v in o.violations}
        suite = ET.SubElement(suites, "testsuite", name=f"{o.kind} {_label(o)}")
        failures = 0
        for p in report.policies:
            case = ET.SubElement(suite, "testcase", name=p.name, classname=f"{o.kind}.{_label(o)}")
            v = by_policy.get(p.name)
            if v is None:
                continue
            failing = report.failing(v)
            tag = "failure" if failing else "system-out"
            text = "\n".join(v.messages)
            if failing:
                failures += 1
                el = ET.SubElement(case, tag, message=v.messages[0] if v.messages else p.name)
                el.set("type", p.severity.short)
            else:
                el = ET.SubElement(case, tag)
                text = "violation (not enforced): " + text
            el.text = text
        suite.set("tests", str(len(report.policies)))
        suite.set("failures", str(failures))
        total_tests += len(report.policies)
        total_failures += failures
    suites.set("tests", str(total_tests))
    suites.set("failures", str(total_failures))
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


_SARIF_SEVERITY = {"LOW": "3.0", "MEDIUM": "5.5", "HIGH": "8.0", "CRITICAL": "9.5", "UNSET": "0.0"}


def _rule_id(p: Policy) -> str:
    return p.id or p.name


def _sarif(report: CheckReport) -> str:
    used: dict[str, Policy] = {}
    results: list[dict[str, object]] = []
    for o in report.objects:
        for v in o.violations:
            used[_rule_id(v.policy)] = v.policy
            for msg in v.messages:
                results.append(
                    {
                        "ruleId": _rule_id(v.policy),
                        "level": "error" if report.failing(v) else "warning",
                        "message": {"text": f"{_label(o)}: {msg}"},
                        "locations": [
                            {
                                "physicalLocation": {"artifactLocation": {"uri": o.source}},
                                "logicalLocations": [
                                    {
                                        "name": o.name,
                                        "fullyQualifiedName": _label(o),
                                        "kind": o.kind,
                                    }
                                ],
                            }
                        ],
                    }
                )
    rules = [
        {
            "id": rid,
            "name": p.name,
            "shortDescription": {"text": p.name},
            "fullDescription": {"text": p.description or p.name},
            "help": {"text": p.remediation or p.description or p.name},
            "properties": {
                "security-severity": _SARIF_SEVERITY[p.severity.short],
                "tags": list(p.categories),
            },
        }
        for rid, p in sorted(used.items())
    ]
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "stockade",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def policies_tuple(policies: Sequence[Policy]) -> tuple[Policy, ...]:
    return tuple(sorted(policies, key=lambda p: p.name))
