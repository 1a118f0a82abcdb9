"""OVAL definitions (Red Hat, Oracle, SUSE, Photon, Ubuntu), parsed in one streaming pass.

A definition's ``criteria`` tree points at tests; a package test (``rpminfo_test`` or
``dpkginfo_test``) joins an object (the package name, directly or through a
``constant_variable``) with a state (``evr`` or ``version`` with operation ``less than``).
Each criterion whose test resolves to "package is earlier than V" becomes one record with
``fixed = V``; criteria that check the platform or a signing key carry no version and are
skipped. Definitions come before tests in the file, so definitions are kept in a compact form
and resolved once the stream ends; every element is cleared after use, so memory grows with
the number of definitions, not with the file's size.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from stockade.model.vulnerability import AffectedRange, Vulnerability, best_severity
from stockade.scanner.matcher.sources.errors import ParseError

_CVE = re.compile(r"CVE-\d{4}-\d+")


@dataclass(slots=True)
class OvalDefinition:
    id: str
    title: str = ""
    description: str = ""
    severity: str = ""
    issued: str = ""
    updated: str = ""
    platforms: list[str] = field(default_factory=list)
    refs: list[tuple[str, str, str]] = field(default_factory=list)  # (source, id, url)
    cves: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Test:
    object_ref: str
    state_refs: list[str]


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def parse_oval(
    source: str,
    file: Path,
    name: str,
    *,
    distribution: str,
    version_scheme: str,
    release_of: Callable[[OvalDefinition], str],
    advisory_id: Callable[[OvalDefinition], str] | None = None,
) -> Iterator[Vulnerability]:
    """Records of one OVAL file (see module docstring)."""
    definitions: list[OvalDefinition] = []
    tests: dict[str, _Test] = {}
    objects: dict[str, list[str]] = {}
    object_vars: dict[str, str] = {}
    states: dict[str, tuple[str, str]] = {}  # id -> (operation, value)
    variables: dict[str, list[str]] = {}
    wanted = {
        "definition",
        "rpminfo_test",
        "dpkginfo_test",
        "rpminfo_object",
        "dpkginfo_object",
        "rpminfo_state",
        "dpkginfo_state",
        "constant_variable",
    }
    try:
        for _event, elem in etree.iterparse(
            str(file), events=("end",), resolve_entities=False, no_network=True, huge_tree=True
        ):
            tag = _local(elem.tag)
            if tag not in wanted:
                continue
            eid = elem.get("id", "")
            if tag == "definition":
                if elem.get("class") in ("patch", "vulnerability", None):
                    definitions.append(_definition(elem))
            elif tag.endswith("_test"):
                obj = next((c.get("object_ref", "") for c in elem if _local(c.tag) == "object"), "")
                sts = [c.get("state_ref", "") for c in elem if _local(c.tag) == "state"]
                tests[eid] = _Test(obj, sts)
            elif tag.endswith("_object"):
                for child in elem:
                    if _local(child.tag) == "name":
                        if child.get("var_ref"):
                            object_vars[eid] = child.get("var_ref", "")
                        elif child.text:
                            objects[eid] = [child.text.strip()]
            elif tag.endswith("_state"):
                for child in elem:
                    if _local(child.tag) in ("evr", "version") and child.text:
                        states[eid] = (child.get("operation", "equals"), child.text.strip())
            elif tag == "constant_variable":
                variables[eid] = [
                    (c.text or "").strip() for c in elem if _local(c.tag) == "value" and c.text
                ]
            elem.clear(keep_tail=False)
    except etree.XMLSyntaxError as exc:
        raise ParseError(source, name, "", f"invalid XML at line {exc.lineno} ({exc.msg})") from exc
    except OSError as exc:
        raise ParseError(source, name, "", f"unreadable ({exc})") from exc
    for oid, var in object_vars.items():
        objects[oid] = variables.get(var, [])
    for d in definitions:
        release = release_of(d)
        vid = advisory_id(d) if advisory_id else d.id
        cves = list(dict.fromkeys(d.cves))
        if not vid:
            continue
        seen: set[tuple[str, str]] = set()
        for test_ref in d.tests:
            test = tests.get(test_ref)
            if test is None:
                raise ParseError(source, name, d.id, f"criterion points at unknown test {test_ref}")
            fixed = ""
            for sref in test.state_refs:
                op, value = states.get(sref, ("", ""))
                if op == "less than" and value:
                    fixed = value
            if not fixed:
                continue
            for pkg in objects.get(test.object_ref, []):
                if (pkg, fixed) in seen:
                    continue
                seen.add((pkg, fixed))
                yield Vulnerability(
                    source=source,
                    id=vid,
                    aliases=tuple(c for c in cves if c != vid),
                    package=pkg,
                    distribution=distribution,
                    release=release,
                    version_scheme=version_scheme,
                    ranges=(AffectedRange(fixed=fixed),),
                    summary=d.title,
                    description=d.description,
                    vendor_severity=d.severity,
                    severity=best_severity(d.severity),
                    links=tuple(dict.fromkeys(url for _s, _i, url in d.refs if url)),
                    published=d.issued,
                    modified=d.updated,
                )


def _definition(elem: etree._Element) -> OvalDefinition:
    d = OvalDefinition(id=elem.get("id", ""))
    for node in elem.iter():
        tag = _local(node.tag)
        if tag == "title":
            d.title = (node.text or "").strip()
        elif tag == "description":
            d.description = (node.text or "").strip()
        elif tag == "severity":
            d.severity = (node.text or "").strip()
        elif tag == "platform":
            d.platforms.append((node.text or "").strip())
        elif tag == "reference":
            d.refs.append((node.get("source", ""), node.get("ref_id", ""), node.get("ref_url", "")))
            d.cves.extend(_CVE.findall(node.get("ref_id", "")))
        elif tag == "cve":
            text = (node.text or "").strip() or node.get("href", "")
            d.cves.extend(_CVE.findall(text))
        elif tag == "issued":
            d.issued = node.get("date", "")
        elif tag == "updated":
            d.updated = node.get("date", "")
        elif tag == "criterion":
            d.tests.append(node.get("test_ref", ""))
    return d
