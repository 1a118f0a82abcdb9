"""Every field of the index and vulnerability reports survives the wire (model -> message ->
bytes -> message -> model gives back an equal value)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from stockade.model.index_report import (
    Distribution,
    Ecosystem,
    ImageMetadata,
    IndexReport,
    IndexState,
    Layer,
    Package,
    PackageKind,
)
from stockade.model.vulnerability import Cvss, Epss, FixState, KnownExploited, Severity
from stockade.scanner.matcher.match import (
    Advisory,
    Finding,
    OsStatus,
    ReportStatus,
    VulnerabilityReport,
)
from stockade.scanner.matcher.store import SourceState
from stockade.scanner.v1 import indexer_pb2 as ipb
from stockade.scanner.v1 import matcher_pb2 as mpb
from stockade.scanner.wire import (
    index_report_from_proto,
    index_report_to_proto,
    source_state_from_proto,
    source_state_to_proto,
    vulnerability_report_from_proto,
    vulnerability_report_to_proto,
)

text = st.text(max_size=12)
texts = st.lists(text, max_size=3).map(tuple)

packages = st.builds(
    Package,
    name=text,
    version=text,
    kind=st.sampled_from(PackageKind),
    ecosystem=st.sampled_from(Ecosystem),
    purl=text,
    path=text,
    analyser=text,
    analyser_version=text,
    layer=text,
    source_name=text,
    source_version=text,
    arch=text,
    repository_ids=texts,
)
index_reports = st.builds(
    IndexReport,
    manifest_digest=text,
    image=text,
    state=st.sampled_from(IndexState),
    metadata=st.builds(
        ImageMetadata,
        created=text,
        user=text,
        labels=st.lists(st.tuples(text, text), max_size=3).map(tuple),
        exposed_ports=texts,
        env=texts,
        entrypoint=texts,
        cmd=texts,
        working_dir=text,
        os=text,
        architecture=text,
        history=texts,
    ),
    layers=st.lists(
        st.builds(Layer, digest=text, diff_id=text, media_type=text, size=st.integers(0, 2**40)),
        max_size=3,
    ).map(tuple),
    distributions=st.lists(
        st.builds(
            Distribution,
            did=text,
            name=text,
            version=text,
            version_id=text,
            version_codename=text,
            pretty_name=text,
            cpe=text,
            id_like=texts,
            variant=text,
        ),
        max_size=2,
    ).map(tuple),
    packages=st.lists(packages, max_size=4).map(tuple),
    red_hat_image=st.booleans(),
    errors=texts,
)

floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
advisories = st.builds(
    Advisory,
    id=text,
    aliases=texts,
    fixed_version=text,
    state=st.sampled_from(FixState),
    severity=st.sampled_from(Severity),
    vendor_severity=text,
    cvss=st.lists(
        st.builds(Cvss, version=text, vector=text, score=st.none() | floats, source=text),
        max_size=2,
    ).map(tuple),
    summary=text,
    description=text,
    links=texts,
    sources=texts,
    published=text,
    known_exploited=st.none()
    | st.builds(
        KnownExploited, date_added=text, due_date=text, ransomware=text, required_action=text
    ),
    epss=st.none() | st.builds(Epss, score=floats, percentile=floats, date=text),
)
vuln_reports = st.builds(
    VulnerabilityReport,
    manifest_digest=text,
    status=st.sampled_from(ReportStatus),
    os_status=st.sampled_from(OsStatus),
    distribution=text,
    release=text,
    findings=st.lists(
        st.builds(Finding, package=text, version=text, ecosystem=text, advisory=advisories),
        max_size=3,
    ).map(tuple),
    notes=texts,
)


@given(index_reports)
def test_index_report_round_trip(report: IndexReport) -> None:
    wire = index_report_to_proto(report).SerializeToString()
    assert index_report_from_proto(ipb.IndexReport.FromString(wire)) == report


@given(vuln_reports)
def test_vulnerability_report_round_trip(report: VulnerabilityReport) -> None:
    wire = vulnerability_report_to_proto(report).SerializeToString()
    assert vulnerability_report_from_proto(mpb.VulnerabilityReport.FromString(wire)) == report


def test_source_state_round_trip() -> None:
    when = dt.datetime(2026, 11, 28, 21, 0, 5, 123456, tzinfo=dt.UTC)
    for state in (SourceState("osv-pypi", "etag:1", when, 42), SourceState("nvd", "", None, 0)):
        wire = source_state_to_proto(state).SerializeToString()
        assert source_state_from_proto(mpb.SourceState.FromString(wire)) == state
