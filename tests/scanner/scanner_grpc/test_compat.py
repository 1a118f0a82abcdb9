"""Backward compatibility of the wire contract: a message carrying fields this build does not
know (sent by a newer peer) is served and read, and enum values this build does not know are
read as their "unknown" meaning, never as a clean result."""

from __future__ import annotations

from stockade.model.vulnerability import Severity
from stockade.scanner.matcher.match import ReportStatus
from stockade.scanner.v1 import indexer_pb2 as ipb
from stockade.scanner.v1 import matcher_pb2 as mpb
from stockade.scanner.wire import index_report_from_proto, vulnerability_report_from_proto

from .conftest import MatcherHandle, Pki, channel


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def unknown_string_field(number: int, value: str) -> bytes:
    """The wire bytes of a length-delimited field ``number`` (a field a newer peer added)."""
    data = value.encode()
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _report() -> ipb.IndexReport:
    return ipb.IndexReport(
        manifest_digest="sha256:" + "a" * 64,
        distributions=[ipb.Distribution(did="alpine", name="Alpine Linux", version_id="3.18.4")],
        packages=[
            ipb.Package(
                name="requests",
                version="2.25.1",
                kind="language",
                ecosystem="pypi",
                purl="pkg:pypi/requests@2.25.1",
                path="usr/lib/python3/site-packages/requests-2.25.1.dist-info/METADATA",
                analyser="python",
                analyser_version="1",
            )
        ],
    )


async def test_request_with_unknown_fields_is_served(
    loaded_matcher: MatcherHandle, certs: Pki
) -> None:
    plain = _report()
    extended = _report()
    # unknown fields at three depths: the request, the report, one package
    extended.packages[0].MergeFromString(unknown_string_field(60, "sha512:future"))
    extended.MergeFromString(unknown_string_field(77, "a field a newer Indexer sends"))
    request = mpb.GetVulnerabilitiesRequest(manifest_digest=plain.manifest_digest)
    request.contents.CopyFrom(extended)
    raw = request.SerializeToString() + unknown_string_field(42, "hint")
    # the bytes really carry what this build's messages do not declare
    assert len(raw) > len(
        mpb.GetVulnerabilitiesRequest(
            manifest_digest=plain.manifest_digest, contents=plain
        ).SerializeToString()
    )

    async with channel(loaded_matcher.port, certs.central) as ch:
        call = ch.unary_unary(
            "/stockade.scanner.v1.MatcherService/GetVulnerabilities",
            request_serializer=None,
            response_deserializer=mpb.VulnerabilityReport.FromString,
        )
        extended_reply = await call(raw, timeout=10)
        plain_reply = await call(
            mpb.GetVulnerabilitiesRequest(contents=plain).SerializeToString(), timeout=10
        )
    assert extended_reply.status == mpb.REPORT_STATUS_OK
    assert "PYSEC-2023-74" in {f.advisory.id for f in extended_reply.findings}
    assert extended_reply == plain_reply


def test_reply_with_unknown_fields_and_enum_values_reads() -> None:
    msg = mpb.VulnerabilityReport(
        manifest_digest="sha256:" + "b" * 64,
        status=mpb.REPORT_STATUS_OK,
        findings=[
            mpb.Finding(
                package="requests",
                version="2.25.1",
                ecosystem="PyPI",
                advisory=mpb.Advisory(id="PYSEC-2023-74", severity=mpb.SEVERITY_MODERATE),
            )
        ],
    )
    wire = msg.SerializeToString() + unknown_string_field(99, "new top-level data")
    report = vulnerability_report_from_proto(mpb.VulnerabilityReport.FromString(wire))
    assert report.status is ReportStatus.OK
    assert [(f.package, f.id, f.severity) for f in report.findings] == [
        ("requests", "PYSEC-2023-74", Severity.MODERATE)
    ]

    # enum values from a newer Matcher: a status this build does not know is never "ok"
    msg.status = 17
    msg.findings[0].advisory.severity = 23
    newer = vulnerability_report_from_proto(
        mpb.VulnerabilityReport.FromString(msg.SerializeToString())
    )
    assert newer.status is ReportStatus.NO_VULNERABILITY_DATA
    assert newer.findings[0].severity is Severity.UNKNOWN


def test_index_report_with_a_newer_ecosystem_keeps_the_rest() -> None:
    msg = _report()
    msg.packages.add(name="left-pad", version="1", kind="language", ecosystem="swift")
    report = index_report_from_proto(ipb.IndexReport.FromString(msg.SerializeToString()))
    assert [p.name for p in report.packages] == ["requests"]
