"""Index and vulnerability reports to and from their gRPC messages (proto/stockade/scanner/v1).

The messages mirror the model field by field. Readers are lenient where the contract lets a
newer peer say more: an enum value this build does not know reads as the enum's unknown or
default meaning, and a package of an ecosystem this build does not know is left out (and
logged) rather than failing the whole report.
"""

from __future__ import annotations

import datetime as dt
import logging

from google.protobuf.timestamp_pb2 import Timestamp

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

logger = logging.getLogger(__name__)

# -- index report ---------------------------------------------------------------------------


def index_report_to_proto(report: IndexReport) -> ipb.IndexReport:
    m = report.metadata
    return ipb.IndexReport(
        manifest_digest=report.manifest_digest,
        image=report.image,
        state=report.state.value,
        metadata=ipb.ImageMetadata(
            created=m.created,
            user=m.user,
            labels=[ipb.Label(key=k, value=v) for k, v in m.labels],
            exposed_ports=list(m.exposed_ports),
            env=list(m.env),
            entrypoint=list(m.entrypoint),
            cmd=list(m.cmd),
            working_dir=m.working_dir,
            os=m.os,
            architecture=m.architecture,
            history=list(m.history),
        ),
        layers=[
            ipb.Layer(digest=x.digest, diff_id=x.diff_id, media_type=x.media_type, size=x.size)
            for x in report.layers
        ],
        distributions=[
            ipb.Distribution(
                did=d.did,
                name=d.name,
                version=d.version,
                version_id=d.version_id,
                version_codename=d.version_codename,
                pretty_name=d.pretty_name,
                cpe=d.cpe,
                id_like=list(d.id_like),
                variant=d.variant,
            )
            for d in report.distributions
        ],
        packages=[
            ipb.Package(
                name=p.name,
                version=p.version,
                kind=p.kind.value,
                ecosystem=p.ecosystem.value,
                purl=p.purl,
                path=p.path,
                analyser=p.analyser,
                analyser_version=p.analyser_version,
                layer=p.layer,
                source_name=p.source_name,
                source_version=p.source_version,
                arch=p.arch,
                repository_ids=list(p.repository_ids),
            )
            for p in report.packages
        ],
        red_hat_image=report.red_hat_image,
        errors=list(report.errors),
    )


def _package(p: ipb.Package) -> Package | None:
    try:
        ecosystem = Ecosystem(p.ecosystem)
        kind = PackageKind(p.kind)
    except ValueError:
        logger.warning("skipping package %s: unknown kind or ecosystem", p.name[:100])
        return None
    return Package(
        name=p.name,
        version=p.version,
        kind=kind,
        ecosystem=ecosystem,
        purl=p.purl,
        path=p.path,
        analyser=p.analyser,
        analyser_version=p.analyser_version,
        layer=p.layer,
        source_name=p.source_name,
        source_version=p.source_version,
        arch=p.arch,
        repository_ids=tuple(p.repository_ids),
    )


def index_report_from_proto(msg: ipb.IndexReport) -> IndexReport:
    m = msg.metadata
    try:
        state = IndexState(msg.state) if msg.state else IndexState.INDEXED
    except ValueError:
        state = IndexState.ERROR
    packages = [p for p in (_package(x) for x in msg.packages) if p is not None]
    return IndexReport(
        manifest_digest=msg.manifest_digest,
        image=msg.image,
        state=state,
        metadata=ImageMetadata(
            created=m.created,
            user=m.user,
            labels=tuple((x.key, x.value) for x in m.labels),
            exposed_ports=tuple(m.exposed_ports),
            env=tuple(m.env),
            entrypoint=tuple(m.entrypoint),
            cmd=tuple(m.cmd),
            working_dir=m.working_dir,
            os=m.os,
            architecture=m.architecture,
            history=tuple(m.history),
        ),
        layers=tuple(
            Layer(digest=x.digest, diff_id=x.diff_id, media_type=x.media_type, size=x.size)
            for x in msg.layers
        ),
        distributions=tuple(
            Distribution(
                did=d.did,
                name=d.name,
                version=d.version,
                version_id=d.version_id,
                version_codename=d.version_codename,
                pretty_name=d.pretty_name,
                cpe=d.cpe,
                id_like=tuple(d.id_like),
                variant=d.variant,
            )
            for d in msg.distributions
        ),
        packages=tuple(packages),
        red_hat_image=msg.red_hat_image,
        errors=tuple(msg.errors),
    )


# -- vulnerability report -------------------------------------------------------------------

_REPORT_STATUS = {
    ReportStatus.OK: mpb.REPORT_STATUS_OK,
    ReportStatus.NO_VULNERABILITY_DATA: mpb.REPORT_STATUS_NO_VULNERABILITY_DATA,
}
_OS_STATUS = {
    OsStatus.OK: mpb.OS_STATUS_OK,
    OsStatus.NO_DISTRIBUTION: mpb.OS_STATUS_NO_DISTRIBUTION,
    OsStatus.UNSUPPORTED_DISTRIBUTION: mpb.OS_STATUS_UNSUPPORTED_DISTRIBUTION,
    OsStatus.NO_DATA_FOR_RELEASE: mpb.OS_STATUS_NO_DATA_FOR_RELEASE,
}
_FIX_STATE = {
    FixState.FIXED: mpb.FIX_STATE_FIXED,
    FixState.NOT_FIXED: mpb.FIX_STATE_NOT_FIXED,
    FixState.WONT_FIX: mpb.FIX_STATE_WONT_FIX,
}
_SEVERITY = {
    Severity.UNKNOWN: mpb.SEVERITY_UNKNOWN,
    Severity.LOW: mpb.SEVERITY_LOW,
    Severity.MODERATE: mpb.SEVERITY_MODERATE,
    Severity.IMPORTANT: mpb.SEVERITY_IMPORTANT,
    Severity.CRITICAL: mpb.SEVERITY_CRITICAL,
}
_REPORT_STATUS_BACK = {v: k for k, v in _REPORT_STATUS.items()}
_OS_STATUS_BACK = {v: k for k, v in _OS_STATUS.items()}
_FIX_STATE_BACK = {v: k for k, v in _FIX_STATE.items()}
_SEVERITY_BACK = {v: k for k, v in _SEVERITY.items()}


