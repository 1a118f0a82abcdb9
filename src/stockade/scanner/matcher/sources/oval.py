"""OVAL definitions (Red Hat, Oracle, SUSE, Photon, Ubuntu), parsed in one streaming pass.

A definition's ``criteria`` tree points at tests; a package test (``rpminfo_test`` or
``dpkginfo_test``) joins an object (the package name, directly or through a
``constant_variable``) with a state (``evr`` or ``version`` with operation ``less than``).
Each criterion whose test resolves to "package is earlier than V" becomes one record with
``fixed = V``; a package test with no state at all ("package is installed", Ubuntu's form for
an unfixed issue) becomes an affected record with no fix; criteria that check the platform or
a signing key are skipped. The comments of the criteria a package criterion is ANDed with
("Oracle Linux 8 is installed") are passed to ``release_of``, so one definition covering
several releases yields the right release per package.

Definitions come before tests in the file, so definitions are kept in a compact form and
resolved once the stream ends; every element is cleared after use, so memory grows with the
number of definitions, not with the file's size.
"""

from __future__ import annotations

import bz2
import gzip
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from lxml import etree

from stockade.model.vulnerability import AffectedRange, FixState, Vulnerability, best_severity
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
    public_date: str = ""
    #: each criterion's test with the comments of the criteria it is ANDed with (the
    #: platform checks that say which release a package criterion belongs to)
    tests: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


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
    release_of: Callable[[OvalDefinition, tuple[str, ...]], str | None],
    advisory_id: Callable[[OvalDefinition], str] | None = None,
) -> Iterator[Vulnerability]:
    """Records of one OVAL file (see module docstring)."""
    definitions: list[OvalDefinition] = []
    tests: dict[str, _Test] = {}
    objects: dict[str, list[str]] = {}
    object_vars: dict[str, str] = {}
    states: dict[str, tuple[str, str]] = {}  # id -> (operation, value)
    variables: dict[str, list[str]] = {}
    try:
        with open_maybe_compressed(file) as fh:
            for _event, elem in etree.iterparse(
                fh, events=("end",), resolve_entities=False, no_network=True, huge_tree=True
            ):
                tag = _local(elem.tag)
                if not (
                    tag in ("definition", "constant_variable")
                    or tag.endswith(("_test", "_object", "_state"))
                ):
                    continue
                eid = elem.get("id", "")
                if tag == "definition":
                    if elem.get("class") in ("patch", "vulnerability", None):
                        definitions.append(_definition(elem))
                elif tag.endswith("_test"):
                    obj = next(
                        (c.get("object_ref", "") for c in elem if _local(c.tag) == "object"), ""
                    )
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
                parent = elem.getparent()
                while parent is not None and elem.getprevious() is not None:
                    del parent[0]  # drop handled siblings so the tree never grows
    except etree.XMLSyntaxError as exc:
        raise ParseError(source, name, "", f"invalid XML at line {exc.lineno} ({exc.msg})") from exc
    except (OSError, EOFError) as exc:
        raise ParseError(source, name, "", f"unreadable ({exc})") from exc
    for oid, var in object_vars.items():
        objects[oid] = variables.get(var, [])
    for d in definitions:
        vid = advisory_id(d) if advisory_id else d.id
        cves = list(dict.fromkeys(d.cves))
        if not vid:
            continue
        seen: set[tuple[str, str, str]] = set()
        for test_ref, context in d.tests:
            test = tests.get(test_ref)
            if test is None:
                if test_ref.split(":")[-2:-1] == ["tst"]:
                    raise ParseError(
                        source, name, d.id, f"criterion points at unknown test {test_ref}"
                    )
                continue
            fixed, state = "", FixState.FIXED
            for sref in test.state_refs:
                op, value = states.get(sref, ("", ""))
                if op == "less than" and value:
                    fixed = value
            if not fixed:
                if test.state_refs or test.object_ref not in objects:
                    continue  # a platform, signing-key or installed-release check
                state = FixState.NOT_FIXED  # "package is installed": affected, no fix yet
            release = release_of(d, context)
            if release is None:
                continue  # a product this source does not cover
            for pkg in objects.get(test.object_ref, []):
                if (pkg, fixed, release) in seen:
                    continue
                seen.add((pkg, fixed, release))
                yield Vulnerability(
                    source=source,
                    id=vid,
                    aliases=tuple(c for c in cves if c != vid),
                    package=pkg,
                    distribution=distribution,
                    release=release,
                    version_scheme=version_scheme,
                    ranges=(AffectedRange(fixed=fixed),),
                    state=state,
                    summary=d.title,
                    description=d.description,
                    vendor_severity=d.severity,
                    severity=best_severity(d.severity),
                    links=tuple(dict.fromkeys(url for _s, _i, url in d.refs if url)),
                    published=d.issued or d.public_date,
                    modified=d.updated,
                )


def open_maybe_compressed(file: Path) -> BinaryIO:
    """Open a plain, ``.bz2`` or ``.gz`` file for binary reading."""
    if file.suffix == ".bz2":
        return cast(BinaryIO, bz2.open(file))
    if file.suffix == ".gz":
        return cast(BinaryIO, gzip.open(file))
    return file.open("rb")


def fixed_release(release: str) -> Callable[[OvalDefinition, tuple[str, ...]], str | None]:
    """A ``release_of`` for feeds with one release per file."""

    def release_of(_d: OvalDefinition, _context: tuple[str, ...]) -> str | None:
        return release

    return release_of


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
        elif tag == "public_date":
            d.public_date = (node.text or "").strip()
    top = next((c for c in elem if _local(c.tag) == "criteria"), None)
    if top is not None:
        _walk_criteria(top, (), d.tests)
    return d


def _walk_criteria(
    node: etree._Element, context: tuple[str, ...], out: list[tuple[str, tuple[str, ...]]]
) -> None:
    """Collect (test_ref, context) pairs; under AND, sibling criteria are each other's context."""
    children = list(node)
    if node.get("operator", "AND").upper() == "AND":
        context = context + tuple(
            c.get("comment", "") for c in children if _local(c.tag) == "criterion"
        )
    for child in children:
        tag = _local(child.tag)
        if tag == "criterion":
            out.append((child.get("test_ref", ""), context))
        elif tag == "criteria":
            _walk_criteria(child, context, out)
