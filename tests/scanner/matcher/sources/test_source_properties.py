"""Property tests (hypothesis) for the parts of the parsers that transform data rather than
copy it: OSV events turned into intervals, the DSA/DLA list format, and the record's JSON form.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from stockade.model.vulnerability import (
    AffectedRange,
    Cvss,
    FixState,
    Severity,
    Vulnerability,
)
from stockade.scanner.matcher.match import _affected
from stockade.scanner.matcher.sources import make_updater
from stockade.scanner.matcher.sources.osv import _intervals
from stockade.scanner.matcher.versions import SCHEMES, OsvEvent, osv_affected

PEP440 = SCHEMES["pep440"]
versions = st.builds(lambda a, b: f"{a}.{b}", st.integers(0, 6), st.integers(0, 6))


@st.composite
def osv_events(draw: st.DrawFn) -> list[dict[str, str]]:
    """Well-formed OSV event lists: ascending, alternating introduced / fixed|last_affected."""
    points = sorted(set(draw(st.lists(versions, min_size=1, max_size=6))), key=PEP440.key)
    events: list[dict[str, str]] = []
    opening = True
    for i, v in enumerate(points):
        if opening:
            events.append({"introduced": "0" if i == 0 and draw(st.booleans()) else v})
        else:
            events.append({draw(st.sampled_from(["fixed", "last_affected"])): v})
        opening = not opening
    return events


@settings(max_examples=200, deadline=None)
@given(events=osv_events(), version=versions)
def test_osv_intervals_agree_with_osv_evaluation(
    events: list[dict[str, str]], version: str
) -> None:
    ranges = tuple(_intervals(list(events)))
    rec = Vulnerability(
        source="t", id="X", package="p", ecosystem="PyPI", version_scheme="pep440", ranges=ranges
    )
    reference = osv_affected(
        PEP440,
        version,
        [OsvEvent(k, v) for e in events for k, v in e.items()],  # type: ignore[arg-type]
    )
    assert _affected(rec, version, PEP440) == reference


releases = st.sampled_from(["bullseye", "buster", "bookworm"])
packages = st.from_regex(r"[a-z][a-z0-9+.-]{1,12}", fullmatch=True)
dpkg_versions = st.from_regex(
    r"([1-9]:)?[0-9]{1,2}\.[0-9]{1,2}(-[0-9]{1,2}(\+deb1[0-2]u[0-9])?)?", fullmatch=True
)
cves = st.lists(
    st.from_regex(r"CVE-20[0-2][0-9]-[1-9][0-9]{3,5}", fullmatch=True), max_size=4, unique=True
)
advisories = st.lists(
    st.tuples(
        st.integers(1000, 9999),
        packages,
        cves,
        st.lists(st.tuples(releases, packages, dpkg_versions), min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda a: a[0],
)


@settings(max_examples=50, deadline=None)
@given(advisories=advisories)
def test_dsa_list_round_trip(tmp_path_factory: object, advisories: list) -> None:  # type: ignore[type-arg]
    lines = []
    want = set()
    for number, pkg, ids, fixes in advisories:
        adv = f"DSA-{number}-1"
        lines.append(f"[01 Apr 2023] {adv} {pkg} - security update")
        if ids:
            lines.append("\t{" + " ".join(ids) + "}")
        for release, fpkg, version in fixes:
            lines.append(f"\t[{release}] - {fpkg} {version}")
            want.add((adv, tuple(ids), release, fpkg, version))
    root = Path(tmp_path_factory.mktemp("dsa"))  # type: ignore[attr-defined]
    (root / "DSA").mkdir()
    (root / "DSA" / "list").write_text("\n".join(lines) + "\n")
    got = {
        (r.id, r.aliases, r.release, r.package, r.fixed_version)
        for r in make_updater("debian-advisories").parse(root)
    }
    assert got == want


records = st.builds(
    Vulnerability,
    source=st.sampled_from(["osv-pypi", "alpine"]),
    id=st.from_regex(r"[A-Z]{3,5}-[0-9]{4}-[0-9]{1,5}", fullmatch=True),
    aliases=st.lists(st.text(min_size=1, max_size=12), max_size=3).map(tuple),
    package=st.text(max_size=20),
    ranges=st.lists(
        st.builds(AffectedRange, introduced=st.text(max_size=8), fixed=st.text(max_size=8)),
        max_size=3,
    ).map(tuple),
    state=st.sampled_from(list(FixState)),
    severity=st.sampled_from(list(Severity)),
    cvss=st.lists(
        st.builds(
            Cvss,
            version=st.sampled_from(["3.1", "4.0"]),
            vector=st.text(),
            score=st.one_of(st.none(), st.floats(0, 10)),
        ),
        max_size=2,
    ).map(tuple),
    description=st.text(),
)


@settings(max_examples=200, deadline=None)
@given(rec=records)
def test_record_json_round_trip(rec: Vulnerability) -> None:
    assert Vulnerability.from_dict(rec.to_dict()) == rec