def _advisory_to_proto(a: Advisory) -> mpb.Advisory:
    msg = mpb.Advisory(
        id=a.id,
        aliases=list(a.aliases),
        fixed_version=a.fixed_version,
        state=_FIX_STATE[a.state],
        severity=_SEVERITY[a.severity],
        vendor_severity=a.vendor_severity,
        cvss=[
            mpb.Cvss(version=c.version, vector=c.vector, score=c.score, source=c.source)
            for c in a.cvss
        ],
        summary=a.summary,
        description=a.description,
        links=list(a.links),
        sources=list(a.sources),
        published=a.published,
    )
    if a.known_exploited is not None:
        k = a.known_exploited
        msg.known_exploited.CopyFrom(
            mpb.KnownExploited(
                date_added=k.date_added,
                due_date=k.due_date,
                ransomware=k.ransomware,
                required_action=k.required_action,
            )
        )
    if a.epss is not None:
        msg.epss.CopyFrom(
            mpb.Epss(score=a.epss.score, percentile=a.epss.percentile, date=a.epss.date)
        )
    return msg


def vulnerability_report_to_proto(report: VulnerabilityReport) -> mpb.VulnerabilityReport:
    msg = mpb.VulnerabilityReport(
        manifest_digest=report.manifest_digest,
        status=_REPORT_STATUS[report.status],
        os_status=_OS_STATUS[report.os_status],
        distribution=report.distribution,
        release=report.release,
        notes=list(report.notes),
    )
    # Findings are filled in place (a nested message given to a constructor is copied), and
    # each distinct advisory is built once: packages of one source package share theirs.
    encoded: dict[Advisory, bytes] = {}
    for f in report.findings:
        blob = encoded.get(f.advisory)
        if blob is None:
            blob = encoded[f.advisory] = _advisory_to_proto(f.advisory).SerializeToString()
        out = msg.findings.add()
        out.package = f.package
        out.version = f.version
        out.ecosystem = f.ecosystem
        out.advisory.MergeFromString(blob)
    return msg


def _advisory_from_proto(msg: mpb.Advisory) -> Advisory:
    known = None
    if msg.HasField("known_exploited"):
        k = msg.known_exploited
        known = KnownExploited(
            date_added=k.date_added,
            due_date=k.due_date,
            ransomware=k.ransomware,
            required_action=k.required_action,
        )
    epss = None
    if msg.HasField("epss"):
        epss = Epss(score=msg.epss.score, percentile=msg.epss.percentile, date=msg.epss.date)
    return Advisory(
        id=msg.id,
        aliases=tuple(msg.aliases),
        fixed_version=msg.fixed_version,
        state=_FIX_STATE_BACK.get(
            msg.state, FixState.FIXED if msg.fixed_version else FixState.NOT_FIXED
        ),
        severity=_SEVERITY_BACK.get(msg.severity, Severity.UNKNOWN),
        vendor_severity=msg.vendor_severity,
        cvss=tuple(
            Cvss(
                version=c.version,
                vector=c.vector,
                score=c.score if c.HasField("score") else None,
                source=c.source,
            )
            for c in msg.cvss
        ),
        summary=msg.summary,
        description=msg.description,
        links=tuple(msg.links),
        sources=tuple(msg.sources),
        published=msg.published,
        known_exploited=known,
        epss=epss,
    )


def vulnerability_report_from_proto(msg: mpb.VulnerabilityReport) -> VulnerabilityReport:
    # an unknown (newer) status must never read as "ok": only OK is OK
    status = _REPORT_STATUS_BACK.get(msg.status, ReportStatus.NO_VULNERABILITY_DATA)
    decoded: dict[bytes, Advisory] = {}  # advisories shared by several findings read once
    findings: list[Finding] = []
    for f in msg.findings:
        key = f.advisory.SerializeToString()
        advisory = decoded.get(key)
        if advisory is None:
            advisory = decoded[key] = _advisory_from_proto(f.advisory)
        findings.append(Finding(f.package, f.version, f.ecosystem, advisory))
    return VulnerabilityReport(
        manifest_digest=msg.manifest_digest,
        status=status,
        os_status=_OS_STATUS_BACK.get(msg.os_status, OsStatus.OK),
        distribution=msg.distribution,
        release=msg.release,
        findings=tuple(findings),
        notes=tuple(msg.notes),
    )


# -- metadata -------------------------------------------------------------------------------


def timestamp(value: dt.datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(dt.UTC))
    return ts


def source_state_to_proto(s: SourceState) -> mpb.SourceState:
    msg = mpb.SourceState(name=s.name, fingerprint=s.fingerprint, record_count=s.record_count)
    if s.updated_at is not None:
        msg.updated_at.CopyFrom(timestamp(s.updated_at))
    return msg


def source_state_from_proto(msg: mpb.SourceState) -> SourceState:
    updated = msg.updated_at.ToDatetime(tzinfo=dt.UTC) if msg.HasField("updated_at") else None
    return SourceState(msg.name, msg.fingerprint, updated, msg.record_count)
